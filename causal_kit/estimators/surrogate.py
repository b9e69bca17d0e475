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
from typing import Any

import numpy as np
import pandas as pd

from .._samples import Samples, split_samples
from .._typing import SurrogateAdjust, SurrogateSE, check_option, check_positive_int
from ..errors import SpecError
from ..inference.basic import normal_ci
from ..result import Diagnostic, EffectEstimate, make_lineage
from ..spec import ExperimentSpec
from . import _surrogate_core as core
from . import _surrogate_checks as checks
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
        ``n_folds`` folds and the experiment's index is the average of the fold models.
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

    def _index(self, samples: Samples, spec: ExperimentSpec, cols: list[str], y_col: str, seed: int,
               learned: bool) -> dict[str, Any]:
        """Fit the surrogate model on the observational rows; predict the index in the experiment."""
        obs, exp = samples.observational, samples.experiment
        W_o, W_e = _W(obs, cols), _W(exp, cols)
        y = obs[y_col].to_numpy(float)
        rng = np.random.default_rng(seed)
        folds = make_folds(len(y), self.n_folds, rng)
        beta, WtW_inv, resid = core.ols(W_o, y)
        out: dict[str, Any] = {"W_o": W_o, "W_e": W_e, "y": y, "beta": beta, "WtW_inv": WtW_inv}
        if not learned:
            out["index"] = W_e @ beta
            out["resid"] = resid
            out["oof"] = core.oof_ols(W_o, y, folds, self.n_folds)
            return out
        learner = resolve_learner(self.learner, False, seed, "SurrogateIndex", "learner")
        S_o, S_e = obs[cols].to_numpy(float), exp[cols].to_numpy(float)
        oof, index = np.empty(len(y)), np.zeros(len(exp))
        for k in range(self.n_folds):  # K fits: each predicts its held-out fold and the experiment
            m = folds == k
            pred = learner.fit_predict(S_o[~m], y[~m], np.vstack([S_o[m], S_e]))
            oof[m] = pred[: int(m.sum())]
            index += pred[int(m.sum()):] / self.n_folds
        out.update(index=index, resid=y - oof, oof=oof, learner_name=learner.name)
        return out

    def _effect(self, fit: dict[str, Any], c: core.Contrast, clusters: dict[str, np.ndarray | None]) -> dict[str, float]:
        tau = float(c.a @ fit["index"])
        cond = core.contrast_variance(c, fit["index"], clusters["exp"])
        d = fit["W_e"].T @ c.a
        v_obs = core.index_variance(d, fit["W_o"], fit["WtW_inv"], fit["resid"], clusters["obs"])
        return {"estimate": tau, "se_classical": math.sqrt(cond["classical"]), "se_conditional": math.sqrt(cond["robust"]),
                "se_influence": math.sqrt(cond["robust"] + v_obs), "d": d, "v_obs": v_obs}

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
        cols = [*spec.surrogates, *spec.covariates]
        t = exp[spec.treatment].to_numpy(int)
        X = exp[list(spec.covariates)].to_numpy(float) if spec.covariates and self.adjust == "lin" else None
        c = core.contrast(t, X)
        clusters = {
            "exp": exp[spec.cluster].to_numpy() if spec.cluster else None,
            "obs": obs[spec.cluster].to_numpy() if spec.cluster and spec.cluster in obs.columns else None,
        }
        fit = self._index(samples, spec, cols, spec.long_term_outcome, seed, learned)
        eff = self._effect(fit, c, clusters)
        tables: dict[str, pd.DataFrame] = {}
        inference_rows = [
            ("conditional on the index, classical OLS", eff["se_classical"]),
            ("conditional on the index, " + ("cluster-robust" if clusters["exp"] is not None else "robust HC2"),
             eff["se_conditional"]),
            ("accounting for the index: influence function", eff["se_influence"]),
        ]
        se, inference = eff["se_influence"], "influence function over both samples (accounts for the estimated index)"
        if self.se == "bootstrap":
            draws = core.block_bootstrap(fit["W_o"], fit["y"], fit["W_e"], t, X, self.n_boot, seed,
                                         clusters["exp"], clusters["obs"])
            se = float(np.std(draws, ddof=1))
            inference = f"bootstrap over both samples, {self.n_boot} seeded draws (accounts for the estimated index)"
            inference_rows.append((f"accounting for the index: bootstrap ({self.n_boot} draws)", se))
            lo, hi = np.quantile(draws, [spec.alpha / 2, 1 - spec.alpha / 2])
            tables["bootstrap_percentile_ci"] = pd.DataFrame({"ci_low": [float(lo)], "ci_high": [float(hi)]})
        ci, p = normal_ci(eff["estimate"], se, spec.alpha)
        tables["inference"] = pd.DataFrame(
            [{"se_type": k, "se": v, "ci_low": normal_ci(eff["estimate"], v, spec.alpha)[0][0],
              "ci_high": normal_ci(eff["estimate"], v, spec.alpha)[0][1], "headline": False} for k, v in inference_rows]
        )
        tables["inference"].loc[len(inference_rows) - 1 if self.se == "bootstrap" else 2, "headline"] = True

        if not learned:
            names = ["(intercept)", *cols]
            bse = np.sqrt(np.diag(fit["WtW_inv"]) * (fit["resid"] @ fit["resid"]) / (len(fit["y"]) - len(names)))
            tables["index_weights"] = pd.DataFrame({"term": names, "weight": fit["beta"], "se": bse})
        tables["surrogate_effects"] = checks.surrogate_effects(exp, spec.surrogates, c)
        tables["surrogate_path"] = self._path(samples, spec, c, clusters, seed)
        val = checks.validation_table(exp, spec.long_term_outcome, fit, c, spec.alpha) if samples.validation else None
        if val is not None:
            tables["validation"] = val
        if horizons:
            tables["projections"] = self._projections(samples, spec, horizons, cols, c, clusters, seed, learned)
        oof_r2 = core.r2(fit["y"], fit["oof"])
        bounds = checks.bias_bounds(exp, obs, spec, cols, t, self.bias_k, samples.validation)
        tables["bias_bounds"] = bounds
        comp_table, comp_diags = checks.comparability(exp, obs, spec, cols, seed)
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
            "learner": fit.get("learner_name", "linear regression (OLS)"), "adjust": self.adjust,
        }
        baseline = float(np.mean(fit["index"][t == 0])) if self.adjust == "difference" or X is None else None
        return EffectEstimate(
            method="surrogate", design=spec.design, estimand="ATE on the long-term outcome (surrogate index)",
            estimate=eff["estimate"], se=se, ci=ci, p_value=p, alpha=spec.alpha, n_obs=len(exp) + len(obs),
            n_units=None, n_dropped=samples.n_dropped, dropped_reasons=samples.dropped_reasons,
            diagnostics=tuple(diagnostics), tables=tables, lineage=make_lineage(spec, samples.fingerprint, seed),
            inference=inference, outcome=spec.long_term_outcome, baseline=baseline, exposure=float(t.sum()),
            details=details, label="Surrogate index" + ("" if not learned else f" ({details['learner']}, cross-fitted)"),
        )

    # ------------------------------------------------------------------ tables
    def _path(self, samples: Samples, spec: ExperimentSpec, c: core.Contrast, clusters: dict, seed: int) -> pd.DataFrame:
        """The OLS index with the first q surrogates, q = 1..Q (covariates always in)."""
        rows = []
        for q in range(1, len(spec.surrogates) + 1):
            cols = [*spec.surrogates[:q], *spec.covariates]
            fit = self._index(samples, spec, cols, spec.long_term_outcome, seed, learned=False)
            eff = self._effect(fit, c, clusters)
            (lo, hi), _ = normal_ci(eff["estimate"], eff["se_influence"], spec.alpha)
            rows.append({"q": q, "last_surrogate": spec.surrogates[q - 1], "estimate": eff["estimate"],
                         "se": eff["se_influence"], "se_conditional": eff["se_classical"], "ci_low": lo, "ci_high": hi,
                         "oof_r2": core.r2(fit["y"], fit["oof"])})
        return pd.DataFrame(rows)

    def _projections(self, samples: Samples, spec: ExperimentSpec, horizons: dict, cols: list[str],
                     c: core.Contrast, clusters: dict, seed: int, learned: bool) -> pd.DataFrame:
        """The index of each horizon's long-term outcome, with the experimental estimate when observed."""
        rows = []
        exp = samples.experiment
        for h, col in horizons.items():
            fit = self._index(samples, spec, cols, col, seed, learned)
            eff = self._effect(fit, c, clusters)
            (lo, hi), _ = normal_ci(eff["estimate"], eff["se_influence"], spec.alpha)
            row = {"horizon": float(h) if isinstance(h, (int, float)) else np.nan, "label": str(h), "outcome": col,
                   "estimate": eff["estimate"], "se": eff["se_influence"], "se_conditional": eff["se_classical"],
                   "ci_low": lo, "ci_high": hi, "experimental": np.nan, "experimental_se": np.nan}
            if col in exp.columns and exp[col].notna().any():
                v = checks.validation_table(exp, col, fit, c, spec.alpha)
                row["experimental"] = float(v.loc[0, "estimate"])
                row["experimental_se"] = float(v.loc[0, "se"])
            rows.append(row)
        return pd.DataFrame(rows)
