"""Gardner (2022) two-stage difference-in-differences (``did2s``).

Stage one fits unit and period fixed effects on the untreated observations; stage two
regresses the residualised outcome ``Y_it - alpha_i - lambda_t`` of every observation on the
treatment indicator (the headline ATT) or on event-time indicators (the event study, with
leads for the treated units' pre-periods and the period before treatment as reference).
The point estimates of the post-treatment effects equal the imputation estimator's. The
standard errors are Gardner's GMM-corrected cluster-robust sandwich, which accounts for the
first stage: ``V = (X2'X2)^-1 (sum_g psi_g psi_g') (X2'X2)^-1`` with
``psi_g = X2_g'e2_g - X2'X1 (X10'X10)^-1 X10_g'e1_g``, as in R ``did2s``. Because the
stage-two regressors are disjoint indicators, ``X2'X2`` is diagonal and the first-stage
solve reuses :func:`causal_kit.estimators._imputation_core.fe_solve`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import SpecError
from ..result import EffectEstimate, make_lineage
from ._did_common import fast_t_ci, sup_t_critical, wald_pretrend, with_trends
from ._imputation_core import (
    cluster_sums,
    fe_solve,
    first_stage,
    label_counts,
    relative_time,
    unit_to_clusters,
)
from .did_imputation import _reference_row, _row, check_common, check_int_option, load_staggered

__all__ = ["TwoStageDiD", "two_stage_vcov", "two_stage_indicators"]


class TwoStageDiD:
    """Two-stage difference-in-differences (Gardner 2022), R ``did2s``.

    Parameters
    ----------
    horizon_max : int, optional
        Largest number of periods since treatment in the event study (default: all); leads
        are always every available pre-period except the reference period ``-1``.
    honest_mbar : sequence of float, optional
        Relative-magnitudes grid for the HonestDiD sensitivity of the average post-period effect.
    honest_sd_m : sequence of float, optional
        Smoothness bounds ``M`` (outcome units per period^2) for HonestDiD's fixed-length
        confidence interval of the average post-period effect under ``Delta^SD(M)``
        (:mod:`causal_kit.diagnostics.honest_did_flci`); adds the table ``honest_did_sd``, the
        breakdown ``M`` in ``details["honest_sd_breakdown_m"]`` and a diagnostic. Off by default
        (each ``M`` solves a small optimisation).
    honest_method : {"exact", "approximate"}
        ``exact`` (default): Andrews-Roth-Pakes hybrid confidence sets
        (:mod:`causal_kit.diagnostics.honest_did_arp`), used for up to 10 post periods (beyond
        that the vertex enumeration grows too large and the approximation is used, recorded in
        ``details["honest_method"]``; cap the window with ``horizon_max``); ``approximate``:
        the faster simulation-percentile bounds of :mod:`causal_kit.diagnostics.honest_did`.
    seed : int, optional
        Seed of the sup-t band and sensitivity draws; defaults to ``spec.seed``.
    alpha : float, optional
        Overrides ``spec.alpha``.

    Notes
    -----
    Normal-distribution confidence intervals, no small-sample factor (as R ``did2s``).
    Covariates are not supported yet (a named error says so).

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="mpdta", design="staggered_did", outcome="lemp",
    ...                          unit="countyreal", time="year", cohort="first.treat")
    >>> from causal_kit.estimators.did_two_stage import TwoStageDiD
    >>> res = TwoStageDiD().fit(ck.datasets.load("mpdta"), spec)
    >>> round(res.estimate, 6), round(res.se, 6)
    (-0.04771, 0.013478)
    """

    def __init__(self, *, horizon_max: int | None = None, honest_mbar: Any = None, honest_method: str = "exact",
                 honest_sd_m: Any = None, seed: int | None = None, alpha: float | None = None) -> None:
        self.horizon_max = horizon_max
        self.honest_mbar = honest_mbar
        self.honest_sd_m = honest_sd_m
        self.honest_method = honest_method
        self.seed = seed
        self.alpha = alpha

    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Residualise on the untreated fit, then regress; see the class docstring."""
        from ..diagnostics.honest_did import honest_diagnostic, relative_magnitudes
        from ..diagnostics.honest_did_arp import exact_is_feasible, exact_relative_magnitudes
        from ..diagnostics.pretrend_power import pretrend_power_diagnostic

        owner = "TwoStageDiD"
        alpha, seed = check_common(self, owner, spec)
        check_int_option(self.horizon_max, "horizon_max", owner, 0)
        if self.honest_method not in ("exact", "approximate"):
            raise SpecError(f"The 'honest_method' parameter of TwoStageDiD must be 'exact' or 'approximate'. "
                            f"Got {self.honest_method!r} instead.")
        pdat = load_staggered(data, spec, owner)
        panel, observed = pdat.panel, pdat.observed
        n, t = panel.Y.shape
        fs = first_stage(panel.Y, observed, panel.D, owner)
        rel = relative_time(panel.first_treated, t)
        never = np.iinfo(np.int32).min
        times = np.unique(rel[observed & (rel > never) & (rel != -1)])
        if self.horizon_max is not None:
            times = times[times <= self.horizon_max]
        b0, v0 = two_stage_indicators(np.where(fs.treated, 0, -1), 1, fs, pdat)
        pos = np.searchsorted(times, rel)
        hit = observed & (pos < len(times)) & (times[np.minimum(pos, len(times) - 1)] == rel)
        b_e, V_e = two_stage_indicators(np.where(hit, pos, -1), len(times), fs, pdat)
        est, se = float(b0[0]), float(np.sqrt(v0[0, 0]))
        ci, p = fast_t_ci(est, se, alpha, df=None)
        s_e = np.sqrt(np.diag(V_e))
        crit = sup_t_critical(V_e, alpha, seed)
        rows = [_row(int(e), b_e[j], s_e[j], alpha, crit, "post" if e >= 0 else "lead") for j, e in enumerate(times)]
        es = pd.DataFrame(rows + [_reference_row()]).sort_values("event_time").reset_index(drop=True)
        pre = times < 0
        diags = [wald_pretrend(b_e[pre], V_e[np.ix_(pre, pre)], alpha, "two-stage lead coefficients")]
        tables = {"event_study": es}
        details: dict[str, Any] = {"n_clusters": pdat.n_clusters, "sup_t_critical": crit,
                                   "event_times": times.tolist(), "event_vcov": V_e.tolist()}
        if pre.any():
            diags.append(pretrend_power_diagnostic(V_e, times, estimate=est, alpha=alpha, seed=seed))
            use_exact = self.honest_method == "exact" and exact_is_feasible(int((times >= 0).sum()))
            details["honest_method"] = "exact" if use_exact else "approximate"
            if use_exact:
                honest, breakdown = exact_relative_magnitudes(b_e, V_e, times, mbar=self.honest_mbar, alpha=alpha,
                                                              seed=seed)
            else:
                honest, breakdown = relative_magnitudes(b_e, V_e, times, ref=-1, mbar=self.honest_mbar, alpha=alpha,
                                                        seed=seed)
            diags.append(honest_diagnostic(breakdown, table=honest))
            tables["honest_did"] = honest
            details["honest_breakdown_mbar"] = breakdown
            if self.honest_sd_m is not None:
                sd_tab, sd_bd, sd_diag = _smoothness_flci(b_e, V_e, times, self.honest_sd_m, alpha)
                tables["honest_did_sd"] = sd_tab
                details["honest_sd_breakdown_m"] = sd_bd
                diags.append(sd_diag)
        y_treated = float(panel.Y[fs.treated].mean())
        return EffectEstimate(
            method="did2s", design=spec.design, estimand="ATT (average over all treated unit-periods)",
            estimate=est, se=se, ci=(float(ci[0]), float(ci[1])), p_value=float(p), alpha=alpha,
            n_obs=int(observed.sum()), n_units=n, n_dropped=pdat.prepared.n_dropped,
            dropped_reasons=pdat.prepared.dropped_reasons, diagnostics=tuple(diags), tables=with_trends(tables, panel),
            lineage=make_lineage(spec, pdat.prepared.fingerprint, seed),
            inference=(f"Gardner GMM-corrected cluster-robust SEs clustered by {pdat.cluster_col!r} "
                       f"({pdat.n_clusters} clusters), first stage accounted for; normal CIs; sup-t bands "
                       f"(seed {seed}); controls: all untreated observations"),
            outcome=spec.outcome or "", baseline=y_treated - est, exposure=float(fs.treated.sum()),
            details=details, label="Two-stage DiD (Gardner)",
        )


