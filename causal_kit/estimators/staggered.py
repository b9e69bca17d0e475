"""Callaway & Sant'Anna (2021) difference-in-differences with staggered adoption.

:class:`CallawaySantAnna` estimates every group-time ATT(g,t) (cohort g = first treated
period) against never-treated or not-yet-treated controls with the outcome-regression, IPW
or doubly-robust (default) panel estimators, then aggregates them (simple, by cohort, by
event time, by calendar period). Standard errors come from the influence functions,
including the estimation of the aggregation weights, exactly as R ``did`` computes its
analytic standard errors; a seeded multiplier bootstrap gives simultaneous (sup-t) bands.
The cell computations are vectorised in :mod:`causal_kit.estimators._cs_core`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from .._typing import (
    BasePeriod,
    ControlGroup,
    CSAggregation,
    CSMethod,
    check_fraction,
    check_option,
)
from ..errors import IdentificationError, SpecError
from ..result import Diagnostic, EffectEstimate, make_lineage
from ._cs_core import (
    CellGrid,
    DenseIF,
    FactorIF,
    aggregation_weights,
    cell_estimates,
    cell_grid,
    factor_cells,
)
from ._did_common import fast_t_ci, load_panel, wald_pretrend, with_trends

__all__ = ["CallawaySantAnna"]

_Z = 1.3489795003921634  # qnorm(.75) - qnorm(.25), for the bootstrap IQR standard error


def _int_option(value: Any, name: str, minimum: int | None, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        none = "None or " if allow_none else ""
        raise SpecError(f"The {name!r} parameter of CallawaySantAnna must be {none}an int{bound}. Got {value!r} instead.")


class CallawaySantAnna:
    """Group-time average treatment effects with staggered adoption (Callaway & Sant'Anna 2021).

    Parameters
    ----------
    control_group : {"never_treated", "not_yet_treated"}
        Comparison units for each cell.
    est_method : {"dr", "ipw", "reg"}
        Doubly robust (default), standardised IPW or outcome regression; identical without
        covariates. Covariates (``spec.covariates``) are taken at the base period.
    anticipation : int
        Periods before treatment in which units may already react (default 0).
    base_period : {"varying", "universal"}
        ``varying`` (R's default): pre-period cells compare consecutive periods;
        ``universal``: every cell compares with period ``g - 1 - anticipation``.
    aggregation : {"simple", "group", "dynamic", "calendar"}
        Which aggregation is the headline estimate (default ``simple``).
    n_boot : int
        Multiplier-bootstrap draws for simultaneous bands (0 turns the bootstrap off).
    min_e, max_e : int, optional
        Event-time range of the dynamic aggregation.
    balance_e : int, optional
        Balance the dynamic aggregation on cohorts observed at least ``balance_e`` periods
        after treatment (R's ``balance_e``).
    honest_mbar : sequence of float, optional
        Relative-magnitudes grid for the HonestDiD sensitivity of the dynamic effects.
    seed : int, optional
        Bootstrap seed; defaults to ``spec.seed``.
    alpha : float, optional
        Overrides ``spec.alpha``.

    Notes
    -----
    Standard errors are analytic (influence-function) standard errors; the bootstrap is
    used for the simultaneous bands only. On unbalanced panels each cell uses the units
    observed in both of its periods (R ``did`` instead switches to its repeated
    cross-section estimator). Event and calendar times count positions in the sorted time
    column, as do ``anticipation`` and the not-yet-treated horizon.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="mpdta", design="staggered_did", outcome="lemp",
    ...                          unit="countyreal", time="year", cohort="first.treat")
    >>> from causal_kit.estimators.staggered import CallawaySantAnna
    >>> res = CallawaySantAnna(n_boot=0).fit(ck.datasets.load("mpdta"), spec)
    >>> round(res.estimate, 6), round(res.se, 6)
    (-0.039951, 0.012034)
    """

    def __init__(self, *, control_group: str = "never_treated", est_method: str = "dr",
                 anticipation: int = 0, base_period: str = "varying", aggregation: str = "simple",
                 n_boot: int = 999, min_e: int | None = None, max_e: int | None = None,
                 balance_e: int | None = None, honest_mbar: Any = None, seed: int | None = None,
                 alpha: float | None = None) -> None:
        self.control_group = control_group
        self.est_method = est_method
        self.anticipation = anticipation
        self.base_period = base_period
        self.aggregation = aggregation
        self.n_boot = n_boot
        self.min_e = min_e
        self.max_e = max_e
        self.balance_e = balance_e
        self.honest_mbar = honest_mbar
        self.seed = seed
        self.alpha = alpha

    def _check(self) -> None:
        owner = "CallawaySantAnna"
        check_option(self.control_group, ControlGroup, "control_group", owner)
        check_option(self.est_method, CSMethod, "est_method", owner)
        check_option(self.base_period, BasePeriod, "base_period", owner)
        check_option(self.aggregation, CSAggregation, "aggregation", owner)
        _int_option(self.anticipation, "anticipation", 0, False)
        _int_option(self.n_boot, "n_boot", 0, False)
        for name in ("min_e", "max_e"):
            _int_option(getattr(self, name), name, None, True)
        _int_option(self.balance_e, "balance_e", 0, True)
        _int_option(self.seed, "seed", 0, True)
        if self.alpha is not None:
            check_fraction(self.alpha, "alpha", owner)

    # ------------------------------------------------------------------ fit
    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Estimate ATT(g,t) and its aggregations; see the class docstring."""
        self._check()
        alpha = spec.alpha if self.alpha is None else float(self.alpha)
        seed = spec.seed if self.seed is None else int(self.seed)
        pdat = load_panel(data, spec, "CallawaySantAnna")
        if pdat.unit_clusters is None:
            raise SpecError(
                f"column {pdat.cluster_col!r} (spec.cluster) changes within units; Callaway-Sant'Anna "
                "clusters whole units, so each unit must belong to one cluster."
            )
        panel, observed = pdat.panel, pdat.observed
        first = panel.first_treated
        n_units, n_periods = panel.Y.shape
        if self.control_group == "never_treated" and not (first < 0).any():
            raise IdentificationError(
                "no never-treated units in the data (spec.cohort / spec.treatment), so "
                "control_group='never_treated' has no comparison units; use "
                "control_group='not_yet_treated'."
            )
        ant = int(self.anticipation)
        grid = cell_grid(first, n_periods, ant, self.base_period)
        if len(grid.period) == 0:
            raise IdentificationError(
                f"no group-time cell has a pre-treatment base period (anticipation={ant}); every cohort is "
                "treated too early in the window. Add earlier periods or lower 'anticipation'."
            )
        covs = [panel.covariates[c] for c in spec.covariates]
        clusters = pdat.unit_clusters
        unit_clusters = clusters is not None and np.array_equal(clusters, np.arange(n_units))
        if not covs and observed.all() and unit_clusters:
            # balanced, no covariates: cohort sums suffice (influence functions stay factored)
            att, op, n_t, n_c = factor_cells(panel.Y, first, grid, control=self.control_group, anticipation=ant)
        else:
            att, psi, n_t, n_c = cell_estimates(
                panel.Y, first, grid, control=self.control_group, anticipation=ant, method=self.est_method,
                covariates=covs, observed=None if observed.all() else observed,
            )
            op = DenseIF(psi)
        usable = ((n_t > 0) & (n_c > 0)) | grid.reference
        post = grid.period >= grid.cohort
        if not (usable & post).any():
            raise IdentificationError(
                "no post-treatment group-time cell has comparison units: there are no never-treated "
                "units and no not-yet-treated units left when cohorts are treated. The effect is not "
                "identified without controls; add never-treated units or shorten the window."
            )
        n_unusable = int((~usable).sum())
        keep = np.flatnonzero(usable)
        grid = CellGrid(grid.cohort[keep], grid.period[keep], grid.base[keep], grid.reference[keep], grid.skipped)
        att, op, n_t, n_c = att[keep], op.take(keep), n_t[keep], n_c[keep]
        out = self._aggregate(att, op, grid, first, None if unit_clusters else clusters, panel.times,
                              n_periods, alpha, seed, n_t, n_c)
        tables = out["tables"]
        est, se = out["headline"][self.aggregation]
        ci, p = fast_t_ci(est, se, alpha, None)
        diags = self._diagnostics(out, alpha, seed, observed.all(), n_unusable, tables)
        post_cells = (grid.period >= grid.cohort)
        exposure = float(n_t[post_cells].sum())
        y_post = float(np.nansum(np.where(panel.D & observed, panel.Y, 0.0)) / max((panel.D & observed).sum(), 1))
        return EffectEstimate(
            method="staggered_did", design=spec.design, estimand=f"ATT ({self.aggregation} aggregation of ATT(g,t))",
            estimate=est, se=se, ci=(float(ci[0]), float(ci[1])), p_value=float(p), alpha=alpha,
            n_obs=int(observed.sum()), n_units=n_units, n_dropped=pdat.prepared.n_dropped,
            dropped_reasons=pdat.prepared.dropped_reasons, diagnostics=tuple(diags), tables=with_trends(tables, panel),
            lineage=make_lineage(spec, pdat.prepared.fingerprint, seed),
            inference=(f"analytic influence-function SEs (R did convention, including the estimated "
                       f"aggregation weights), clustered by {pdat.cluster_col!r}; normal CIs; "
                       + (f"sup-t bands from a multiplier bootstrap (Rademacher, {self.n_boot} draws, seed {seed})"
                          if self.n_boot else "no bootstrap (bands equal pointwise CIs)")),
            outcome=spec.outcome or "", baseline=y_post - est, exposure=exposure,
            details={"control_group": self.control_group, "est_method": self.est_method,
                     "base_period": self.base_period, "anticipation": ant, "n_cells": int(len(att)),
                     "n_cells_without_controls": n_unusable, "n_cells_without_base": int(grid.skipped),
                     "balanced": bool(observed.all()), "n_boot": int(self.n_boot),
                     "headline_aggregation": self.aggregation},
            label="Callaway-Sant'Anna DiD",
        )

    # ------------------------------------------------------------------ aggregation
    def _aggregate(self, att: np.ndarray, op: Any, grid: CellGrid, first: np.ndarray,
                   clusters: np.ndarray | None, times: np.ndarray, n_periods: int, alpha: float,
                   seed: int, n_t: np.ndarray | None = None, n_c: np.ndarray | None = None) -> dict:
        e = grid.period - grid.cohort
        post = e >= 0
        n_t = np.zeros(len(att)) if n_t is None else n_t
        n_c = np.zeros(len(att)) if n_c is None else n_c
        max_e = np.inf if self.max_e is None else self.max_e
        min_e = -np.inf if self.min_e is None else self.min_e
        cohorts = np.unique(grid.cohort)
        keep_simple = [np.flatnonzero(post & (e <= max_e))]
        keep_group = [np.flatnonzero(post & (grid.cohort == k) & (e <= max_e)) for k in cohorts]
        dyn_ok = np.ones(len(e), dtype=bool)
        if self.balance_e is not None:
            dyn_ok = (n_periods - 1 - grid.cohort) >= self.balance_e
            dyn_ok &= (e <= self.balance_e) & (e >= self.balance_e - (n_periods - 1))
        dyn_ok &= (e >= min_e) & (e <= max_e)
        e_list = np.unique(e[dyn_ok])
        keep_dyn = [np.flatnonzero(dyn_ok & (e == v)) for v in e_list]
        t_list = np.unique(grid.period[post & (grid.period >= cohorts.min())])
        keep_cal = [np.flatnonzero(post & (grid.period == tt)) for tt in t_list]
        keeps = keep_simple + keep_group + keep_dyn + keep_cal
        W, WIF = aggregation_weights(att, grid.cohort, first, keeps)
        est_a = att @ W
        i_g = slice(1, 1 + len(cohorts))
        i_d = slice(i_g.stop, i_g.stop + len(e_list))
        i_c = slice(i_d.stop, i_d.stop + len(t_list))
        # overall group effect: cohort effects weighted by cohort shares, with their wif
        att_g = est_a[i_g]
        W2, WIF2 = aggregation_weights(att_g, cohorts, first, [np.arange(len(cohorts))])
        dyn_post = e_list >= 0
        overall = [
            ("simple", est_a[0]),
            ("group", float(att_g @ W2[:, 0])),
            ("dynamic", float(est_a[i_d][dyn_post].mean()) if dyn_post.any() else np.nan),
            ("calendar", float(est_a[i_c].mean()) if len(t_list) else np.nan),
        ]
        # overall effects as linear maps of the aggregation columns (plus the group wif)
        n_a = W.shape[1]
        L = np.zeros((n_a, 4))
        L[0, 0] = 1.0
        L[i_g, 1] = W2[:, 0]
        if dyn_post.any():
            L[np.arange(i_d.start, i_d.stop)[dyn_post], 2] = 1.0 / dyn_post.sum()
        if len(t_list):
            L[i_c, 3] = 1.0 / len(t_list)
        nc = len(att)
        fam = {"cells": np.arange(nc), "group": nc + np.arange(i_g.start, i_g.stop),
               "dynamic": nc + np.arange(i_d.start, i_d.stop), "calendar": nc + np.arange(i_c.start, i_c.stop)}
        dyn = fam["dynamic"] - nc
        factored = isinstance(op, FactorIF) and clusters is None
        if factored:
            # balanced, no covariates: every aggregated influence function is Y_i @ M_slot + const_slot,
            # so their covariance comes from per-cohort Gram matrices (no units x aggregations array)
            slots = np.r_[np.unique(first[first >= 0]), -1]
            onehot = first[:, None] == slots[None, :]
            present, rep = onehot.any(axis=0), onehot.argmax(axis=0)
            wif_slot = np.where(present[:, None], WIF[rep], 0.0)
            shift = np.hstack([wif_slot, wif_slot @ L])
            shift[:, n_a + 1] += np.where(present, WIF2[rep, 0], 0.0)
            Wf = np.hstack([W, W @ L])
            cov = op.cov_project(Wf, shift)
            agg_ss = np.maximum(np.diag(cov), 0.0)
            dyn_cov = cov[np.ix_(dyn, dyn)]
            n_draw_units = len(first)
        else:
            psi_a = op.project(W) + WIF
            agg_psi = np.hstack([psi_a, psi_a @ L])
            agg_psi[:, n_a + 1] += WIF2[:, 0]
            if clusters is not None:
                cl = np.zeros((int(clusters.max()) + 1, agg_psi.shape[1]))
                np.add.at(cl, clusters, agg_psi)
                agg_psi = cl
            agg_ss = np.einsum("ij,ij->j", agg_psi, agg_psi)
            dyn_cov = agg_psi[:, dyn].T @ agg_psi[:, dyn]
            n_draw_units = agg_psi.shape[0]
        se_all = np.sqrt(np.concatenate([op.sum_sq(clusters), agg_ss]))
        est_all = np.concatenate([att, est_a, [o[1] for o in overall]])
        crit = {k: np.nan for k in fam}
        if self.n_boot > 0:
            rng = np.random.default_rng(seed)
            v = rng.integers(0, 2, size=(self.n_boot, n_draw_units), dtype=np.int8).astype(np.float32) * 2 - 1
            if factored:
                # draws straight from cohort-level sums; the wif terms are constant within cohorts
                vs = v @ onehot.astype(np.float32)
                boot_a = op.boot_project(v, Wf) + vs @ shift
                boot_all = np.concatenate([op.boot(v, None), boot_a], axis=1)
            else:
                boot_all = np.concatenate([op.boot(v, clusters), v @ agg_psi], axis=1)
            for name, idx in fam.items():
                idx = idx[se_all[idx] > 0]
                if len(idx):
                    crit[name] = float(np.quantile(np.abs(boot_all[:, idx] / se_all[idx]).max(axis=1), 1 - alpha))

        ci_q = float(ndtri(1 - alpha / 2))

        def rows(idx: np.ndarray, family: str, bands: bool = True) -> dict[str, np.ndarray]:
            c = crit[family] if np.isfinite(crit[family]) else ci_q
            est, se = est_all[idx], se_all[idx]
            pv = np.where(se > 0, 2 * ndtr(-np.abs(est) / np.where(se > 0, se, 1.0)), np.nan)
            out = {"estimate": est, "se": se, "ci_low": est - ci_q * se, "ci_high": est + ci_q * se}
            if bands:
                out |= {"band_low": est - c * se, "band_high": est + c * se}
            return out | {"p_value": pv}

        # one DataFrame per table, built from columns (no concat of small frames)
        lab = np.array([_label(x) for x in times], dtype=object)
        att_gt = pd.DataFrame({
            "group": lab[grid.cohort].tolist(), "time": lab[grid.period].tolist(), "event_time": e,
            "base_period": lab[grid.base].tolist(), "post": post, "n_treated": n_t.astype(int),
            "n_control": n_c.astype(int), **rows(fam["cells"], "cells")})
        group_t = pd.DataFrame({"group": lab[cohorts].tolist(), **rows(fam["group"], "group")})
        dyn_rows = rows(fam["dynamic"], "dynamic")
        dyn_t = pd.DataFrame({"event_time": e_list, **dyn_rows, "reference": dyn_rows["se"] == 0})
        cal_t = pd.DataFrame({"time": lab[t_list].tolist(), **rows(fam["calendar"], "calendar")})
        ov_idx = nc + n_a + np.arange(4)
        aggs = pd.DataFrame({"aggregation": [o[0] for o in overall], **rows(ov_idx, "cells", bands=False)})
        return {"tables": {"att_gt": att_gt, "aggregations": aggs, "group_effects": group_t,
                           "event_study": dyn_t, "calendar_effects": cal_t},
                "headline": {o[0]: (float(est_all[i]), float(se_all[i])) for o, i in zip(overall, ov_idx)},
                "dyn_cov": dyn_cov, "dyn_e": e_list, "dyn_est": est_all[fam["dynamic"]]}

    def _diagnostics(self, out: dict, alpha: float, seed: int, balanced: bool, n_unusable: int,
                     tables: dict) -> list[Diagnostic]:
        from ..diagnostics.honest_did import honest_diagnostic, relative_magnitudes

        e, b, V = out["dyn_e"], out["dyn_est"], out["dyn_cov"]
        ref = -1 - int(self.anticipation)
        nonzero = np.diag(V) > 0
        pre = (e < 0) & nonzero
        what = ("event-time effects (short differences, varying base period)"
                if self.base_period == "varying" else "event-time effects")
        diags = [wald_pretrend(b[pre], V[np.ix_(pre, pre)], alpha, what)]
        sel = nonzero
        table, breakdown = relative_magnitudes(
            b[sel], V[np.ix_(sel, sel)], e[sel], ref=ref, pre_are_differences=self.base_period == "varying",
            mbar=self.honest_mbar, alpha=alpha, seed=seed)
        tables["honest_did"] = table
        diags.append(honest_diagnostic(breakdown, table=table))
        if balanced:
            diags.append(Diagnostic("panel_balance", "pass", "The panel is balanced: every unit is observed in "
                                    "every period.", assumption="specification"))
        else:
            diags.append(Diagnostic(
                "panel_balance", "warn",
                "The panel is unbalanced: each group-time cell uses the units observed in both of its periods; "
                "check that attrition is unrelated to treatment.", assumption="specification"))
        if n_unusable:
            diags.append(Diagnostic(
                "controls", "warn",
                f"{n_unusable} group-time cell(s) had no comparison units and were left out; late cohorts "
                "have no not-yet-treated controls at the end of the window.", statistic=float(n_unusable),
                assumption="overlap"))
        return diags


def _label(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value
