"""Difference-in-differences: 2x2 / two-way fixed effects (:class:`DiD`) and the TWFE event
study (:class:`EventStudy`).

Both absorb unit and period fixed effects with numpy (see ``_did_common``) and report CRV1
cluster-robust standard errors (clustered by ``spec.cluster``, default the unit) with the
fixest/pyfixest small-sample factor ``G/(G-1) * (n-1)/(n-k)``, where a fixed effect nested in
the clusters counts as one parameter; intervals use the t distribution with ``G - 1``
degrees of freedom. With few clusters (geo experiments) :class:`DiD` switches to
randomisation inference over placebo assignments when the design allows it (a balanced panel,
one adoption date, no covariates, clustered by unit, more controls than treated units), and
to a wild cluster bootstrap otherwise, and says so in a diagnostic. Whenever the interval does
not come from the CRV1 SE, the reported ``se`` is the one the interval implies and the CRV1 SE
moves to ``details["se_crv1"]``. With staggered adoption TWFE can be biased;
use ``staggered_did`` (Callaway-Sant'Anna) or ``sun_abraham`` and read the Goodman-Bacon
diagnostic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._panel import NEVER
from .._typing import (
    BootWeights,
    ConleyKernel,
    DidInference,
    PanelVcov,
    check_fraction,
    check_option,
    check_positive_int,
)
from ..errors import SpecError
from ..inference.placebo import (
    interval_text,
    permutation_interval,
    placebo_draws,
    placebo_interval,
    scales_heterogeneous,
    unit_scales,
)
from ..inference.wild_bootstrap import wild_cluster_bootstrap
from ..result import Diagnostic, EffectEstimate, make_lineage
from ._did_common import fast_t_ci as t_ci
from ._did_common import load_panel, sup_t_critical, twfe_ols, wald_pretrend, with_trends

__all__ = ["DiD", "EventStudy"]


def _check_seed(seed: Any, owner: str) -> None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise SpecError(f"The 'seed' parameter of {owner} must be None or an int >= 0. Got {seed!r} instead.")


def _check_common(est: Any, owner: str) -> None:
    check_option(est.inference, DidInference, "inference", owner)
    check_option(est.boot_weights, BootWeights, "boot_weights", owner)
    check_positive_int(est.wild_threshold, "wild_threshold", owner, minimum=2)
    check_positive_int(est.n_boot, "n_boot", owner, minimum=99)
    _check_seed(est.seed, owner)
    if est.alpha is not None:
        check_fraction(est.alpha, "alpha", owner)


def _inference_diagnostic(n_clusters: int, threshold: int, used_wild: bool, col: str, n_boot: int,
                          weights: str, used_ri: bool = False) -> Diagnostic:
    if used_ri:
        return Diagnostic(
            "few_clusters", "warn",
            f"Only {n_clusters} clusters in {col!r}: the p-value and CI come from randomisation inference "
            f"over {n_boot} placebo assignments instead of the cluster-robust t approximation, which "
            "over-rejects with few clusters.",
            statistic=float(n_clusters), threshold=float(threshold), assumption="inference",
        )
    if used_wild:
        return Diagnostic(
            "few_clusters", "warn",
            f"Only {n_clusters} clusters in {col!r}: the p-value and CI come from a wild cluster "
            f"bootstrap ({weights} weights, {n_boot} draws) instead of the cluster-robust t "
            "approximation, which over-rejects with few clusters.",
            statistic=float(n_clusters), threshold=float(threshold), assumption="inference",
        )
    status = "pass" if n_clusters >= threshold else "warn"
    msg = (
        f"{n_clusters} clusters in {col!r}: cluster-robust (CRV1) inference is reliable."
        if status == "pass" else
        f"Only {n_clusters} clusters in {col!r}: cluster-robust t intervals may be too narrow; "
        "use DiD with inference='wild_bootstrap' for the headline effect."
    )
    return Diagnostic("few_clusters", status, msg, statistic=float(n_clusters),
                      threshold=float(threshold), assumption="inference")


def _treated_clusters_diagnostic(pdat: Any, used_ri: bool = False) -> Diagnostic:
    treated = pdat.panel.treated[:, None] & pdat.observed
    n_tc = int(len(np.unique(pdat.cluster[treated])))
    if used_ri and n_tc < 5:
        return Diagnostic(
            "treated_clusters", "warn",
            f"Only {n_tc} cluster(s) contain treated units: cluster-robust and wild-bootstrap intervals would "
            "be unreliable, so the interval comes from placebo assignments of the treated set to controls; "
            "the estimate still rests on those few units.",
            statistic=float(n_tc), threshold=5.0, assumption="inference")
    if n_tc >= 5:
        return Diagnostic("treated_clusters", "pass",
                          f"{n_tc} clusters contain treated units, enough for cluster-robust inference.",
                          statistic=float(n_tc), threshold=5.0, assumption="inference")
    return Diagnostic(
        "treated_clusters", "warn",
        f"Only {n_tc} cluster(s) contain treated units: cluster-robust and wild-bootstrap intervals are "
        "unreliable with so few treated clusters (they can be far too narrow); use synthetic control / SDID "
        "placebo inference or add treated units.",
        statistic=float(n_tc), threshold=5.0, assumption="inference")


def _ri_eligible(pdat: Any, spec: Any, covs: list[str]) -> str:
    """Empty when randomisation inference applies; otherwise why not."""
    panel = pdat.panel
    if covs:
        return "covariates are adjusted for"
    if spec.cluster is not None and spec.cluster != spec.unit:
        return "clusters are coarser than units"
    if not pdat.observed.all():
        return "the panel is unbalanced"
    first = panel.first_treated[panel.treated]
    if len(np.unique(first)) != 1:
        return "units adopt at different dates"
    n1, n0 = int(panel.treated.sum()), int((~panel.treated).sum())
    if n0 <= n1:
        return f"there are not more never-treated units ({n0}) than treated units ({n1})"
    return ""


def _randomization(panel: Any, alpha: float, n_draws: int, seed: int | None, beta: float) -> dict[str, Any]:
    """DiD placebo estimates with pseudo-treated controls (rescaled on heterogeneous panels).

    With a balanced panel and one adoption date the TWFE coefficient is the difference of the
    mean (post - pre) change of treated and control units, so every placebo is a closed form.
    Each replicate re-assigns the whole treated set to randomly drawn controls (every control
    once with one treated unit). On level-scale panels whose units differ widely in size,
    each pseudo-treated change is multiplied by the ratio of the treated unit's pre-period
    mean to its own, so the placebo carries the treated units' magnitudes.
    """
    Y, treated = panel.Y, panel.treated
    g = int(panel.first_treated[treated][0])
    delta = Y[:, g:].mean(axis=1) - Y[:, :g].mean(axis=1)
    tr, ctrl = np.flatnonzero(treated), np.flatnonzero(~treated)
    n1, n0 = len(tr), len(ctrl)
    if n1 >= 1:
        # Fisher randomisation over all units: draw s treats units S (the treated may be among
        # them); removing a constant effect tau0 from the treated moves its estimate to
        # a[s] - tau0 * b[s], b[s] = share of S treated - share of the rest treated. One
        # treated unit: every unit in turn, the observed included, with the mid-p test.
        N = len(delta)
        single = n1 == 1
        draws = np.arange(N)[:, None] if single else placebo_draws(N, n1, n_draws, seed)
        a = delta[draws].mean(axis=1) - (delta.sum() - delta[draws].sum(axis=1)) / (N - n1)
        k = treated[draws].sum(axis=1)
        b = k / n1 - (n1 - k) / (N - n1)
        out = permutation_interval(beta, a, b, alpha, mid_p=single)
        return {**out, "effects": a, "scaled": False, "scale_sd": float("nan"), "kind": "permutation",
                "mid_p": single}
    s = unit_scales(Y, g)
    hetero, sd = (scales_heterogeneous(s) if (Y[:, :g] > 0).all() else (False, float("nan")))
    draws = placebo_draws(n0, n1, n_draws, seed, exhaustive=n1 == 1)
    d0 = delta[ctrl]
    mult = s[tr][None, :] / s[ctrl][draws] if hetero else np.ones(draws.shape)
    picked = (d0[draws] * mult).mean(axis=1)
    rest = (d0.sum() - d0[draws].sum(axis=1)) / (n0 - n1)
    effects = picked - rest
    out = placebo_interval(beta, effects, alpha)
    out["effects"] = effects
    out["scaled"] = hetero
    out["scale_sd"] = sd
    return out


def _coef_table(names: list[str], beta: np.ndarray, vcov: np.ndarray, alpha: float, df: float) -> pd.DataFrame:
    rows = []
    for j, name in enumerate(names):
        se = float(np.sqrt(vcov[j, j]))
        ci, p = t_ci(float(beta[j]), se, alpha, df)
        rows.append({"term": name, "estimate": float(beta[j]), "se": se, "ci_low": ci[0],
                     "ci_high": ci[1], "p_value": p})
    return pd.DataFrame(rows)


class DiD:
    """Two-way fixed-effects difference-in-differences (2x2 when there are two periods).

    Regresses the outcome on the treated-in-period indicator (and ``spec.covariates``) with
    unit and period fixed effects. Standard errors are CRV1 clustered by ``spec.cluster``
    (default: the unit) with the fixest small-sample factor; below ``wild_threshold``
    clusters the p-value and CI come from a seeded wild cluster bootstrap.

    Parameters
    ----------
    inference : {"auto", "cluster", "wild_bootstrap", "randomization"}
        ``auto``: with fewer than ``wild_threshold`` clusters, randomisation inference over
        placebo assignments when the design allows it (balanced, one adoption date, no
        covariates, clustered by unit, more controls than treated), else the wild cluster
        bootstrap; with more clusters, the cluster-robust t interval. A placebo study on
        Prop 99 and on simulated geo panels found the wild bootstrap conservative with one
        treated unit (2.6% false positives at 5%) and too liberal with 8 treated geos of
        heterogeneous size (8.6%); the placebo assignment holds 5% in both. ``randomization``
        forces it (and raises when the design does not allow it).
    wild_threshold : int
        Cluster count below which ``auto`` bootstraps (default 50).
    n_boot : int
        Wild bootstrap draws, and placebo assignments of randomisation inference (default
        9,999; all 2**G sign patterns, or every control once with one treated unit, when fewer).
    boot_weights : {"rademacher", "webb"}
        Wild bootstrap weights; Webb's six-point weights suit fewer than ~12 clusters.
    vcov : {"cluster", "conley"}
        ``conley``: Conley spatial-HAC standard errors (:mod:`causal_kit.inference.conley`) from
        ``spec.coordinates``, instead of clustering; the interval is then a normal interval and
        ``inference`` is ignored.
    conley_cutoff_km : float
        Distance beyond which errors are uncorrelated (``vcov="conley"``; default 100 km).
    conley_kernel : {"bartlett", "uniform"}
        Spatial kernel (``vcov="conley"``).
    conley_lag : int, optional
        Periods over which a unit's errors are serially correlated (Bartlett); default: every
        period (the unit's whole history, like clustering by unit).
    seed : int, optional
        Bootstrap seed; defaults to ``spec.seed``.
    alpha : float, optional
        Overrides ``spec.alpha``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="mpdta", design="did", outcome="lemp", unit="countyreal",
    ...                          time="year", cohort="first.treat")
    >>> from causal_kit.estimators.did import DiD
    >>> res = DiD().fit(ck.datasets.load("mpdta"), spec)
    >>> round(res.estimate, 6), round(res.se, 6)
    (-0.036549, 0.013265)
    """

    def __init__(self, *, inference: str = "auto", wild_threshold: int = 50, n_boot: int = 9999,
                 boot_weights: str = "rademacher", vcov: str = "cluster", conley_cutoff_km: float = 100.0,
                 conley_kernel: str = "bartlett", conley_lag: int | None = None, seed: int | None = None,
                 alpha: float | None = None) -> None:
        self.inference = inference
        self.wild_threshold = wild_threshold
        self.n_boot = n_boot
        self.boot_weights = boot_weights
        self.vcov = vcov
        self.conley_cutoff_km = conley_cutoff_km
        self.conley_kernel = conley_kernel
        self.conley_lag = conley_lag
        self.seed = seed
        self.alpha = alpha

    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Estimate the TWFE DiD coefficient; see the class docstring."""
        _check_common(self, "DiD")
        check_option(self.vcov, PanelVcov, "vcov", "DiD")
        check_option(self.conley_kernel, ConleyKernel, "conley_kernel", "DiD")
        if self.vcov == "conley" and spec.coordinates is None:
            raise SpecError("DiD(vcov='conley') needs spec.coordinates: [latitude column, longitude column].")
        alpha = spec.alpha if self.alpha is None else float(self.alpha)
        seed = spec.seed if self.seed is None else self.seed
        if not spec.panel:  # repeated cross-sections: the OLS group x post interaction
            from .did_rcs import fit_repeated_cross_sections

            if self.inference not in ("auto", "cluster"):
                raise SpecError(f"DiD(inference={self.inference!r}) needs a panel; repeated cross-sections "
                                "(panel: false) use HC1 or cluster-robust SEs. Use inference='auto'.")
            return fit_repeated_cross_sections(data, spec, alpha=alpha, seed=seed)
        pdat = load_panel(data, spec, "DiD")
        panel = pdat.panel
        covs = list(spec.covariates)
        regs = np.stack([panel.D.astype(float)] + [panel.covariates[c] for c in covs], axis=2)
        names = ["treated_post"] + covs
        fit = twfe_ols(pdat, regs, names)
        g = fit.n_clusters
        if g < 2:
            raise SpecError(f"column {pdat.cluster_col!r} (spec.cluster) has a single cluster; "
                            "cluster-robust inference needs at least 2. Cluster by the unit instead.")
        beta, se = float(fit.beta[0]), float(np.sqrt(fit.vcov[0, 0]))
        se_crv1 = se
        if self.vcov == "conley":
            return _conley_result(self, pdat, fit, names, spec, alpha, seed)
        few = self.inference == "auto" and g < self.wild_threshold
        why_not = _ri_eligible(pdat, spec, covs) if (few or self.inference == "randomization") else "not needed"
        if self.inference == "randomization" and why_not:
            raise SpecError(f"DiD(inference='randomization') cannot run here: {why_not}. Use "
                            "inference='wild_bootstrap' instead.")
        use_ri = self.inference == "randomization" or (few and not why_not)
        use_wild = not use_ri and (self.inference == "wild_bootstrap" or few)
        df_resid: float | None = float(g - 1)
        extra: dict[str, Any] = {}
        if use_ri:
            ri = _randomization(panel, alpha, self.n_boot, seed, beta)
            ci, p, se = (ri["ci_low"], ri["ci_high"]), ri["p_value"], ri["se"]
            n_boot_used = len(ri["effects"])
            df_resid = None
            if ri["kind"] == "permutation":
                how = (f"randomisation inference over {n_boot_used} placebo assignments (the treatment re-assigned "
                       + ("to every unit in turn, the treated one included; mid-p, so that the exact level with "
                          f"{n_boot_used} units is {int(np.floor(alpha * n_boot_used + 0.5))}/{n_boot_used}"
                          if ri.get("mid_p") else "to as many units drawn from all units, the treated included")
                       + "): p-value of the sharp null from the rank of |estimate|; CI = every constant effect the "
                       "same test does not reject (test inversion); SE = CI width / (2 z), the SE the interval "
                       "implies")
            else:
                how = (f"randomisation inference over {n_boot_used} placebo assignments (the treated unit "
                       "re-assigned to every control in turn"
                       + (f", each rescaled to the size of the treated unit because unit sizes are heterogeneous, "
                          f"SD of log pre-period means {ri['scale_sd']:.2f} > 0.5" if ri["scaled"] else "")
                       + f"); {interval_text(str(ri['kind']), alpha)}")
            how += "; the CRV1 SE is in details['se_crv1']"
            extra = {"placebo_scale": "unit" if ri["scaled"] else "none", "placebo_sd": float(np.std(ri["effects"]))}
        elif use_wild:
            other = fit.X[:, 1:]
            if other.shape[1]:
                proj = np.linalg.lstsq(other, np.column_stack([fit.X[:, 0], fit.y]), rcond=None)[0]
                x = fit.X[:, 0] - other @ proj[:, 0]
                u_r = fit.y - other @ proj[:, 1]
            else:
                x, u_r = fit.X[:, 0], fit.y
            wb = wild_cluster_bootstrap(x, u_r, fit.resid, beta, fit.codes, k=fit.k, n_boot=self.n_boot,
                                        weights=self.boot_weights, alpha=alpha, seed=seed)
            ci, p = wb.ci, wb.p_value
            crit = float(t_ci(0.0, 1.0, alpha, df=g - 1)[0][1])
            width = float(ci[1] - ci[0])
            se = width / (2 * crit) if np.isfinite(width) else float("nan")
            how = (f"wild cluster bootstrap-t ({wb.weights} weights, {wb.n_boot} "
                   f"{'enumerated sign patterns' if wb.enumerated else 'draws'}, seed {seed}): p-value with "
                   "the null imposed, CI by inverting the same test; SE = CI width / (2 t(G-1) quantile), "
                   "the SE the interval implies"
                   + ("" if np.isfinite(width) else " (NaN: the interval is unbounded)")
                   + f"; the CRV1 SE clustered by {pdat.cluster_col!r} is in details['se_crv1']"
                   + (f"; randomisation inference was not used because {why_not}" if few else ""))
            n_boot_used = wb.n_boot
        else:
            ci, p = t_ci(beta, se, alpha, df=g - 1)
            how = (f"CRV1 cluster-robust SE clustered by {pdat.cluster_col!r} ({g} clusters), small-sample "
                   "factor G/(G-1)*(n-1)/(n-k) as in fixest (nested fixed effects count once); t(G-1) CI")
            n_boot_used = 0

        diags = [_inference_diagnostic(g, self.wild_threshold, use_wild, pdat.cluster_col,
                                       n_boot_used, self.boot_weights, use_ri), _treated_clusters_diagnostic(pdat, use_ri)]
        tables = {"coefficients": _coef_table(names, fit.beta, fit.vcov, alpha, g - 1)}
        n_cohorts = len(np.unique(panel.first_treated[panel.treated]))
        if n_cohorts > 1 and panel.is_balanced and not covs:
            from ..diagnostics.bacon import bacon_decomposition, bacon_diagnostic

            tables["bacon"] = bacon_decomposition(panel.Y, panel.first_treated, panel.times)
            diags.append(bacon_diagnostic(tables["bacon"]))
        elif n_cohorts > 1:
            diags.append(Diagnostic(
                "bacon_forbidden_weight", "not_applicable",
                "Staggered adoption with covariates or an unbalanced panel: the Goodman-Bacon "
                "decomposition needs a balanced panel without covariates; compare with staggered_did.",
                assumption="specification"))
        else:
            diags.append(Diagnostic(
                "bacon_forbidden_weight", "pass",
                "A single treatment cohort: TWFE compares treated with untreated units only, so there "
                "are no forbidden (already-treated) comparisons.",
                statistic=0.0, assumption="specification"))

        treated_cells = panel.D & pdat.observed
        mean_treated = float(panel.Y[treated_cells].mean())
        return EffectEstimate(
            method="did", design=spec.design, estimand="ATT", estimate=beta, se=se, ci=(float(ci[0]), float(ci[1])),
            p_value=float(p), alpha=alpha, n_obs=fit.n_obs, n_units=panel.n_units,
            n_dropped=pdat.prepared.n_dropped, dropped_reasons=pdat.prepared.dropped_reasons,
            diagnostics=tuple(diags), tables=with_trends(tables, panel),
            lineage=make_lineage(spec, pdat.prepared.fingerprint, seed), inference=how,
            df_resid=df_resid, outcome=spec.outcome or "", baseline=mean_treated - beta,
            exposure=float(treated_cells.sum()),
            details={"n_clusters": g, "ssc_k": fit.k, "wild_bootstrap": use_wild, "randomization": use_ri,
                     "se_crv1": se_crv1, **extra, "n_periods": panel.n_periods,
                     "n_cohorts": int(n_cohorts), "balanced": bool(panel.is_balanced)},
            label="Two-way fixed-effects DiD" if panel.n_periods > 2 else "2x2 difference-in-differences",
        )


