"""Sun & Abraham (2021) interaction-weighted event-study estimator.

A TWFE regression saturated in cohort x event-time interactions (reference event time -1)
gives cohort-specific effects CATT(g, e) that, unlike the pooled TWFE event study, are not
contaminated by effects of other event times. They are averaged over cohorts with weights
equal to each cohort's share among the units observed at that event time. The headline is
the average over all post-treatment cells weighted by cohort size (the same weighting as
Callaway-Sant'Anna's simple aggregation). Controls are the never-treated units, or, when
there are none, the last-treated cohort, with all periods from its adoption on dropped. Standard errors are CRV1
(fixest small-sample factor) on the interaction coefficients, with the weights held fixed.
On a balanced panel with never-treated units and no covariates the saturated regression is
solved in closed form from cohort sums (see ``_saturated_balanced``): the same numbers in
linear memory, instead of a units x periods x cells dummy array.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .._typing import check_fraction
from ..errors import IdentificationError, RowsDroppedWarning, SpecError
from ..result import EffectEstimate, make_lineage
from ._did_common import (
    PanelData,
    load_panel,
    sup_t_critical,
    twfe_ols,
    wald_pretrend,
    with_trends,
)
from ._did_common import fast_t_ci as t_ci

__all__ = ["SunAbraham"]


class SunAbraham:
    """Interaction-weighted event-study estimates (Sun & Abraham 2021).

    Parameters
    ----------
    honest_mbar : sequence of float, optional
        Relative-magnitudes grid for the HonestDiD sensitivity table.
    seed : int, optional
        Seed of the sup-t band and sensitivity draws; defaults to ``spec.seed``.
    alpha : float, optional
        Overrides ``spec.alpha``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="mpdta", design="staggered_did", outcome="lemp",
    ...                          unit="countyreal", time="year", cohort="first.treat")
    >>> from causal_kit.estimators.sun_abraham import SunAbraham
    >>> res = SunAbraham().fit(ck.datasets.load("mpdta"), spec)
    >>> round(res.estimate, 6)
    -0.039951
    """

    def __init__(self, *, honest_mbar: Any = None, seed: int | None = None, alpha: float | None = None) -> None:
        self.honest_mbar = honest_mbar
        self.seed = seed
        self.alpha = alpha

    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Estimate the interaction-weighted event study; see the class docstring."""
        from ..diagnostics.honest_did import honest_diagnostic, relative_magnitudes

        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0):
            raise SpecError(f"The 'seed' parameter of SunAbraham must be None or an int >= 0. Got {self.seed!r} instead.")
        if self.alpha is not None:
            check_fraction(self.alpha, "alpha", "SunAbraham")
        alpha = spec.alpha if self.alpha is None else float(self.alpha)
        seed = spec.seed if self.seed is None else self.seed
        pdat = load_panel(data, spec, "SunAbraham")
        panel, observed = pdat.panel, pdat.observed.copy()
        n, t = panel.Y.shape
        first = panel.first_treated
        cohorts = np.unique(first[first >= 0])
        control_note = "never-treated units"
        dropped_last: dict[str, int] = {}
        if not (first < 0).any():
            if len(cohorts) < 2:
                raise IdentificationError(
                    "no never-treated units and a single treated cohort: Sun-Abraham needs never-treated "
                    "units or a later-treated cohort as controls."
                )
            last = cohorts[-1]
            # as in fixest's sunab: drop every period from the control cohort's adoption on
            n_before = int(observed.sum())
            observed &= (np.arange(t) < last)[None, :]
            n_cut = n_before - int(observed.sum())
            warnings.warn(
                f"SunAbraham: no never-treated units, so the last-treated cohort ({_plain(panel.times[last])!r}) is the "
                f"control group and its {n_cut} rows from {_plain(panel.times[last])!r} on are dropped "
                f"({n_cut} of {n_before} rows).",
                RowsDroppedWarning, stacklevel=2,
            )
            dropped_last = {f"periods from the control cohort's adoption {_plain(panel.times[last])!r} on": n_cut}
            cohorts = cohorts[:-1]
            control_note = f"the last-treated cohort ({panel.times[last]!r}) before its treatment"
        covs = list(spec.covariates)
        if not covs and observed.all() and pdat.unit_clusters is not None:
            cells, beta, V, n_obs, g = _saturated_balanced(panel.Y, first, pdat.unit_clusters, pdat.n_clusters)
        else:
            cells, beta, V, n_obs, g = _saturated_dense(pdat, observed, first, cohorts, covs)
        m = len(cells)
        ck = np.array([c[0] for c in cells])
        ce = np.array([c[1] for c in cells])
        size = np.array([np.sum(first == k) for k in ck], dtype=float)
        e_list = np.unique(ce)
        L = np.zeros((len(e_list), m))
        for j, e in enumerate(e_list):
            sel = ce == e
            L[j, sel] = size[sel] / size[sel].sum()
        post = ce >= 0
        l_all = np.where(post, size, 0.0) / size[post].sum()
        b_e, V_e = L @ beta, L @ V @ L.T
        est, se = float(l_all @ beta), float(np.sqrt(l_all @ V @ l_all))
        ci, p = t_ci(est, se, alpha, df=g - 1)
        crit = sup_t_critical(V_e, alpha, seed)
        rows = []
        for j, e in enumerate(e_list):
            s = float(np.sqrt(V_e[j, j]))
            cij, pj = t_ci(float(b_e[j]), s, alpha, df=g - 1)
            rows.append({"event_time": int(e), "estimate": float(b_e[j]), "se": s, "ci_low": cij[0], "ci_high": cij[1],
                         "band_low": float(b_e[j] - crit * s), "band_high": float(b_e[j] + crit * s), "p_value": pj,
                         "reference": False})
        rows.append({"event_time": -1, "estimate": 0.0, "se": 0.0, "ci_low": 0.0, "ci_high": 0.0, "band_low": 0.0,
                     "band_high": 0.0, "p_value": float("nan"), "reference": True})
        es = pd.DataFrame(rows).sort_values("event_time").reset_index(drop=True)
        cohort_t = pd.DataFrame({"group": [_plain(panel.times[k]) for k in ck], "event_time": ce,
                                 "estimate": beta, "se": np.sqrt(np.diag(V)), "n_obs": [c[2] for c in cells]})
        pre = e_list < 0
        diags = [wald_pretrend(b_e[pre], V_e[np.ix_(pre, pre)], alpha, "interaction-weighted event-time effects",
                               df=g - 1)]
        honest, breakdown = relative_magnitudes(b_e, V_e, e_list, ref=-1, mbar=self.honest_mbar, alpha=alpha, seed=seed)
        diags.append(honest_diagnostic(breakdown, table=honest))
        treated_post = panel.D & observed & (first >= 0)[:, None]
        y_post = float(panel.Y[treated_post].mean())
        return EffectEstimate(
            method="sun_abraham", design=spec.design, estimand="ATT (cohort-size weighted post-treatment average)",
            estimate=est, se=se, ci=(float(ci[0]), float(ci[1])), p_value=float(p), alpha=alpha,
            n_obs=n_obs, n_units=n, n_dropped=pdat.prepared.n_dropped + sum(dropped_last.values()),
            dropped_reasons={**pdat.prepared.dropped_reasons, **dropped_last}, diagnostics=tuple(diags),
            tables=with_trends({"event_study": es, "cohort_effects": cohort_t, "honest_did": honest}, panel),
            lineage=make_lineage(spec, pdat.prepared.fingerprint, seed),
            inference=(f"CRV1 cluster-robust SEs clustered by {pdat.cluster_col!r} ({g} clusters, fixest small-sample "
                       f"factor) with interaction weights held fixed; t(G-1) CIs; sup-t bands (seed {seed}); "
                       f"controls: {control_note}"),
            df_resid=float(g - 1), outcome=spec.outcome or "", baseline=y_post - est,
            exposure=float(treated_post.sum()),
            details={"n_clusters": g, "sup_t_critical": crit, "controls": control_note,
                     "honest_breakdown_mbar": breakdown},
            label="Sun-Abraham interaction-weighted event study",
        )