def _smoothness_flci(b: np.ndarray, V: np.ndarray, times: np.ndarray, m_grid: Any,
                     alpha: float) -> tuple[pd.DataFrame, float, Any]:
    """FLCI table, breakdown M and diagnostic for the average post-period effect under Delta^SD(M)."""
    from ..diagnostics.honest_did_flci import flci_breakdown, flci_sensitivity
    from ..result import Diagnostic

    post = times >= 0
    lv = np.full(int(post.sum()), 1.0 / post.sum())
    tab = flci_sensitivity(b, V, times, m_grid, l_vec=lv, alpha=alpha)
    bd = flci_breakdown(b, V, times, l_vec=lv, alpha=alpha)
    if np.isnan(bd):
        status, msg = "not_applicable", ("The smoothness FLCI covers 0 even with linear trends only (M = 0), so "
                                         "there is no conclusion for trend curvature to overturn.")
    else:
        largest = float(tab["m"].max())
        status = "pass" if bd > largest else "warn"
        msg = (f"The average post-period effect stays significant under smoothness violations up to M = {bd:.3g} "
               f"(second differences of the trend, in outcome units per period squared); "
               + ("beyond every M in the grid." if status == "pass" else
                  f"within the grid (largest M {largest:.3g}), so a modest bend in the trend would overturn it."))
    return tab, bd, Diagnostic("honest_did_sd", status, msg, statistic=bd if np.isfinite(bd) else None,
                               assumption="sensitivity")


