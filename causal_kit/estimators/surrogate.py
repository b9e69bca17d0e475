"""The surrogate index: long-term effects from a short experiment (``design: surrogate``).

Athey, Chetty, Imbens and Kang (2019/2024), "The Surrogate Index". An observational sample
that holds short-term surrogates ``S`` (and pre-treatment covariates ``X``) together with the
long-term outcome ``Y`` teaches a model of ``E[Y | S, X]``: the index. The index is predicted in
the experiment, where ``Y`` is not yet observed, and its treatment contrast (difference in
means, or Lin's regression adjustment on ``X``) estimates the long-term effect. It is valid when
(i) the surrogates carry the whole effect of the treatment on ``Y`` (surrogacy) and (ii) the
link from ``S`` to ``Y`` is the same in both samples (comparability).

Inference: the conventional SE treats the index as data (the paper's; shown in the
``inference`` table); the headline SE accounts for estimating the index, either by the
influence function of the two-sample estimator (default) or by a seeded bootstrap that
resamples both samples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._samples import Samples, split_samples
from .._typing import SurrogateAdjust, SurrogateSE, check_option, check_positive_int
from ..errors import SpecError
from ..inference.basic import normal_ci
from ..result import EffectEstimate, make_lineage
from ..spec import ExperimentSpec
from . import _surrogate_checks as checks
from . import _surrogate_core as core
from ._crossfit import make_folds, resolve_learner

__all__ = ["SurrogateIndex"]


def _W(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    return np.column_stack([np.ones(len(df)), df[cols].to_numpy(float)]) if cols else np.ones((len(df), 1))


class SurrogateIndex:
    """Surrogate-index estimate of a long-term treatment effect from two samples.

    Parameters
    ----------
    learner : "linear", "hgb", "forest" or a scikit-learn regressor, default "linear"
        The surrogate model of ``Y`` on surrogates and covariates. ``"linear"`` is OLS (the recipe
        of record, fit on the whole observational sample); any other learner is cross-fitted on
        ``n_folds`` folds: each fold model predicts its held-out rows (for the out-of-fold R² and the
        residuals) and a random 1/K of the experiment's rows, so the whole fit costs K learner fits.
    n_folds : int, default 5
        Folds for the out-of-fold R² (and for cross-fitting a learned index).
    adjust : {"difference", "lin"}, default "lin"
        Effect on the index: difference in means, or Lin's adjustment on ``spec.covariates``
        (the same as a difference in means when there are no covariates).
    se : {"influence", "bootstrap"}, default "influence"
        Headline SE accounting for the estimated index: the two-sample influence function or a
        bootstrap over both samples (OLS index only).
    n_boot : int, default 200
        Bootstrap draws when ``se="bootstrap"``.
    validation : bool or None, default None
        None uses the long-term outcome wherever the experiment has it (a validation cohort);
        False declares it absent (an error if present); True requires it.
    horizons : mapping, optional
        ``{horizon: column}`` long-term outcomes at several horizons (e.g. quarters), each
        projected with the same surrogates; the path feeds :func:`causal_kit.estimators.decay.fit_decay`.
    bias_k : tuple of float, default (0.01, 0.05)
        Shares of residual variance a surrogacy violation may explain, for the bias bounds.

    Examples
    --------
    >>> import causal_kit as ck
    >>> df = ck.datasets.load("gain_riverside")
    >>> emp = df.filter(like="emp")
    >>> df = df.assign(emp_mean36=emp.mean(axis=1))
    >>> spec = ck.ExperimentSpec(name="gain", design="surrogate", treatment="treatment",
    ...     surrogates=[f"emp{q}" for q in range(1, 7)], long_term_outcome="emp_mean36")
    >>> res = ck.estimate({"experiment": df, "observational": df[df.treatment == 1]}, spec)
    >>> round(res.estimate, 6)
    0.074823
    """

    def __init__(
        self, *, learner: Any = "linear", n_folds: int = 5, adjust: SurrogateAdjust = "lin",
        se: SurrogateSE = "influence", n_boot: int = 200, validation: bool | None = None,
        horizons: Mapping[Any, str] | None = None, bias_k: tuple[float, ...] = (0.01, 0.05),
    ) -> None:
        self.learner = learner
        self.n_folds = n_folds
        self.adjust = adjust
        self.se = se
        self.n_boot = n_boot
        self.validation = validation
        self.horizons = horizons
        self.bias_k = bias_k

    # ------------------------------------------------------------------ helpers
    def _check(self) -> None:
        check_option(self.adjust, SurrogateAdjust, "adjust", "SurrogateIndex")
        check_option(self.se, SurrogateSE, "se", "SurrogateIndex")
        check_positive_int(self.n_folds, "n_folds", "SurrogateIndex", minimum=2)
        check_positive_int(self.n_boot, "n_boot", "SurrogateIndex", minimum=20)
        if self.validation not in (None, True, False):
            raise SpecError(f"The 'validation' parameter of SurrogateIndex must be None, True or False. "
                            f"Got {self.validation!r} instead.")
        if any(not (0 < float(k) < 1) for k in self.bias_k):
            raise SpecError(f"The 'bias_k' parameter of SurrogateIndex must hold shares in (0, 1). "
                            f"Got {self.bias_k!r} instead.")
        if self.se == "bootstrap" and self.learner != "linear":
            raise SpecError("se='bootstrap' refits the OLS index in every draw; with a learned index use "
                            "se='influence' (or learner='linear').")

    def _index(self, d: _Design, idx: np.ndarray, y: np.ndarray, seed: int, learned: bool) -> dict[str, Any]:
        """Fit the surrogate model on the observational rows (columns ``idx``); the index in the experiment."""
        W_o = d.W_o[:, idx]
        cross = core.fold_cross(d.folds, y) if y is not d.y_obs else d.cross_obs
        WtW_inv = np.linalg.inv(d.folds.gram.sum(axis=0)[np.ix_(idx, idx)])
        beta = WtW_inv @ cross.sum(axis=0)[idx]
        resid = y - W_o @ beta
        out: dict[str, Any] = {"idx": idx, "W_o": W_o, "y": y, "beta": beta, "WtW_inv": WtW_inv}
        if not learned:
            out.update(resid=resid, oof=core.oof_from_folds(d.folds, y, cross, idx))
            return out
        learner = resolve_learner(self.learner, False, seed, "SurrogateIndex", "learner")
        S_o, S_e = d.W_o[:, idx[1:]], d.W_e[:, idx[1:]]
        # K fits, no extra full-sample fit. Each model predicts its held-out observational fold and a
        # random 1/K of the experiment rows (seeded, within arm): the experiment is predicted once in
        # total, so the cost stays at K fits. Experiment rows never train the model, so any fold model
        # gives them an honest index.
        rng = np.random.default_rng(seed + 2)
        share = np.empty(len(S_e), dtype=int)
        for arm in (0, 1):
            rows = np.flatnonzero(d.t == arm)
            share[rows] = rng.permutation(np.arange(len(rows)) % self.n_folds)
        oof, index = np.empty(len(y)), np.empty(len(S_e))
        for k in range(self.n_folds):
            m, e = d.folds.rows[k], share == k
            train = np.ones(len(y), dtype=bool)
            train[m] = False
            pred = learner.fit_predict(S_o[train], y[train], np.vstack([S_o[m], S_e[e]]))
            oof[m] = pred[: len(m)]
            index[e] = pred[len(m):]
        out.update(index=index, resid=y - oof, oof=oof, learner_name=learner.name)
        return out

    def _effect(self, d: _Design, fit: dict[str, Any]) -> dict[str, float]:
        """The effect on the index with its conditional and influence-function variances."""
        idx, st = fit["idx"], d.stats
        ix = np.ix_(idx, idx)
        if "index" in fit:  # learned index: per-row conditional variance
            tau = float(st.contrast.a @ fit["index"])
            cond = core.contrast_variance(st.contrast, fit["index"], d.clusters_exp)
            v_cls, v_rob = cond["classical"], cond["robust"]
        else:
            b = fit["beta"]
            tau = float(st.d[idx] @ b)
            v_cls, v_rob = float(b @ st.m_classical[ix] @ b), float(b @ st.m_robust[ix] @ b)
        v_obs = core.index_variance(st.d[idx], fit["W_o"], fit["WtW_inv"], fit["resid"], d.clusters_obs)
        return {"estimate": tau, "se_classical": math.sqrt(v_cls), "se_conditional": math.sqrt(v_rob),
                "se_influence": math.sqrt(v_rob + v_obs)}

    # ------------------------------------------------------------------ fit
    def fit(self, data: Any, spec: ExperimentSpec) -> EffectEstimate:
        """Estimate the long-term effect; see the class docstring for the options."""
        self._check()
        if spec.design != "surrogate" or spec.long_term_outcome is None or not spec.surrogates:
            raise SpecError("SurrogateIndex needs design 'surrogate' with spec.surrogates and spec.long_term_outcome.")
        horizons = dict(self.horizons or {})
        samples = split_samples(data, spec, extra_outcomes=list(horizons.values()), validation=self.validation)
        exp, obs = samples.experiment, samples.observational
        seed = spec.seed
        learned = self.learner != "linear"
        d = _design(samples, spec, self.adjust, self.n_folds, seed)
        n_s = len(spec.surrogates)
        full = np.arange(d.W_o.shape[1])
        fit = self._index(d, full, obs[spec.long_term_outcome].to_numpy(float), seed, learned)
        eff = self._effect(d, fit)
        tables: dict[str, pd.DataFrame] = {}
        inference_rows = [
            ("conditional on the index, classical OLS", eff["se_classical"]),
            ("conditional on the index, " + ("cluster-robust" if d.clusters_exp is not None else "robust HC2"),
             eff["se_conditional"]),
            ("accounting for the index: influence function", eff["se_influence"]),
        ]
        se, inference = eff["se_influence"], "influence function over both samples (accounts for the estimated index)"
        if self.se == "bootstrap":
            draws = core.block_bootstrap(d.W_o, fit["y"], d.W_e, d.t, d.X, self.n_boot, seed,
                                         d.clusters_exp, d.clusters_obs)
            se = float(np.std(draws, ddof=1))
            inference = f"bootstrap over both samples, {self.n_boot} seeded draws (accounts for the estimated index)"
            inference_rows.append((f"accounting for the index: bootstrap ({self.n_boot} draws)", se))
            lo, hi = np.quantile(draws, [spec.alpha / 2, 1 - spec.alpha / 2])
            tables["bootstrap_percentile_ci"] = pd.DataFrame({"ci_low": [float(lo)], "ci_high": [float(hi)]})
        ci, p = normal_ci(eff["estimate"], se, spec.alpha)
        rows = []
        for i, (name, value) in enumerate(inference_rows):
            (lo, hi), _ = normal_ci(eff["estimate"], value, spec.alpha)
            rows.append({"se_type": name, "se": value, "ci_low": lo, "ci_high": hi,
                         "headline": i == (len(inference_rows) - 1 if self.se == "bootstrap" else 2)})
        tables["inference"] = pd.DataFrame(rows)
        if not learned:
            names = ["(intercept)", *d.cols]
            bse = np.sqrt(np.diag(fit["WtW_inv"]) * (fit["resid"] @ fit["resid"]) / (len(fit["y"]) - len(names)))
            tables["index_weights"] = pd.DataFrame({"term": names, "weight": fit["beta"], "se": bse})
        tables["surrogate_effects"] = checks.surrogate_effects(d.stats, list(spec.surrogates))
        tables["surrogate_path"] = self._path(d, spec, seed)
        index_e = fit["index"] if learned else d.W_e @ fit["beta"]
        val = None
        if samples.validation:
            val = checks.validation_table(exp, spec.long_term_outcome, index_e, fit, d, spec.alpha)
            tables["validation"] = val
        if horizons:
            tables["projections"] = self._projections(d, samples, horizons, spec, seed, learned)
        oof_r2 = core.r2(fit["y"], fit["oof"])
        bounds = checks.bias_bounds(exp, spec, d, self.bias_k, samples.validation)
        tables["bias_bounds"] = bounds
        comp_table, comp_diags = checks.comparability(exp, obs, spec, d.cols, seed)
        tables["comparability"] = comp_table
        diagnostics = [
            *checks.bias_diagnostics(bounds, eff["estimate"]),
            checks.validation_diagnostic(val),
            *comp_diags,
            checks.fit_diagnostic(oof_r2, self.n_folds),
            checks.path_diagnostic(tables["surrogate_path"]),
        ]
        tables["long_term"] = checks.long_term_summary(tables, eff["estimate"], ci, spec.alpha)
        details = {
            "oof_r2": oof_r2, "se_conditional": eff["se_conditional"], "se_conditional_classical": eff["se_classical"],
            "se_influence": eff["se_influence"], "n_experiment": len(exp), "n_observational": len(obs),
            "n_validation": int(exp[spec.long_term_outcome].notna().sum()) if samples.validation else 0,
            "n_surrogates": n_s, "learner": fit.get("learner_name", "linear regression (OLS)"), "adjust": self.adjust,
        }
        baseline = float(np.mean(index_e[d.t == 0]))  # the control arm's projected long-term outcome
        return EffectEstimate(
            method="surrogate", design=spec.design, estimand="ATE on the long-term outcome (surrogate index)",
            estimate=eff["estimate"], se=se, ci=ci, p_value=p, alpha=spec.alpha, n_obs=len(exp) + len(obs),
            n_units=None, n_dropped=samples.n_dropped, dropped_reasons=samples.dropped_reasons,
            diagnostics=tuple(diagnostics), tables=tables, lineage=make_lineage(spec, samples.fingerprint, seed),
            inference=inference, outcome=spec.long_term_outcome, baseline=baseline, exposure=float(d.t.sum()),
            details=details, label="Surrogate index" + ("" if not learned else f" ({details['learner']}, cross-fitted)"),
        )

    # ------------------------------------------------------------------ tables
    def _path(self, d: _Design, spec: ExperimentSpec, seed: int) -> pd.DataFrame:
        """The OLS index with the first q surrogates, q = 1..Q (covariates always in; OLS even for a learned index)."""
        rows = []
        n_s = len(spec.surrogates)
        y = d.y_obs
        covs = np.arange(1 + n_s, d.W_o.shape[1])
        for q in range(1, n_s + 1):
            idx = np.r_[np.arange(q + 1), covs]
            fit = self._index(d, idx, y, seed, learned=False)
            eff = self._effect(d, fit)
            (lo, hi), _ = normal_ci(eff["estimate"], eff["se_influence"], spec.alpha)
            rows.append({"q": q, "last_surrogate": spec.surrogates[q - 1], "model": "ols", "estimate": eff["estimate"],
                         "se": eff["se_influence"], "se_conditional": eff["se_classical"], "ci_low": lo, "ci_high": hi,
                         "oof_r2": core.r2(y, fit["oof"])})
        return pd.DataFrame(rows)

    def _projections(self, d: _Design, samples: Samples, horizons: dict, spec: ExperimentSpec, seed: int,
                     learned: bool) -> pd.DataFrame:
        """The index of each horizon's long-term outcome, with the experimental estimate when observed."""
        rows, betas, scores = [], [], []
        exp = samples.experiment
        full = np.arange(d.W_o.shape[1])
        for h, col in horizons.items():
            fit = self._index(d, full, samples.observational[col].to_numpy(float), seed, learned)
            eff = self._effect(d, fit)
            betas.append(fit["beta"])
            scores.append(core.index_scores(d.stats.d, fit["W_o"], fit["WtW_inv"], fit["resid"], d.clusters_obs))
            (lo, hi), _ = normal_ci(eff["estimate"], eff["se_influence"], spec.alpha)
            row = {"horizon": float(h) if isinstance(h, (int, float)) else np.nan, "label": str(h), "outcome": col,
                   "estimate": eff["estimate"], "se": eff["se_influence"], "se_conditional": eff["se_classical"],
                   "ci_low": lo, "ci_high": hi, "experimental": np.nan, "experimental_se": np.nan}
            if col in exp.columns and exp[col].notna().any():
                index_e = fit["index"] if learned else d.W_e @ fit["beta"]
                v = checks.validation_table(exp, col, index_e, fit, d, spec.alpha)
                row["experimental"] = float(v.loc[0, "estimate"])
                row["experimental_se"] = float(v.loc[0, "se"])
            rows.append(row)
        table = pd.DataFrame(rows)
        if not learned:  # joint covariance of the projections (both samples' parts), for fit_decay
            B, S = np.column_stack(betas), np.column_stack(scores)
            cov = B.T @ d.stats.m_robust @ B + S.T @ S
            labels = table["horizon"].to_numpy()
            table = table.assign(**{f"cov_{i}": cov[:, i] for i in range(len(labels))})
        return table