def _conley_result(est: DiD, pdat: Any, fit: Any, names: list[str], spec: Any, alpha: float,
                   seed: int) -> EffectEstimate:
    """The TWFE DiD with Conley spatial-HAC standard errors (normal interval)."""
    from ..inference.conley import conley_details, conley_vcov
    from ..inference.exposure import unit_coordinates

    panel, observed = pdat.panel, pdat.observed
    lat, lon = unit_coordinates(pdat.prepared.frame, spec.unit, spec.coordinates, panel.units)
    ui, ti = np.nonzero(observed)
    lag = panel.n_periods - 1 if est.conley_lag is None else check_positive_int(est.conley_lag, "conley_lag", "DiD", 0)
    V = conley_vcov(fit.X, fit.resid, lat[ui], lon[ui], ti, ui, cutoff_km=float(est.conley_cutoff_km),
                    kernel=est.conley_kernel, lag_cutoff=int(lag), bread=np.linalg.inv(fit.X.T @ fit.X))
    beta, se = float(fit.beta[0]), float(np.sqrt(V[0, 0]))
    ci, p = t_ci(beta, se, alpha, None)
    how = (f"Conley spatial-HAC SE ({est.conley_kernel} kernel, {float(est.conley_cutoff_km):g} km cutoff within "
           f"periods, Bartlett serial correlation over {lag} period(s) within units), normal CI; the CRV1 SE "
           "clustered by the unit is in details['se_crv1']")
    diag = Diagnostic(
        "spatial_inference", "pass",
        f"Standard errors allow errors of units within {float(est.conley_cutoff_km):g} km of each other to be "
        "correlated (Conley); check the estimate is not sensitive to the cutoff.",
        statistic=float(est.conley_cutoff_km), assumption="inference")
    treated_cells = panel.D & observed
    mean_treated = float(panel.Y[treated_cells].mean())
    return EffectEstimate(
        method="did", design=spec.design, estimand="ATT", estimate=beta, se=se, ci=(float(ci[0]), float(ci[1])),
        p_value=float(p), alpha=alpha, n_obs=fit.n_obs, n_units=panel.n_units,
        n_dropped=pdat.prepared.n_dropped, dropped_reasons=pdat.prepared.dropped_reasons,
        diagnostics=(diag,),
        tables=with_trends({"coefficients": _coef_table(names, fit.beta, V, alpha, float("inf"))}, panel),
        lineage=make_lineage(spec, pdat.prepared.fingerprint, seed), inference=how, df_resid=None,
        outcome=spec.outcome or "", baseline=mean_treated - beta, exposure=float(treated_cells.sum()),
        details={**conley_details(est.conley_cutoff_km, est.conley_kernel, lag),
                 "se_crv1": float(np.sqrt(fit.vcov[0, 0])), "n_periods": panel.n_periods},
        label="Two-way fixed-effects DiD (Conley SEs)",
    )