def two_stage_indicators(labels: np.ndarray, k: int, fs: Any, pdat: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`two_stage_vcov` for ``k`` disjoint indicators given as cell labels ``(N, T)`` (-1: none).

    With clusters nested in units the scores are accumulated per unit with ``bincount`` and
    never materialise the ``(N, T, k)`` regressor array; otherwise the dense path is used.
    """
    if pdat.unit_clusters is None:
        X2 = (labels[..., None] == np.arange(k)[None, None, :]).astype(float)
        return two_stage_vcov(X2, fs, pdat)
    observed = pdat.observed
    labels = np.where(observed, labels, -1)
    ytil = fs.resid
    per_u, per_t = label_counts(labels, k)
    counts = per_u.sum(axis=0)
    beta = label_counts(labels, k, ytil)[0].sum(axis=0) / counts
    e2 = np.where(labels >= 0, ytil - beta[np.maximum(labels, 0)], ytil)
    a, lam = fe_solve(fs.untreated, per_u, per_t)
    e1 = np.where(fs.untreated, fs.resid, 0.0)
    score = label_counts(labels, k, e2)[0] - (e1.sum(axis=1)[:, None] * a + e1 @ lam)
    psi = unit_to_clusters(score, pdat.unit_clusters, pdat.n_clusters)
    bread = 1.0 / counts
    return beta, bread[:, None] * (psi.T @ psi) * bread[None, :]


def two_stage_vcov(X2: np.ndarray, fs: Any, pdat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Stage-two coefficients on disjoint indicators ``X2`` ``(N, T, k)`` and their GMM covariance."""
    observed = pdat.observed
    X2 = np.where(observed[..., None], X2, 0.0)
    counts = X2.sum(axis=(0, 1))
    ytil = fs.resid  # residualised outcome on every observed cell
    beta = np.einsum("ntk,nt->k", X2, ytil) / counts
    e2 = np.where(observed, ytil - X2 @ beta, 0.0)
    # Gamma solves (X10'X10) Gamma = X1'X2: X1 are the unit/period dummies of all observed cells
    a, lam = fe_solve(fs.untreated, X2.sum(axis=1), X2.sum(axis=0))
    e1 = np.where(fs.untreated, fs.resid, 0.0)
    contrib = X2 * e2[..., None] - e1[..., None] * (a[:, None, :] + lam[None])
    psi = cluster_sums(contrib, pdat.cluster, pdat.unit_clusters, pdat.n_clusters)
    bread = 1.0 / counts
    return beta, bread[:, None] * (psi.T @ psi) * bread[None, :]