def _saturated_dense(pdat: PanelData, observed: np.ndarray, first: np.ndarray, cohorts: np.ndarray,
                     covs: list[str]) -> tuple[list[tuple[int, int, int]], np.ndarray, np.ndarray, int, int]:
    """The saturated TWFE regression with one dummy array per cell (covariates, unbalanced panels)."""
    panel = pdat.panel
    t = panel.Y.shape[1]
    rel = np.arange(t)[None, :] - first[:, None]
    cells, regs = [], []
    for k in cohorts:
        for e in range(-int(k), t - int(k)):
            if e == -1:
                continue
            dummy = (first == k)[:, None] & (rel == e) & observed
            if dummy.any():
                cells.append((int(k), e, int(dummy.sum())))
                regs.append(dummy.astype(float))
    regs += [panel.covariates[c] for c in covs]
    names = [f"g{panel.times[k]}_e{e:+d}" for k, e, _ in cells] + covs
    pdat_fit = PanelData(pdat.prepared, panel, observed, np.where(observed, pdat.cluster, -1),
                         pdat.n_clusters, pdat.cluster_col, pdat.unit_clusters)
    fit = twfe_ols(pdat_fit, np.stack(regs, axis=2), names)
    m = len(cells)
    return cells, fit.beta[:m], fit.vcov[:m, :m], fit.n_obs, fit.n_clusters


def _saturated_balanced(Y: np.ndarray, first: np.ndarray, unit_clusters: np.ndarray,
                        n_clusters: int) -> tuple[list[tuple[int, int, int]], np.ndarray, np.ndarray, int, int]:
    """The saturated regression of a balanced panel with never-treated units, in closed form.

    With unit and period effects and a dummy for every cohort x event time but -1, each
    cohort's period means are fitted exactly, so the coefficient of (g, e) is the 2x2 DiD of
    cohort g between periods g + e and g - 1 against the never-treated units: the
    Callaway-Sant'Anna cell with a universal base period. Its OLS weights are those of the
    cell's influence function, and the residuals are two-way demeaned within each cohort, so
    the CRV1 meat is the influence functions' cross-product. Both come from the cohort sums
    of :func:`factor_cells`, never from a units x periods x cells regressor array.
    """
    from ..inference.cluster import ssc_factor
    from ._cs_core import cell_grid, factor_cells

    n, t = Y.shape
    grid = cell_grid(first, t, 0, "universal")
    keep = np.flatnonzero(~grid.reference)
    att, op, n_t, _ = factor_cells(Y, first, grid, control="never_treated", anticipation=0)
    op = op.take(keep)
    cells = [(int(k), int(p - k), int(c)) for k, p, c in zip(grid.cohort[keep], grid.period[keep], n_t[keep])]
    m = len(keep)
    if np.array_equal(unit_clusters, np.arange(n)):
        meat = op.cov_project(np.eye(m), np.zeros((op.n_slots, m)))
    else:
        psi = np.zeros((n_clusters, m))
        np.add.at(psi, unit_clusters, op.project(np.eye(m)))
        meat = psi.T @ psi
    n_obs = n * t
    k_params = m + 1 + t - 1  # fixest: the unit effects are nested in the (unit-constant) clusters
    return cells, att[keep], ssc_factor(n_obs, k_params, n_clusters) * meat, n_obs, n_clusters


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
