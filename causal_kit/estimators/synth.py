"""Synthetic control (Abadie, Diamond & Hainmueller 2010).

The treated unit's counterfactual is a weighted average of donor units, with non-negative
weights summing to one chosen to reproduce its pre-treatment outcomes and, optionally,
predictors. Predictors are weighted by a diagonal matrix V: the identity, or (as in ADH) the
V whose weights minimise the pre-period mean squared prediction error of the outcome
("nested" optimisation). Predictors are scaled by their standard deviation across units
first, as in the R package Synth.

Inference with one treated unit is by in-space placebos (each donor in turn plays the
treated unit, the treated unit left out of their donor pools): the post/pre RMSPE ratio rank
gives the permutation p-value and the SD of the placebo effects the standard error (ADH).
With several treated units (or cohorts) the interval comes from randomisation inference over
*all* units: each of ``n_reps`` draws re-assigns the treatment to as many units drawn from the
treated and the donors together, fits each on the units left (as many donors as the treated
had) and averages their gaps as the estimator does. Under random assignment the test of the
sharp null is exact whatever the units' heterogeneity; because the weights use pre-period data
only, each draw's estimate is linear in a hypothesised constant effect, and the interval is
every effect the test does not reject (:func:`~causal_kit.inference.placebo.permutation_interval`).
The SE is the one the interval implies. A placebo study (random placebo-treated states and
adoption years on Prop 99 without California, 5 placebo-treated units) found the former
default, which averaged single-unit placebo effects, rejecting a true null 11.8% of the time;
re-assigning only among the donors (the "set placebo", still used for one treated unit on a
rescaled panel) was conservative (3-3.5%) because its placebo units have fewer donors than the
treated; the randomisation holds 5% (see ``benchmarks/bench_placebo.py``).

Level-scale panels whose units differ widely in size (geo KPIs) are matched relative to each
unit's own scale (``unit_scale``): every series is divided by its pre-period mean, the
weights fit the relative series, and each treated unit's gap is mapped back to levels by its
own scale; the placebo multiplies each pseudo-treated gap by the scale of the treated unit
it stands in for, so a large treated geo is mimicked by a donor blown up to its size. Plain
level matching on such panels is biased (large treated geos lie outside the donors' convex
hull) and its placebo ignores that large treated geos carry large errors.

In-time placebos, leave-one-donor-out refits, pre-period fit, a convex-hull check and the
effective number of donors are reported as diagnostics. Several treated units are fitted one
by one (in one batched solve) and averaged; staggered adoption is handled cohort by cohort.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from .._typing import check_option
from ..errors import DataError, IdentificationError, SpecError
from ..inference.basic import normal_ci
from ..inference.placebo import (
    interval_text,
    permutation_interval,
    placebo_draws,
    placebo_interval,
    rmspe_ratio_test,
    sc_permutation_draws,
    sc_placebo_gaps,
    sc_set_placebo_effects,
    scales_heterogeneous,
    unit_scales,
)
from ..result import Diagnostic, EffectEstimate, make_lineage
from ..solvers.simplex import simplex_weights
from ._synth_common import business_numbers, check_int, effective_n, load_synth_panel, raw_frame

__all__ = ["SyntheticControl", "predictor_matrix", "nested_v"]

VChoice = Literal["auto", "identity", "nested"]
Agg = Literal["mean", "sum", "median", "last"]
UnitScale = Literal["auto", "none", "unit"]
SynthInference = Literal["auto", "conformal"]
#: share of pre-periods on which the treated mean lies outside the donors' range (in levels)
#: above which ``unit_scale="auto"`` matches units relative to their own scale
HULL_SWITCH = 0.5


def predictor_matrix(panel, covs: dict[str, np.ndarray], predictors: list[dict], lags: list,
                     T0: int, outcome: str) -> tuple[np.ndarray, list[str]]:
    """The (P, N) matrix of predictor values, one column per unit, and the row labels."""
    times = panel.times
    rows, labels = [], []
    for k, p in enumerate(predictors):
        if not isinstance(p, dict) or "column" not in p:
            raise SpecError(
                f"The 'predictors' parameter of SyntheticControl must be a list of dicts with a "
                f"'column' key (and optional 'period', 'agg'). Got {p!r} at position {k} instead."
            )
        col = p["column"]
        agg = p.get("agg", "mean")
        check_option(agg, Agg, f"predictors[{k}].agg", "SyntheticControl")
        period = p.get("period")
        if period is None:
            sel = np.arange(T0)
        else:
            lo, hi = (period, period) if np.ndim(period) == 0 else (period[0], period[-1])
            sel = np.flatnonzero((times >= lo) & (times <= hi))
            if len(sel) == 0:
                raise SpecError(f"predictors[{k}] period {period!r} matches no period of the data "
                                f"({times[0]!r} to {times[-1]!r}).")
        M = panel.Y if col == outcome else covs[col]
        block = M[:, sel]
        with np.errstate(all="ignore"):
            if agg == "mean":
                val = np.nanmean(block, axis=1)
            elif agg == "sum":
                val = np.nansum(block, axis=1)
            elif agg == "median":
                val = np.nanmedian(block, axis=1)
            else:
                val = block[:, -1]
        if np.isnan(val).any():
            bad = panel.units[np.isnan(val)]
            raise DataError(
                f"predictor column {col!r} has no value in period {period!r} for {len(bad)} unit(s) "
                f"(e.g. {bad[:3].tolist()}); change the period or drop the predictor."
            )
        rows.append(val)
        labels.append(f"{col} ({agg} {period if period is not None else 'pre-period'})")
    for lag in lags:
        k = np.flatnonzero(times == lag)
        if len(k) == 0:
            raise SpecError(f"The 'outcome_lags' parameter of SyntheticControl names period {lag!r}, "
                            "which is not in the data.")
        rows.append(panel.Y[:, k[0]])
        labels.append(f"{outcome} ({lag})")
    return np.vstack(rows), labels


def _scale(X: np.ndarray) -> np.ndarray:
    sd = X.std(axis=1, ddof=1, keepdims=True)
    return X / np.where(sd > 0, sd, 1.0)


def nested_v(Xs: np.ndarray, Z: np.ndarray, target: int, donors: np.ndarray, *,
             max_iter: int = 500) -> np.ndarray:
    """Diagonal V (summing to one) minimising the outcome MSPE of the V-weighted SC fit.

    Follows the R package Synth: V = |s| / sum|s|, Nelder-Mead and BFGS (Synth's default
    ``optimxmethod``) from two starts (equal weights, and the squared coefficients of a
    regression of the pre-period outcomes on the predictors across units), keeping the best. The problem has many near-equivalent
    local optima, so other optimisers reach other weights with similar fit.

    Parameters
    ----------
    Xs : (P, N) array of scaled predictors.
    Z : (T0, N) array of pre-period outcomes the fit is judged on.
    target : int, column of the treated unit; donors : int array of donor columns.
    max_iter : int, iterations per start and method (R's Nelder-Mead default, 500).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(3, 8)); Z = rng.normal(size=(5, 8))
    >>> v = nested_v(X, Z, 0, np.arange(1, 8))
    >>> bool(np.isclose(v.sum(), 1.0))
    True
    """
    P = Xs.shape[0]
    X0, x1 = Xs[:, donors], Xs[:, target]
    Z0, z1 = Z[:, donors], Z[:, target]

    def v_of(s: np.ndarray) -> np.ndarray:
        a = np.abs(s)
        return a / a.sum() if a.sum() > 0 else np.full(P, 1.0 / P)

    def loss(s: np.ndarray) -> float:
        sv = np.sqrt(v_of(s))
        w = simplex_weights(sv[:, None] * X0, sv * x1)
        r = z1 - Z0 @ w
        return float(r @ r / len(r))

    starts = [np.full(P, 1.0 / P)]
    units = np.concatenate([[target], donors])
    Xall = np.column_stack([np.ones(len(units)), Xs[:, units].T])
    beta = np.linalg.lstsq(Xall, Z[:, units].T, rcond=None)[0][1:]
    reg = np.diag(beta @ beta.T)
    if np.all(np.isfinite(reg)) and reg.sum() > 0:
        starts.append(reg / reg.sum())
    best = None
    for s in starts:
        for method, opts in (("Nelder-Mead", {"maxiter": max_iter}), ("BFGS", {"maxiter": max_iter})):
            res = minimize(loss, s, method=method, options=opts)
            if best is None or res.fun < best.fun:
                best = res
    return v_of(best.x)


class SyntheticControl:
    """Synthetic control with predictors, V choice and placebo inference.

    Parameters
    ----------
    predictors : list of dict, optional
        ``{"column": name, "period": [first, last] or period, "agg": "mean"}`` per
        predictor (``agg`` one of mean, sum, median, last); columns other than the outcome
        are read from the data by these names.
    outcome_lags : list, optional
        Periods whose outcome values are predictors, e.g. ``[1975, 1980, 1988]``.
        Without predictors and lags, every pre-period outcome is matched.
    v : {"auto", "identity", "nested"}
        Predictor weights: ``identity``, or ``nested`` (ADH: V minimising the pre-period
        outcome MSPE). ``auto``: nested when predictors are given, identity otherwise.
    standardize : bool
        Divide each predictor by its SD across units (Synth's convention).
    placebo_refit_v : bool
        Re-optimise V for every placebo (as ADH; slower); by default each placebo reuses the
        treated unit's V.
    in_time_placebo : "auto", a period, or None
        Fake adoption date for the in-time placebo (``auto``: a third of the pre-period back).
    max_iter_v : int
        Iterations per start and method of the nested V optimisation.
    n_reps : int
        Set-placebo replicates when there are several treated units (each replicate
        re-assigns the whole treated set to randomly drawn donors).
    unit_scale : {"auto", "none", "unit"}
        ``unit``: match every unit relative to its pre-period mean and map gaps back to
        levels by each treated unit's scale (needs a non-zero pre-period mean per unit and no
        predictors). ``none``: match levels. ``auto`` (default): ``unit`` when, without
        predictors, the outcome is positive and either the units' scales are heterogeneous
        (SD of log pre-period means above 0.5) or the treated mean lies outside the donors'
        range on more than half of the pre-periods; ``none`` otherwise. The result's
        ``details["unit_scale"]`` and ``inference`` say which was used and why.
    inference : {"auto", "conformal"}
        ``auto`` (default): the placebo or randomisation inference described above.
        ``conformal``: Chernozhukov, Wüthrich & Zhu (2021) — p-value of no effect from
        moving-block permutations of the residuals of a fit on all periods under the null,
        interval of a constant effect by test inversion, pointwise intervals in
        ``tables["conformal_intervals"]`` (one adoption period; at least ``1 / alpha``
        periods). Valid when the residuals are stationary and weakly dependent over time,
        with one treated unit or several read as their average.
    seed : int, optional
        Recorded in the lineage (every step of this estimator is deterministic).

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="prop99", design="synthetic_control",
    ...     outcome="PacksPerCapita", treatment="treated", unit="State", time="Year")
    >>> res = ck.estimate(ck.datasets.load("california_prop99"), spec)
    >>> round(res.estimate, 2)
    -19.75
    """

    def __init__(self, *, predictors: list[dict] | None = None, outcome_lags: list | None = None,
                 v: VChoice = "auto", standardize: bool = True, placebo_refit_v: bool = True,
                 in_time_placebo: Any = "auto", max_iter_v: int = 500, n_reps: int = 200,
                 unit_scale: UnitScale = "auto", inference: SynthInference = "auto",
                 seed: int | None = None) -> None:
        self.predictors = predictors
        self.outcome_lags = outcome_lags
        self.v = v
        self.standardize = standardize
        self.placebo_refit_v = placebo_refit_v
        self.in_time_placebo = in_time_placebo
        self.max_iter_v = max_iter_v
        self.n_reps = n_reps
        self.unit_scale = unit_scale
        self.inference = inference
        self.seed = seed

    def _check(self) -> None:
        check_option(self.v, VChoice, "v", "SyntheticControl")
        check_option(self.unit_scale, UnitScale, "unit_scale", "SyntheticControl")
        check_option(self.inference, SynthInference, "inference", "SyntheticControl")
        check_int(self.max_iter_v, "max_iter_v", "SyntheticControl")
        check_int(self.n_reps, "n_reps", "SyntheticControl", minimum=2)
        for name in ("predictors", "outcome_lags"):
            val = getattr(self, name)
            if val is not None and not isinstance(val, (list, tuple)):
                raise SpecError(f"The {name!r} parameter of SyntheticControl must be a list or None. "
                                f"Got {val!r} instead.")

    # ------------------------------------------------------------------ matching set-up
    def _scales(self, sp) -> tuple[np.ndarray, str]:
        """Per-unit scales (ones when matching levels) and why."""
        Y, N = sp.Y, sp.Y.shape[0]
        g0 = min(g for g, _ in sp.cohorts)
        plain = not self.predictors and not self.outcome_lags
        if self.unit_scale == "unit" and not plain:
            raise SpecError("The 'unit_scale' parameter of SyntheticControl can be 'unit' only when matching "
                            "on pre-period outcomes (no predictors or outcome_lags). Got 'unit' with predictors.")
        if self.unit_scale == "none" or not plain:
            return np.ones(N), "levels (unit_scale='none')" if plain else "levels (predictors given)"
        s = unit_scales(Y, g0)
        if self.unit_scale == "unit":
            if not np.all(np.isfinite(s)):
                bad = sp.units[~np.isfinite(s)]
                raise DataError(f"unit_scale='unit' needs a non-zero pre-period mean for every unit; "
                                f"{len(bad)} unit(s) have none (e.g. {bad[:3].tolist()}). Use unit_scale='none'.")
            return s, "each unit's pre-period mean (unit_scale='unit')"
        if not (np.all(np.isfinite(s)) and (Y[:, :g0] > 0).all()):
            return np.ones(N), "levels (the outcome is not positive, so unit scales are not defined)"
        hetero, sd = scales_heterogeneous(s)
        donors = sp.controls
        rows = np.concatenate([r for _, r in sp.cohorts])
        tr = Y[rows, :g0].mean(axis=0)
        outside = float(np.mean((tr > Y[donors, :g0].max(axis=0)) | (tr < Y[donors, :g0].min(axis=0))))
        if hetero:
            return s, (f"each unit's pre-period mean (unit_scale='auto': unit sizes are heterogeneous, SD of "
                       f"log pre-period means {sd:.2f} > 0.5)")
        if outside > HULL_SWITCH:
            return s, (f"each unit's pre-period mean (unit_scale='auto': the treated mean lies outside the "
                       f"donors' range on {outside:.0%} of pre-periods, so no convex combination of levels "
                       "can match it)")
        return np.ones(N), (f"levels (unit_scale='auto': unit sizes are homogeneous, SD of log pre-period "
                            f"means {sd:.2f} <= 0.5, and the treated lie within the donors' range)")

    def _design(self, sp, data, spec, g, Ym):
        preds = list(self.predictors or [])
        lags = list(self.outcome_lags or [])
        if not preds and not lags:
            X = Ym[:, :g].T.copy()
            labels = [f"{spec.outcome} ({t})" for t in sp.times[:g]]
        else:
            cols = sorted({p["column"] for p in preds if isinstance(p, dict) and "column" in p} - {spec.outcome})
            covs = {}
            if cols:
                extra = raw_frame(data, sp.prepared, cols)
                f = sp.prepared.frame
                ui = np.searchsorted(sp.units, f[spec.unit].to_numpy())
                ti = np.searchsorted(sp.times, f[spec.time].to_numpy())
                for c in cols:
                    M = np.full(sp.Y.shape, np.nan)
                    M[ui, ti] = pd.to_numeric(extra[c], errors="coerce").to_numpy(dtype=float)
                    covs[c] = M
            X, labels = predictor_matrix(sp.panel, covs, preds, lags, g, spec.outcome)
        Xs = _scale(X) if self.standardize else X
        nested = self.v == "nested" or (self.v == "auto" and bool(preds))
        return X, Xs, labels, nested

    def _weights(self, Xs, Z, target, donors, nested, seed):
        if nested:
            v = nested_v(Xs, Z, target, donors, max_iter=self.max_iter_v)
        else:
            v = np.full(Xs.shape[0], 1.0 / Xs.shape[0])
        sv = np.sqrt(v)
        return simplex_weights(sv[:, None] * Xs[:, donors], sv * Xs[:, target]), v

    # ------------------------------------------------------------------ fit
    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Estimate the ATT of ``spec`` on ``data``; see the class docstring."""
        self._check()
        seed = spec.seed if self.seed is None else self.seed
        sp = load_synth_panel(data, spec, "SyntheticControl")
        Y, donors, T = sp.Y, sp.controls, sp.panel.n_periods
        scales, scale_why = self._scales(sp)
        scaled = not np.all(scales == 1.0)
        Ym = Y / scales[:, None]  # the panel the weights are fitted on
        cohort_res = []
        for g, rows in sp.cohorts:
            X, Xs, labels, nested = self._design(sp, data, spec, g, Ym)
            Z = Ym[:, :g].T
            W, V = [], []
            for r in rows:
                w, v = self._weights(Xs, Z, r, donors, nested, seed)
                W.append(w)
                V.append(v)
            W = np.vstack(W)
            gaps = Y[rows] - scales[rows, None] * (W @ Ym[donors])
            cohort_res.append(dict(g=g, rows=rows, W=W, V=np.vstack(V), gaps=gaps, X=X, Xs=Xs,
                                   labels=labels, nested=nested, Z=Z, Ym=Ym, scales=scales))
        cw = np.array([len(c["rows"]) * (T - c["g"]) for c in cohort_res], dtype=float)
        cw /= cw.sum()
        tau = float(sum(w * c["gaps"][:, c["g"]:].mean() for w, c in zip(cw, cohort_res)))
        placebo = self._placebo(sp, cohort_res, cw, seed, Ym, scales)
        n_treated = int(sum(len(c["rows"]) for c in cohort_res))
        conformal = None
        if self.inference == "conformal":
            from ._synth_conformal import conformal_readout

            conformal = conformal_readout(Y, scales, cohort_res, donors, sp.times, tau, spec.alpha)
            se, ci, p, how = conformal["se"], conformal["ci"], conformal["p_value"], conformal["inference"]
            placebo_kind = "conformal"
        elif len(cohort_res) == 1 and n_treated == 1 and not scaled:
            se = float(np.std(placebo["effects"]))
            ci, _ = normal_ci(tau, se, spec.alpha)
            p = placebo["p_value"]
            how = (f"in-space placebo test over {len(sp.controls)} donors (the treated unit left out of the "
                   "placebo donor pools; Abadie, Diamond & Hainmueller 2010): p-value from the rank of the "
                   "post/pre RMSPE ratio; SE = SD of the placebo effects; normal CI")
            placebo_kind = "in_space"
        elif n_treated > 1:
            a, b = self._permutation(sp, cohort_res, cw, seed, Ym, scales)
            pi = permutation_interval(tau, a, b, spec.alpha)
            se, ci, p = pi["se"], (pi["ci_low"], pi["ci_high"]), pi["p_value"]
            placebo = {**placebo, "effects": a, "p_value": p, "rank": int(round(p * (len(a) + 1))),
                       "n": len(a) + 1}
            how = (f"randomisation inference over {len(a)} re-assignments of the treatment to {n_treated} units "
                   "drawn from all units (the treated included; each fitted on the units left, as many donors "
                   "as the treated had), the estimator re-run on each: p-value of the sharp null from the rank "
                   "of |estimate|; CI = every constant effect the same test does not reject (test inversion); "
                   "SE = CI width / (2 z), the SE the interval implies")
            placebo_kind = "permutation"
        else:
            effects = self._set_placebo(sp, cohort_res, cw, seed, Ym, scales)
            pi = placebo_interval(tau, effects, spec.alpha)
            se, ci, p = pi["se"], (pi["ci_low"], pi["ci_high"]), pi["p_value"]
            placebo = {**placebo, "effects": effects, "p_value": p,
                       "rank": int(round(p * (len(effects) + 1))), "n": len(effects) + 1}
            how = (f"set placebo over {len(effects)} replicates: each re-assigns the whole treated set "
                   f"({n_treated} unit(s)) to randomly drawn donors, fits each on the remaining donors and "
                   "averages their gaps as the estimator does"
                   + (", each pseudo-treated gap scaled to the treated unit it stands in for" if scaled else "")
                   + "; " + interval_text(str(pi["kind"]), spec.alpha))
            placebo_kind = "set"
        how += f"; units matched on {scale_why}"
        treated_post = float(sum(w * Y[c["rows"]][:, c["g"]:].mean() for w, c in zip(cw, cohort_res)))
        baseline = treated_post - tau
        details, business = business_numbers(tau, ci, baseline, sp.exposure)
        c0 = cohort_res[0]
        w_mean = c0["W"].mean(axis=0)
        pre_gap = c0["gaps"][:, : c0["g"]].mean(axis=0)
        details.update(
            pre_mspe=float(np.mean(pre_gap**2)), pre_rmspe=float(np.sqrt(np.mean(pre_gap**2))),
            rmspe_ratio=placebo["ratio"], rank=placebo["rank"], n_placebos=placebo["n"],
            effective_donors=effective_n(w_mean), v_method="nested" if c0["nested"] else "identity",
            n_cohorts=len(cohort_res), n_treated=n_treated,
            unit_scale="unit" if scaled else "none", unit_scale_reason=scale_why, placebo=placebo_kind,
            placebo_sd=float(np.std(placebo["effects"])),
        )
        diagnostics, extra_tables = self._diagnostics(sp, cohort_res, tau, placebo, seed)
        tables = {**self._tables(sp, cohort_res, placebo), **extra_tables, "business": business}
        if conformal is not None:
            tables["conformal_intervals"] = conformal["table"]
        return EffectEstimate(
            method="synthetic_control", design=spec.design, estimand="ATT", estimate=tau, se=se,
            ci=ci, p_value=p, alpha=spec.alpha, n_obs=int(Y.size), n_units=int(Y.shape[0]),
            n_dropped=sp.prepared.n_dropped, dropped_reasons=sp.prepared.dropped_reasons,
            diagnostics=diagnostics, tables=tables,
            lineage=make_lineage(spec, sp.prepared.fingerprint, seed),
            inference=how,
            outcome=spec.outcome, baseline=baseline, exposure=sp.exposure, details=details,
            label="Synthetic control",
        )

    # ------------------------------------------------------------------ placebo
    def _permutation(self, sp, cohort_res, cw, seed, Ym, scales) -> tuple[np.ndarray, np.ndarray]:
        donors = sp.controls
        a_all, b_all, k_all = 0.0, 0.0, 0.0
        for k, (w, c) in enumerate(zip(cw, cohort_res)):
            rows = c["rows"]
            k_all += w * float(scales[rows].mean())
            universe = np.concatenate([donors, rows])
            n, n1 = len(universe), len(rows)
            if n - n1 < 2:
                raise IdentificationError(
                    f"randomisation inference for SyntheticControl needs at least 2 donors besides the {n1} "
                    f"treated units of the cohort adopting at {sp.times[c['g']]!r}; add donors.")
            draws = placebo_draws(n, n1, self.n_reps, None if seed is None else seed + k)
            X = c["Xs"] * np.sqrt(c["V"].mean(axis=0))[:, None]
            treated = np.r_[np.zeros(len(donors), dtype=bool), np.ones(n1, dtype=bool)]
            a, b = sc_permutation_draws(X, Ym, universe, treated, c["g"], draws,
                                        scales=None if np.all(scales == 1.0) else scales)
            a_all, b_all = a_all + w * a, b_all + w * b
        scaled = not np.all(scales == 1.0)
        return np.asarray(a_all, dtype=float), np.asarray(b_all, dtype=float) / (k_all if scaled else 1.0)

    def _set_placebo(self, sp, cohort_res, cw, seed, Ym, scales) -> np.ndarray:
        donors = sp.controls
        n0 = len(donors)
        single = len(cohort_res) == 1 and len(cohort_res[0]["rows"]) == 1
        out = 0.0
        for k, (w, c) in enumerate(zip(cw, cohort_res)):
            n1 = len(c["rows"])
            if n0 <= n1:
                raise IdentificationError(
                    f"the set placebo of SyntheticControl needs more donors ({n0} never-treated units in "
                    f"spec.unit) than treated units in a cohort ({n1} adopt at {sp.times[c['g']]!r}); add "
                    "donors or use design='sdid' with se_method='bootstrap'."
                )
            draws = placebo_draws(n0, n1, self.n_reps, None if seed is None else seed + k, single)
            X = c["Xs"] * np.sqrt(c["V"].mean(axis=0))[:, None]
            out = out + w * sc_set_placebo_effects(X, Ym, donors, c["g"], draws,
                                                   treated_scale=scales[c["rows"]])
        return np.asarray(out, dtype=float)

    def _placebo(self, sp, cohort_res, cw, seed, Ym, scales) -> dict[str, Any]:
        Y, donors = Ym, sp.controls
        per_cohort = []
        all_gaps = []
        for c in cohort_res:
            g = c["g"]
            if c["nested"] and self.placebo_refit_v:
                def refit(j, c=c):
                    pool = np.delete(donors, j)
                    full = np.zeros(len(donors))
                    full[np.arange(len(donors)) != j] = self._weights(
                        c["Xs"], c["Z"], donors[j], pool, True, seed)[0]
                    return full
                gaps, _ = sc_placebo_gaps(c["Xs"], Y, donors, weights_fn=refit)
            elif c["nested"]:
                sv = np.sqrt(c["V"].mean(axis=0))
                gaps, _ = sc_placebo_gaps(sv[:, None] * c["Xs"], Y, donors)
            else:
                gaps, _ = sc_placebo_gaps(c["Xs"] / np.sqrt(c["Xs"].shape[0]), Y, donors)
            gaps = gaps * scales[donors, None]  # back to each donor's own level
            per_cohort.append(gaps[:, g:].mean(axis=1))
            all_gaps.append((g, gaps))
        effects = per_cohort[0]
        c0 = cohort_res[0]
        g0, gaps0 = all_gaps[0]
        stack = np.vstack([c0["gaps"].mean(axis=0, keepdims=True), gaps0])
        test = rmspe_ratio_test(stack, g0, treated=0)
        rank, p = test["rank"], test["p_value"]
        return {"effects": effects, "unit_effects": per_cohort[0], "gaps": gaps0, "g": g0,
                "ratio": float(test["ratio"][0]),
                "ratios": test["ratio"], "pre_rmspe": test["pre_rmspe"], "rank": rank,
                "p_value": float(p), "n": len(effects) + 1}

    # ------------------------------------------------------------------ output
    def _tables(self, sp, cohort_res, placebo) -> dict[str, pd.DataFrame]:
        Y, donors, times, units = sp.Y, sp.controls, sp.times, sp.units
        weights, traj = [], []
        for c in cohort_res:
            cohort = str(times[c["g"]])
            weights.append(pd.DataFrame({"unit": units[donors].astype(str), "weight": c["W"].mean(axis=0),
                                         "cohort": cohort}))
            tr = Y[c["rows"]].mean(axis=0)
            synth = tr - c["gaps"].mean(axis=0)
            traj.append(pd.DataFrame({"time": times, "treated": tr, "synthetic": synth, "gap": tr - synth,
                                      "post": np.arange(len(times)) >= c["g"], "cohort": cohort}))
        g0 = placebo["gaps"]
        spaghetti = pd.DataFrame({
            "unit": np.repeat(units[donors].astype(str), len(times)),
            "time": np.tile(times, len(donors)),
            "gap": g0.ravel(),
            "pre_rmspe": np.repeat(placebo["pre_rmspe"][1:], len(times)),
        })
        ranks = pd.DataFrame({
            "unit": np.concatenate([["(treated)"], units[donors].astype(str)]),
            "rmspe_ratio": placebo["ratios"], "pre_rmspe": placebo["pre_rmspe"],
            "effect": np.concatenate([[np.nan], placebo["unit_effects"]]),
        })
        c0 = cohort_res[0]
        preds = pd.DataFrame({"predictor": c0["labels"], "treated": c0["X"][:, c0["rows"]].mean(axis=1),
                              "synthetic": c0["X"][:, donors] @ c0["W"].mean(axis=0),
                              "donor_mean": c0["X"][:, donors].mean(axis=1),
                              "v_weight": c0["V"].mean(axis=0)})
        return {
            "weights": pd.concat(weights, ignore_index=True).sort_values(
                ["cohort", "weight"], ascending=[True, False], ignore_index=True),
            "trajectories": pd.concat(traj, ignore_index=True),
            "placebo_gaps": spaghetti,
            "placebo_ranks": ranks,
            "predictor_balance": preds,
        }

    def _diagnostics(self, sp, cohort_res, tau, placebo, seed):
        Y, donors = sp.Y, sp.controls
        c0 = cohort_res[0]
        g, rows, W = c0["g"], c0["rows"], c0["W"]
        tr_pre = Y[rows, :g].mean(axis=0)
        pre_gap = c0["gaps"][:, :g].mean(axis=0)
        rmspe = float(np.sqrt(np.mean(pre_gap**2)))
        scale = float(np.std(tr_pre)) or 1.0
        diags = [Diagnostic(
            "pre_period_fit", "pass" if rmspe <= 0.25 * scale else "warn",
            f"Pre-period RMSPE is {rmspe:.3g} ({rmspe / scale:.0%} of the treated series' variation)"
            + (": the synthetic control does not track the treated unit; consider augmented_sc or "
               "sdid." if rmspe > 0.25 * scale else "."),
            statistic=rmspe, threshold=0.25 * scale, assumption="fit")]
        Xd = c0["X"][:, donors]
        x1 = c0["X"][:, rows]
        outside = float(np.mean((x1 > Xd.max(axis=1, keepdims=True)) | (x1 < Xd.min(axis=1, keepdims=True))))
        diags.append(Diagnostic(
            "convex_hull", "pass" if outside == 0 else "warn",
            "The treated unit lies inside the donors' range on every matched quantity."
            if outside == 0 else
            f"The treated unit lies outside the donors' range on {outside:.0%} of the matched "
            "quantities, so no convex combination can match it; use augmented_sc or sdid.",
            statistic=outside, threshold=0.0, assumption="overlap"))
        n_eff = effective_n(W.mean(axis=0))
        diags.append(Diagnostic(
            "effective_donors", "pass" if n_eff >= 2 else "warn",
            f"The weights spread over an effective {n_eff:.1f} donors"
            + (" (one donor dominates the counterfactual)." if n_eff < 2 else "."),
            statistic=n_eff, threshold=2.0, assumption="overlap"))
        diags.append(Diagnostic(
            "placebo_rank", "pass" if placebo["p_value"] <= 0.1 else "warn",
            f"The treated estimate ranks {placebo['rank']} of {placebo['n']} in the in-space placebo test "
            f"(permutation p = {placebo['p_value']:.3f}).",
            statistic=placebo["ratio"], p_value=placebo["p_value"], assumption="inference"))
        # leave-one-donor-out, on the matching set of the first cohort with its V
        sv = np.sqrt(c0["V"].mean(axis=0))
        used = np.flatnonzero(W.mean(axis=0) > 1e-6)
        loo_rows = []
        for j in used:
            pool = np.delete(np.arange(len(donors)), j)
            Wj = simplex_weights(sv[:, None] * c0["Xs"][:, donors[pool]], (sv[:, None] * c0["Xs"][:, rows]).T)
            Ym, sc = c0["Ym"], c0["scales"]
            gaps = Y[rows] - sc[rows, None] * (np.atleast_2d(Wj) @ Ym[donors[pool]])
            loo_rows.append((str(sp.units[donors[j]]), float(gaps[:, g:].mean())))
        loo = pd.DataFrame(loo_rows, columns=["dropped_unit", "estimate"])
        if len(loo):
            lo, hi = loo["estimate"].min(), loo["estimate"].max()
            flips = bool(((loo["estimate"] > 0) != (tau > 0)).any())
            diags.append(Diagnostic(
                "leave_one_out", "warn" if flips else "pass",
                f"Dropping each of the {len(loo)} weighted donors moves the estimate between "
                f"{lo:.3g} and {hi:.3g}" + ("; the sign flips, so the result hinges on one donor."
                                            if flips else "."),
                statistic=float(hi - lo), assumption="sensitivity"))
        in_time = self._in_time(sp, c0, tau)
        diags.append(in_time[0])
        return tuple(diags), {"leave_one_out": loo, "in_time_placebo": in_time[1]}

    def _in_time(self, sp, c0, tau):
        Y, donors, times, g, rows = sp.Y, sp.controls, sp.times, c0["g"], c0["rows"]
        if self.in_time_placebo is None:
            return Diagnostic("in_time_placebo", "not_applicable", "The in-time placebo was switched off.",
                              assumption="sensitivity"), pd.DataFrame({"time": [], "gap": []})
        if self.in_time_placebo == "auto":
            k = g - max(1, g // 3)
        else:
            hits = np.flatnonzero(times == self.in_time_placebo)
            if len(hits) == 0 or hits[0] >= g:
                raise SpecError(f"The 'in_time_placebo' parameter of SyntheticControl must be a "
                                f"pre-period of the data. Got {self.in_time_placebo!r} instead.")
            k = int(hits[0])
        if k < 2:
            return Diagnostic("in_time_placebo", "not_applicable",
                              "Too few pre-periods for an in-time placebo.",
                              assumption="sensitivity"), pd.DataFrame({"time": [], "gap": []})
        Ym, sc = c0["Ym"], c0["scales"]
        W = simplex_weights(Ym[donors, :k].T, Ym[rows, :k])
        gaps = (Y[rows, :g] - sc[rows, None] * (np.atleast_2d(W) @ Ym[donors, :g])).mean(axis=0)
        fake = float(gaps[k:].mean())
        pre_rmspe = float(np.sqrt(np.mean(gaps[:k] ** 2)))
        bound = max(0.5 * abs(tau), 2 * pre_rmspe)
        status = "pass" if abs(fake) <= bound else "warn"
        msg = (f"Pretending adoption at {times[k]} gives a placebo effect of {fake:.3g} before the real "
               f"adoption" + (", small next to the estimate." if status == "pass" else
                              ", a large effect where none should be: the fit may not extrapolate."))
        return (Diagnostic("in_time_placebo", status, msg, statistic=fake, threshold=bound,
                           assumption="sensitivity"),
                pd.DataFrame({"time": times[:g], "gap": gaps, "fake_post": np.arange(g) >= k}))