class EventStudy:
    """TWFE event study: leads and lags of treatment start with unit and period fixed effects.

    Event time is counted in periods (positions in the sorted time column) from each unit's
    first treated period. The ``reference`` event time is normalised to 0. Never-treated
    units (all dummies 0) anchor the period effects; without them the earliest event time
    is also normalised (recorded in ``details["extra_reference"]``).

    Parameters
    ----------
    reference : int
        Normalised event time (default -1).
    window : (int, int), optional
        ``(first, last)`` event times to estimate; default: every event time in the data.
    bin_endpoints : bool
        With a window, pool event times beyond it into the endpoints (default True); when
        False, treated observations outside the window are excluded (counted in ``details``).
    honest_mbar : sequence of float, optional
        Relative-magnitudes grid for the HonestDiD sensitivity table.
    seed : int, optional
        Seed for the sup-t band and sensitivity draws; defaults to ``spec.seed``.
    alpha : float, optional
        Overrides ``spec.alpha``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="mpdta", design="event_study", outcome="lemp",
    ...                          unit="countyreal", time="year", cohort="first.treat")
    >>> from causal_kit.estimators.did import EventStudy
    >>> res = EventStudy().fit(ck.datasets.load("mpdta"), spec)
    >>> res.tables["event_study"].query("event_time == 0")["estimate"].round(5).item()
    -0.01814
    """

    def __init__(self, *, reference: int = -1, window: tuple[int, int] | None = None,
                 bin_endpoints: bool = True, honest_mbar: Any = None, seed: int | None = None,
                 alpha: float | None = None) -> None:
        self.reference = reference
        self.window = window
        self.bin_endpoints = bin_endpoints
        self.honest_mbar = honest_mbar
        self.seed = seed
        self.alpha = alpha

    def _check(self) -> None:
        if isinstance(self.reference, bool) or not isinstance(self.reference, (int, np.integer)):
            raise SpecError(f"The 'reference' parameter of EventStudy must be an int. Got {self.reference!r} instead.")
        if self.window is not None:
            w = self.window
            if (not isinstance(w, (tuple, list)) or len(w) != 2
                    or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in w) or w[0] > w[1]):
                raise SpecError(f"The 'window' parameter of EventStudy must be None or a pair of ints "
                                f"(first, last) with first <= last. Got {w!r} instead.")
        if not isinstance(self.bin_endpoints, bool):
            raise SpecError(f"The 'bin_endpoints' parameter of EventStudy must be a bool. Got {self.bin_endpoints!r} instead.")
        _check_seed(self.seed, "EventStudy")
        if self.alpha is not None:
            check_fraction(self.alpha, "alpha", "EventStudy")

    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Estimate the event-study coefficients; see the class docstring."""
        from ..diagnostics.honest_did import honest_diagnostic, relative_magnitudes

        self._check()
        alpha = spec.alpha if self.alpha is None else float(self.alpha)
        seed = spec.seed if self.seed is None else self.seed
        ref = int(self.reference)
        if not spec.panel:  # repeated cross-sections: group x event-time OLS
            from .did_rcs import fit_rcs_event_study

            if self.window is not None:
                raise SpecError("EventStudy(window=...) is not supported on repeated cross-sections (panel: false) "
                                "yet; subset the periods in the data instead.")
            return fit_rcs_event_study(data, spec, reference=ref, alpha=alpha, seed=seed)
        pdat = load_panel(data, spec, "EventStudy")
        panel, observed = pdat.panel, pdat.observed.copy()
        n, t = panel.Y.shape
        treated = panel.treated
        rel = np.where(treated[:, None], np.arange(t)[None, :] - panel.first_treated[:, None], 0)
        lo_data, hi_data = int(rel[treated].min()), int(rel[treated].max())
        lo, hi = (lo_data, hi_data) if self.window is None else (int(self.window[0]), int(self.window[1]))
        if not lo <= ref <= hi or not lo_data <= ref <= hi_data:
            raise SpecError(
                f"The 'reference' parameter of EventStudy ({ref}) is outside the event window "
                f"[{max(lo, lo_data)}, {min(hi, hi_data)}] of the data; choose an event time inside it "
                "(usually -1) or widen 'window'."
            )
        n_outside = 0
        if self.bin_endpoints:
            rel = np.clip(rel, lo, hi)
        else:
            outside = treated[:, None] & ((rel < lo) | (rel > hi)) & observed
            n_outside = int(outside.sum())
            observed &= ~outside
        events = [e for e in range(max(lo, lo_data), min(hi, hi_data) + 1) if e != ref]
        extra_ref = None
        if not (panel.first_treated == NEVER).any() and len(events) > 1:
            extra_ref = events.pop(0)  # without never-treated units one more lead must be normalised
        regs = [(treated[:, None] & (rel == e)).astype(float) for e in events]
        covs = list(spec.covariates)
        regs += [panel.covariates[c] for c in covs]
        names = [f"e{e:+d}" for e in events] + covs
        pdat_fit = type(pdat)(pdat.prepared, panel, observed, np.where(observed, pdat.cluster, -1),
                              pdat.n_clusters, pdat.cluster_col, pdat.unit_clusters)
        fit = twfe_ols(pdat_fit, np.stack(regs, axis=2), names)
        g = fit.n_clusters
        m = len(events)
        b, V = fit.beta[:m], fit.vcov[:m, :m]
        ev = np.array(events)
        post = ev >= 0
        if not post.any():
            raise SpecError(f"the event window [{lo}, {hi}] has no post-treatment event time (e >= 0); widen 'window'.")
        L = post / post.sum()
        est, se = float(L @ b), float(np.sqrt(L @ V @ L))
        ci, p = t_ci(est, se, alpha, df=g - 1)
        crit = sup_t_critical(V, alpha, seed)
        rows = []
        counts = {e: int((treated[:, None] & (rel == e) & observed).sum()) for e in events + [ref]}
        for j, e in enumerate(events):
            sej = float(np.sqrt(V[j, j]))
            cij, pj = t_ci(float(b[j]), sej, alpha, df=g - 1)
            rows.append({"event_time": e, "estimate": float(b[j]), "se": sej, "ci_low": cij[0], "ci_high": cij[1],
                         "band_low": float(b[j] - crit * sej), "band_high": float(b[j] + crit * sej),
                         "p_value": pj, "n_obs": counts[e], "reference": False})
        for r in [ref] + ([extra_ref] if extra_ref is not None else []):
            rows.append({"event_time": r, "estimate": 0.0, "se": 0.0, "ci_low": 0.0, "ci_high": 0.0,
                         "band_low": 0.0, "band_high": 0.0, "p_value": float("nan"),
                         "n_obs": int((treated[:, None] & (rel == r) & observed).sum()), "reference": True})
        es = pd.DataFrame(rows).sort_values("event_time").reset_index(drop=True)

        pre = (ev < 0)
        diags = [wald_pretrend(b[pre], V[np.ix_(pre, pre)], alpha, "event-study coefficients", df=g - 1)]
        honest, breakdown = relative_magnitudes(b, V, ev, ref=ref, mbar=self.honest_mbar, alpha=alpha, seed=seed)
        diags.append(honest_diagnostic(breakdown, table=honest))
        diags.append(_inference_diagnostic(g, 50, False, pdat.cluster_col, 0, "rademacher"))
        diags.append(_treated_clusters_diagnostic(pdat_fit))
        tables = {"event_study": es, "honest_did": honest}
        if covs:
            tables["coefficients"] = _coef_table(covs, fit.beta[m:], fit.vcov[m:, m:], alpha, g - 1)
        treated_cells = panel.D & observed & (rel >= 0)
        mean_treated = float(panel.Y[treated_cells].mean())
        return EffectEstimate(
            method="event_study", design=spec.design, estimand="ATT (average of post-treatment event-time effects)",
            estimate=est, se=se, ci=(float(ci[0]), float(ci[1])), p_value=float(p), alpha=alpha,
            n_obs=fit.n_obs, n_units=panel.n_units, n_dropped=pdat.prepared.n_dropped,
            dropped_reasons=pdat.prepared.dropped_reasons, diagnostics=tuple(diags), tables=with_trends(tables, panel),
            lineage=make_lineage(spec, pdat.prepared.fingerprint, seed),
            inference=(f"CRV1 cluster-robust SEs clustered by {pdat.cluster_col!r} ({g} clusters, fixest "
                       f"small-sample factor), t(G-1) pointwise CIs, sup-t simultaneous bands "
                       f"(critical value {crit:.3f}, seed {seed})"),
            df_resid=float(g - 1), outcome=spec.outcome or "", baseline=mean_treated - est,
            exposure=float(treated_cells.sum()),
            details={"reference": ref, "window": [lo, hi], "bin_endpoints": self.bin_endpoints,
                     "extra_reference": extra_ref, "n_outside_window": n_outside, "n_clusters": g,
                     "sup_t_critical": crit, "honest_breakdown_mbar": breakdown},
            label="TWFE event study",
        )
