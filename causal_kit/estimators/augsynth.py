"""Ridge-augmented synthetic control (Ben-Michael, Feller & Rothstein 2021).

When the synthetic control cannot reproduce the treated unit's pre-period (it lies outside
the donors' convex hull), its counterfactual is biased. The augmented SC corrects it with a
ridge regression of outcomes on pre-period outcomes across donors: the imbalance left by the
SC weights is projected forward with the ridge coefficients. Equivalently the weights become
``w_sc + ridge adjustment`` and may be negative (extrapolation, penalised by ``lambda``).

``lambda`` is chosen by time-series hold-out cross-validation on the last pre-periods: each
held-out period is predicted from the periods before it, and the grid value with the lowest
mean squared error, or the largest within one standard error of it, is kept (the R package
augsynth also uses a one-standard-error rule; its folds differ, so values differ slightly). Inference is by in-space
placebos, as for synthetic control.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import IdentificationError, SpecError
from ..inference.basic import normal_ci
from ..inference.placebo import interval_text, placebo_draws, placebo_interval, rmspe_ratio_test
from ..result import Diagnostic, EffectEstimate, make_lineage
from ..solvers.simplex import simplex_weights
from ._synth_common import business_numbers, check_float, check_int, effective_n, load_synth_panel

__all__ = ["AugmentedSyntheticControl", "ridge_ascm_weights"]


def ridge_ascm_weights(Y0_pre: np.ndarray, y1_pre: np.ndarray, ridge: float,
                       w_sc: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ridge-augmented SC weights for one treated unit.

    Parameters
    ----------
    Y0_pre : (N0, T0) array of donor pre-period outcomes.
    y1_pre : (T0,) array of the treated unit's pre-period outcomes.
    ridge : float, the ridge penalty ``lambda`` (``inf`` gives plain SC).
    w_sc : (N0,) array, optional, the SC weights (computed when omitted).

    Returns
    -------
    gamma : (N0,) augmented weights (sum to one, may be negative)
    w_sc : (N0,) the underlying simplex weights

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Y0 = rng.normal(size=(6, 5)); y1 = Y0.max(axis=0) + 1.0
    >>> g, w = ridge_ascm_weights(Y0, y1, ridge=1.0)
    >>> bool(np.isclose(g.sum(), 1.0))
    True
    """
    if w_sc is None:
        w_sc = simplex_weights(Y0_pre.T, y1_pre)
    if not np.isfinite(ridge):
        return w_sc.copy(), w_sc
    mean = Y0_pre.mean(axis=0)
    Xc = Y0_pre - mean
    imbalance = (y1_pre - mean) - Xc.T @ w_sc
    T0 = Xc.shape[1]
    adj = Xc @ np.linalg.solve(Xc.T @ Xc + ridge * np.eye(T0), imbalance)
    return w_sc + adj, w_sc