@dataclass(frozen=True)
class _Design:
    """Arrays shared by every fit of one call: designs, contrast statistics, folds, clusters."""

    cols: list[str]
    W_o: np.ndarray
    W_e: np.ndarray
    y_obs: np.ndarray
    t: np.ndarray
    X: np.ndarray | None
    stats: core.ExperimentStats
    folds: core.ObsFolds
    cross_obs: np.ndarray
    clusters_exp: np.ndarray | None
    clusters_obs: np.ndarray | None


def _design(samples: Samples, spec: ExperimentSpec, adjust: str, n_folds: int, seed: int) -> _Design:
    exp, obs = samples.experiment, samples.observational
    cols = [*spec.surrogates, *spec.covariates]
    W_o, W_e = _W(obs, cols), _W(exp, cols)
    t = exp[spec.treatment].to_numpy(int)
    X = exp[list(spec.covariates)].to_numpy(float) if spec.covariates and adjust == "lin" else None
    c = core.contrast(t, X)
    clusters_exp = exp[spec.cluster].to_numpy() if spec.cluster else None
    clusters_obs = obs[spec.cluster].to_numpy() if spec.cluster and spec.cluster in obs.columns else None
    folds = core.obs_folds(W_o, make_folds(len(obs), n_folds, np.random.default_rng(seed)), n_folds)
    y = obs[spec.long_term_outcome].to_numpy(float)
    return _Design(cols=cols, W_o=W_o, W_e=W_e, y_obs=y, t=t, X=X, stats=core.experiment_stats(W_e, c, t, clusters_exp),
                   folds=folds, cross_obs=core.fold_cross(folds, y), clusters_exp=clusters_exp, clusters_obs=clusters_obs)
