"""Heterogeneous effects after DML: CATE proxies, the BLP test, GATES and segment effects.

Everything builds on the doubly robust (AIPW) pseudo-outcome

    phi = g1 - g0 + d (y - g1) / m - (1 - d) (y - g0) / (1 - m),

whose conditional mean given X is the CATE. Functions:

* :func:`split_proxy`: an honest CATE proxy for every row from the other half of the data,
  by the DR-learner (Kennedy 2023: regress ``phi`` on the features) or econml's
  ``CausalForestDML`` (:func:`cate_causal_forest`, imported lazily);
* :func:`blp`: the best linear predictor of the CATE given a proxy ``S`` (Chernozhukov,
  Demirer, Duflo and Fernandez-Val): ``phi ~ b1 + b2 (S - mean S)``; ``b2 > 0`` means the
  proxy captures real heterogeneity, tested with HC1 standard errors;
* :func:`gates`: group average effects by quantile of ``S``;
* :func:`segment_effects`: average effects by user-named segments (AIPW means per level).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._crossfit import Learner

__all__ = ["pseudo_outcome", "split_proxy", "cate_causal_forest", "blp", "gates", "segment_effects"]


def pseudo_outcome(y: np.ndarray, d: np.ndarray, g0: np.ndarray, g1: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The AIPW pseudo-outcome whose conditional mean is the CATE."""
    return g1 - g0 + d * (y - g1) / m - (1 - d) * (y - g0) / (1 - m)