class AugmentedSyntheticControl:
    """Ridge-augmented synthetic control with cross-validated penalty and placebo inference.

    Parameters
    ----------
    ridge_lambda : float, optional
        Ridge penalty; by default chosen by hold-out cross-validation over ``n_lambda``
        values from ``s_max^2`` down to ``s_max^2 * 1e-8`` (``s_max``: largest singular
        value of the centred donor pre-period matrix).
    n_lambda : int
        Size of the penalty grid.
    cv_periods : int, optional
        Number of final pre-periods held out one at a time (default ``max(1, T0 // 4)``).
    n_reps : int
        Placebo replicates when a cohort has several treated units.
    seed : int, optional
        Recorded in the lineage (every step here is deterministic).

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.estimators.augsynth import AugmentedSyntheticControl
    >>> spec = ck.ExperimentSpec(name="prop99", design="synthetic_control",
    ...     outcome="PacksPerCapita", treatment="treated", unit="State", time="Year")
    >>> res = AugmentedSyntheticControl().fit(ck.datasets.load("california_prop99"), spec)
    >>> res.method
    'augmented_sc'
    """

    def __init__(self, *, ridge_lambda: float | None = None, n_lambda: int = 20,
                 cv_periods: int | None = None, n_reps: int = 200, seed: int | None = None) -> None:
        self.ridge_lambda = ridge_lambda
        self.n_lambda = n_lambda
        self.cv_periods = cv_periods
        self.n_reps = n_reps
        self.seed = seed

    def _lambda(self, Y0_pre: np.ndarray, y1_pre: np.ndarray) -> tuple[float, pd.DataFrame]:
        if self.ridge_lambda is not None:
            return float(self.ridge_lambda), pd.DataFrame(
                {"lambda": [float(self.ridge_lambda)], "cv_mse": [np.nan], "cv_se": [np.nan]})
        T0 = Y0_pre.shape[1]
        s_max = np.linalg.svd(Y0_pre - Y0_pre.mean(axis=0), compute_uv=False)[0]
        if not s_max > 1e-12 * max(1.0, float(np.abs(Y0_pre).max())):
            raise IdentificationError(
                "the donors' pre-period outcomes do not vary across donors, so the ridge augmentation "
                "has nothing to fit; check spec.outcome, or use synthetic_control or sdid."
            )
        grid = s_max**2 * 10.0 ** np.linspace(0, -8, self.n_lambda)
        h = self.cv_periods or max(1, T0 // 4)
        h = min(h, T0 - 2)
        if h < 1:
            return float(grid[0]), pd.DataFrame({"lambda": grid[:1], "cv_mse": [np.nan], "cv_se": [np.nan]})
        sq = np.zeros((h, len(grid)))
        for f, t in enumerate(range(T0 - h, T0)):
            w = simplex_weights(Y0_pre[:, :t].T, y1_pre[:t])
            for k, lam in enumerate(grid):
                g, _ = ridge_ascm_weights(Y0_pre[:, :t], y1_pre[:t], lam, w)
                sq[f, k] = (y1_pre[t] - g @ Y0_pre[:, t]) ** 2
        errs = sq.mean(axis=0)
        se = sq.std(axis=0, ddof=1) / np.sqrt(h) if h > 1 else np.zeros(len(grid))
        best = int(np.argmin(errs))
        # one-standard-error rule (as augsynth's default): the largest penalty within one SE
        ok = np.flatnonzero(errs <= errs[best] + se[best])
        chosen = int(ok.min())  # grid is decreasing, so the first index is the largest lambda
        return float(grid[chosen]), pd.DataFrame({"lambda": grid, "cv_mse": errs, "cv_se": se})

    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Estimate the ATT of ``spec`` on ``data``; see the class docstring."""
        check_float(self.ridge_lambda, "ridge_lambda", "AugmentedSyntheticControl", allow_none=True)
        check_int(self.n_lambda, "n_lambda", "AugmentedSyntheticControl")
        check_int(self.n_reps, "n_reps", "AugmentedSyntheticControl", minimum=2)
        if self.cv_periods is not None:
            check_int(self.cv_periods, "cv_periods", "AugmentedSyntheticControl")
        if self.ridge_lambda is not None and self.ridge_lambda <= 0:
            raise SpecError("The 'ridge_lambda' parameter of AugmentedSyntheticControl must be a "
                            f"float > 0 or None. Got {self.ridge_lambda!r} instead.")
        seed = spec.seed if self.seed is None else self.seed
        sp = load_synth_panel(data, spec, "AugmentedSyntheticControl")
        Y, donors, T = sp.Y, sp.controls, sp.panel.n_periods
        res = []
        for g, rows in sp.cohorts:
            Y0_pre = Y[donors, :g]
            y1 = Y[rows].mean(axis=0)
            lam, cv = self._lambda(Y0_pre, y1[:g])
            G, Wsc = [], []
            for r in rows:
                gam, w = ridge_ascm_weights(Y0_pre, Y[r, :g], lam)
                G.append(gam)
                Wsc.append(w)
            G, Wsc = np.vstack(G), np.vstack(Wsc)
            gaps = Y[rows] - G @ Y[donors]
            res.append(dict(g=g, rows=rows, G=G, W=Wsc, gaps=gaps, lam=lam, cv=cv))
        cw = np.array([len(c["rows"]) * (T - c["g"]) for c in res], dtype=float)
        cw /= cw.sum()
        tau = float(sum(w * c["gaps"][:, c["g"]:].mean() for w, c in zip(cw, res)))
        # in-space placebos: each donor plays the treated unit, treated units left out
        per_cohort = []
        for c in res:
            g = c["g"]
            pg = np.zeros((len(donors), T))
            for j in range(len(donors)):
                pool = np.delete(donors, j)
                gam, _ = ridge_ascm_weights(Y[pool, :g], Y[donors[j], :g], c["lam"])
                pg[j] = Y[donors[j]] - gam @ Y[pool]
            per_cohort.append(pg[:, g:].mean(axis=1))
            if c is res[0]:
                gaps0 = pg
        sizes = [len(c["rows"]) for c in res]
        c0 = res[0]
        test = rmspe_ratio_test(np.vstack([c0["gaps"].mean(axis=0, keepdims=True), gaps0]), c0["g"])
        if len(res) > 1 or max(sizes) > 1:
            # several treated units: re-assign the whole treated set (see SyntheticControl)
            effects = self._set_placebo(Y, donors, res, cw, seed)
            pi = placebo_interval(tau, effects, spec.alpha)
            se, ci, p = pi["se"], (pi["ci_low"], pi["ci_high"]), pi["p_value"]
            rank = int(round(p * (len(effects) + 1)))
            how = (f"set placebo over {len(effects)} replicates: each re-assigns the whole treated set to "
                   "randomly drawn donors, refits the ridge-augmented weights on the remaining donors and "
                   "averages their gaps; " + interval_text(str(pi["kind"]), spec.alpha))
        else:
            effects = per_cohort[0]
            rank, p = test["rank"], test["p_value"]
            se = float(np.std(effects))
            ci, _ = normal_ci(tau, se, spec.alpha)
            how = (f"in-space placebo test over {len(donors)} donors: p-value from the rank of the post/pre "
                   "RMSPE ratio; SE = SD of the placebo effects; normal CI")
        treated_post = float(sum(w * Y[c["rows"]][:, c["g"]:].mean() for w, c in zip(cw, res)))
        baseline = treated_post - tau
        details, business = business_numbers(tau, ci, baseline, sp.exposure)
        gam0 = c0["G"].mean(axis=0)
        pre_gap = c0["gaps"][:, : c0["g"]].mean(axis=0)
        sc_pre_gap = (Y[c0["rows"], : c0["g"]] - c0["W"] @ Y[donors, : c0["g"]]).mean(axis=0)
        rmspe, sc_rmspe = float(np.sqrt(np.mean(pre_gap**2))), float(np.sqrt(np.mean(sc_pre_gap**2)))
        details.update(ridge_lambda=c0["lam"], pre_rmspe=rmspe, sc_pre_rmspe=sc_rmspe, rank=rank,
                       n_placebos=len(effects) + 1, effective_donors=effective_n(np.abs(gam0)),
                       negative_weight_share=float(-gam0[gam0 < 0].sum()))
        tables = self._tables(sp, res, gaps0, test, per_cohort[0])
        tables["business"] = business
        tables["ridge_cv"] = c0["cv"]
        neg = float(-gam0[gam0 < 0].sum())
        diags = (
            Diagnostic("pre_period_fit", "pass" if rmspe <= sc_rmspe + 1e-12 else "warn",
                       f"Augmentation moves the pre-period RMSPE from {sc_rmspe:.3g} (SC) to {rmspe:.3g}.",
                       statistic=rmspe, threshold=sc_rmspe, assumption="fit"),
            Diagnostic("extrapolation", "pass" if neg <= 0.25 else "warn",
                       f"Negative weights total {neg:.2f}"
                       + ("; the fit extrapolates well beyond the donors, raise ridge_lambda or "
                          "check the donor pool." if neg > 0.25 else ", modest extrapolation."),
                       statistic=neg, threshold=0.25, assumption="overlap"),
            Diagnostic("placebo_rank", "pass" if p <= 0.1 else "warn",
                       f"The treated unit ranks {rank} of {len(effects) + 1} in the in-space placebo "
                       f"test (permutation p = {p:.3f}).",
                       statistic=float(test["ratio"][0]), p_value=float(p), assumption="inference"),
        )
        return EffectEstimate(
            method="augmented_sc", design=spec.design, estimand="ATT", estimate=tau, se=se, ci=ci,
            p_value=float(p), alpha=spec.alpha, n_obs=int(Y.size), n_units=int(Y.shape[0]),
            n_dropped=sp.prepared.n_dropped, dropped_reasons=sp.prepared.dropped_reasons,
            diagnostics=diags, tables=tables, lineage=make_lineage(spec, sp.prepared.fingerprint, seed),
            inference=how + " (placebo fits keep the treated fit's ridge penalty)",
            outcome=spec.outcome, baseline=baseline, exposure=sp.exposure, details=details,
            label="Augmented synthetic control (ridge)",
        )

    def _set_placebo(self, Y, donors, res, cw, seed) -> np.ndarray:
        n0 = len(donors)
        out = np.zeros(self.n_reps)
        for k, (w, c) in enumerate(zip(cw, res)):
            n1, g = len(c["rows"]), c["g"]
            if n0 <= n1:
                raise IdentificationError(
                    f"the set placebo of AugmentedSyntheticControl needs more donors ({n0}) than treated units "
                    f"in a cohort ({n1}); add donors or use design='sdid' with se_method='bootstrap'.")
            draws = placebo_draws(n0, n1, self.n_reps, None if seed is None else seed + k)
            # the simplex (SC) part of every placebo fit in one batched solve
            mask = np.ones((len(draws), n0), dtype=bool)
            mask[np.arange(len(draws))[:, None], draws] = False
            X = Y[donors, :g].T
            W = simplex_weights(X, X[:, draws.ravel()].T, mask=np.repeat(mask, n1, axis=0))
            for b, d in enumerate(draws):
                keep = np.flatnonzero(mask[b])
                pool = donors[keep]
                gaps = [(Y[donors[j], g:] - ridge_ascm_weights(Y[pool, :g], Y[donors[j], :g], c["lam"],
                                                               W[b * n1 + i, keep])[0] @ Y[pool, g:]).mean()
                        for i, j in enumerate(d)]
                out[b] += w * float(np.mean(gaps))
        return out

    def _tables(self, sp, res, gaps0, test, effects) -> dict[str, pd.DataFrame]:
        Y, donors, times, units = sp.Y, sp.controls, sp.times, sp.units
        weights, traj = [], []
        for c in res:
            cohort = str(times[c["g"]])
            weights.append(pd.DataFrame({"unit": units[donors].astype(str), "weight": c["G"].mean(axis=0),
                                         "sc_weight": c["W"].mean(axis=0), "cohort": cohort}))
            tr = Y[c["rows"]].mean(axis=0)
            gap = c["gaps"].mean(axis=0)
            traj.append(pd.DataFrame({"time": times, "treated": tr, "synthetic": tr - gap, "gap": gap,
                                      "post": np.arange(len(times)) >= c["g"], "cohort": cohort}))
        return {
            "weights": pd.concat(weights, ignore_index=True).sort_values(
                ["cohort", "weight"], ascending=[True, False], ignore_index=True),
            "trajectories": pd.concat(traj, ignore_index=True),
            "placebo_gaps": pd.DataFrame({
                "unit": np.repeat(units[donors].astype(str), len(times)),
                "time": np.tile(times, len(donors)), "gap": gaps0.ravel(),
                "pre_rmspe": np.repeat(test["pre_rmspe"][1:], len(times))}),
            "placebo_ranks": pd.DataFrame({
                "unit": np.concatenate([["(treated)"], units[donors].astype(str)]),
                "rmspe_ratio": test["ratio"], "pre_rmspe": test["pre_rmspe"],
                "effect": np.concatenate([[np.nan], effects])}),
        }