def split_proxy(
    X: np.ndarray,
    y: np.ndarray,
    d: np.ndarray,
    learner_y: Learner,
    learner_d: Learner,
    n_folds: int,
    trim: float,
    rng: np.random.Generator,
    cate: str,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    """Honest CATE proxy for the BLP and GATES (Chernozhukov, Demirer, Duflo, Fernandez-Val).

    The rows are split in two halves. Within each half the nuisances are cross-fitted and the
    pseudo-outcome ``phi`` computed from that half only; the CATE model trained on one half
    predicts the other. So the proxy ``S_i`` never used row ``i``'s half, which keeps the
    BLP test's size (a proxy cross-fitted on the full sample reuses each row through the
    nuisances and over-rejects). Centre ``S`` within each half before :func:`blp`.

    Returns ``(phi, S, half, extra)``; ``cate`` is ``"dr_learner"`` (regression of ``phi`` on
    X with ``learner_y``, Kennedy's DR-learner) or ``"causal_forest"`` (econml).
    """
    from ._crossfit import fit_nuisances, make_folds

    n = len(y)
    half = rng.permutation(np.arange(n) % 2)
    phi = np.empty(n)
    for h in (0, 1):
        idx = half == h
        folds = make_folds(int(idx.sum()), n_folds, rng)
        nuis = fit_nuisances(X[idx], y[idx], d[idx], folds, n_folds, learner_y, learner_d, binary=True,
                             need=("m", "g0", "g1"))
        m = np.clip(nuis["m"], trim, 1 - trim)
        phi[idx] = pseudo_outcome(y[idx], d[idx], nuis["g0"], nuis["g1"], m)
    S = np.empty(n)
    extra: dict[str, list[float]] = {"ate": [], "se": []}
    for h in (0, 1):
        train, test = half == h, half != h
        if cate == "dr_learner":
            S[test] = learner_y.fit_predict(X[train], phi[train], X[test], None)
        else:
            S[test], ate, se = cate_causal_forest(X[train], y[train], d[train], X[test], n_folds, seed)
            extra["ate"].append(ate)
            extra["se"].append(se)
    out = {}
    if extra["ate"]:
        out = {"causal_forest_ate": float(np.mean(extra["ate"])),
               "causal_forest_ate_se": float(np.sqrt(np.sum(np.square(extra["se"]))) / 2)}
    return phi, S, half, out


def cate_causal_forest(
    X: np.ndarray, y: np.ndarray, d: np.ndarray, X_new: np.ndarray, n_folds: int, seed: int
) -> tuple[np.ndarray, float, float]:
    """CATE at ``X_new`` from econml's ``CausalForestDML`` fitted on ``(X, y, d)``, with its ATE.

    Nuisances are histogram gradient boosting. The ATE's standard error is ``ate_stderr_``,
    not the mean of the per-row CATE SEs (``ate_inference().stderr_mean``), which is larger.
    """
    from econml.dml import CausalForestDML
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cf = CausalForestDML(
        model_y=HistGradientBoostingRegressor(random_state=seed),
        model_t=HistGradientBoostingClassifier(random_state=seed),
        discrete_treatment=True,
        cv=n_folds,
        n_estimators=100,
        min_samples_leaf=10,
        random_state=seed,
        n_jobs=1,
    )
    cf.fit(y, d, X=X)
    return (np.asarray(cf.effect(X_new), dtype=float).ravel(), float(np.ravel(cf.ate_)[0]),
            float(np.ravel(cf.ate_stderr_)[0]))


def _ols_hc1(y: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    XtX_inv = np.linalg.pinv(A.T @ A)
    b = XtX_inv @ A.T @ y
    r = y - A @ b
    n, k = A.shape
    meat = (A * r[:, None] ** 2).T @ A
    cov = XtX_inv @ meat @ XtX_inv * n / max(n - k, 1)
    return b, np.sqrt(np.diag(cov))


def blp(phi: np.ndarray, S: np.ndarray, alpha: float = 0.05) -> pd.DataFrame:
    """Best linear predictor of the CATE given the proxy ``S``.

    Returns rows ``beta1`` (the ATE) and ``beta2`` (heterogeneity loading) with HC1 SEs,
    two-sided p-values and CIs. ``beta2 = 1`` when the proxy is the true CATE, ``0`` when it
    carries no information about effect heterogeneity.
    """
    Sc = S - S.mean()
    A = np.column_stack([np.ones(len(phi)), Sc])
    if np.allclose(Sc, 0):
        A = A[:, :1]
    b, se = _ols_hc1(phi, A)
    if len(b) == 1:
        b, se = np.append(b, 0.0), np.append(se, np.nan)
    z = float(stats.norm.ppf(1 - alpha / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2 * stats.norm.sf(np.abs(b / se))
    return pd.DataFrame(
        {"term": ["beta1_ate", "beta2_heterogeneity"], "estimate": b, "se": se, "p_value": p,
         "ci_low": b - z * se, "ci_high": b + z * se}
    )


def _group_mean(phi: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    x = phi[mask]
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")


def gates(phi: np.ndarray, S: np.ndarray, n_groups: int = 5, alpha: float = 0.05) -> pd.DataFrame:
    """Group average treatment effects by quantile group of the proxy ``S`` (1 = lowest)."""
    ranks = np.argsort(np.argsort(S, kind="stable"), kind="stable")
    group = (ranks * n_groups) // len(S)
    z = float(stats.norm.ppf(1 - alpha / 2))
    rows = []
    for g in range(n_groups):
        mask = group == g
        est, se = _group_mean(phi, mask)
        rows.append({"group": g + 1, "n": int(mask.sum()), "proxy_mean": float(S[mask].mean()),
                     "estimate": est, "se": se, "ci_low": est - z * se, "ci_high": est + z * se})
    return pd.DataFrame(rows)


def segment_effects(
    phi: np.ndarray, frame: pd.DataFrame, segments: Sequence[str], alpha: float = 0.05, max_levels: int = 10
) -> pd.DataFrame:
    """Average effect (mean of ``phi``) per level of each named segment column, with CIs.

    Columns with more than ``max_levels`` distinct values are cut into quartiles.
    """
    z = float(stats.norm.ppf(1 - alpha / 2))
    rows: list[dict[str, Any]] = []
    for seg in segments:
        col = frame[seg]
        if col.nunique() > max_levels and pd.api.types.is_numeric_dtype(col):
            levels = pd.qcut(col, 4, duplicates="drop").astype(str)
        else:
            levels = col.astype(str)
        for level in sorted(levels.unique(), key=_sort_key):
            mask = (levels == level).to_numpy()
            est, se = _group_mean(phi, mask)
            rows.append({"segment": seg, "level": level, "n": int(mask.sum()), "estimate": est, "se": se,
                         "ci_low": est - z * se, "ci_high": est + z * se})
    return pd.DataFrame(rows, columns=["segment", "level", "n", "estimate", "se", "ci_low", "ci_high"])


def _sort_key(level: str) -> tuple[int, float, str]:
    try:
        return (0, float(level), level)
    except ValueError:
        try:
            return (1, float(level.strip("([").split(",")[0]), level)
        except ValueError:
            return (2, 0.0, level)
