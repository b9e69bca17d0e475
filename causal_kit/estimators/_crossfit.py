"""Lean cross-fitting core for double machine learning: folds, nuisances, scores, SEs.

This module holds the numerical heart of :class:`causal_kit.estimators.dml.DML` as plain
functions on numpy arrays:

* :func:`make_folds` draws K folds from a seeded generator (whole clusters stay together);
* :func:`resolve_learner` turns ``"hgb"``, ``"linear"``, ``"forest"`` or any scikit-learn
  estimator into a fit/predict callable;
* :func:`fit_nuisances` computes out-of-fold predictions of E[Y|X], E[D|X] and, for binary
  treatments, E[Y|D=0,X] and E[Y|D=1,X];
* :func:`plr_score` and :func:`irm_score` evaluate the Neyman-orthogonal scores of
  Chernozhukov et al. (2018) and :func:`solve_score` returns the estimate and its standard
  error (optionally weighted and cluster-robust);
* :func:`aggregate_repetitions` applies the median rule over repeated cross-fitting.

We keep this core in numpy rather than calling econml's ``LinearDML`` because that class
grid-searches its first stages by default and does not scale to a million rows within a
minute; the scores and variance formulas below follow DoubleML's conventions so results are
comparable to it to numerical precision when the folds and learners are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._parallel import map_tasks
from ..errors import ConvergenceError, SpecError

__all__ = [
    "make_folds",
    "resolve_learner",
    "default_learner",
    "fit_nuisances",
    "plr_score",
    "irm_score",
    "solve_score",
    "ScoreFit",
    "aggregate_repetitions",
    "ols_fit_predict",
    "logit_fit_predict",
]

LEARNER_NAMES = ("hgb", "linear", "forest")

# Stated settings of the default learner: scikit-learn's histogram gradient boosting with
# at most 100 trees of at most 31 leaves, learning rate 0.1, at least 20 rows per leaf and
# early stopping (10% validation split, patience 10 trees).
HGB_SETTINGS: dict[str, Any] = dict(
    max_iter=100, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, early_stopping=True,
    validation_fraction=0.1, n_iter_no_change=10,
)


# --------------------------------------------------------------------------- folds
def make_folds(
    n: int, n_folds: int, rng: np.random.Generator, clusters: np.ndarray | None = None
) -> np.ndarray:
    """Fold label (0..n_folds-1) for each of ``n`` rows; clusters are never split."""
    if clusters is None:
        labels = np.arange(n) % n_folds
        return rng.permutation(labels)
    uniq, inverse = np.unique(clusters, return_inverse=True)
    if len(uniq) < n_folds:
        raise SpecError(
            f"spec.cluster has {len(uniq)} clusters, fewer than n_folds={n_folds}; "
            "lower n_folds or use a coarser fold scheme."
        )
    cluster_fold = rng.permutation(np.arange(len(uniq)) % n_folds)
    return cluster_fold[inverse]


# --------------------------------------------------------------------------- learners
def default_learner(classify: bool, seed: int) -> Any:
    """The default nuisance learner: histogram gradient boosting with :data:`HGB_SETTINGS`."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
    return cls(random_state=seed, **HGB_SETTINGS)


def _standardise(X_train: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = X_train.mean(axis=0)
    sd = X_train.std(axis=0)
    sd[sd == 0] = 1.0
    return (X_train - mu) / sd, (X_test - mu) / sd


def ols_fit_predict(
    X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, w: np.ndarray | None = None
) -> np.ndarray:
    """Least-squares fit with an intercept on the training rows, predictions for the test rows."""
    A = np.column_stack([np.ones(len(X_train)), X_train])
    B = np.column_stack([np.ones(len(X_test)), X_test])
    if w is not None:
        sw = np.sqrt(w)
        coef = np.linalg.lstsq(A * sw[:, None], y_train * sw, rcond=None)[0]
    else:
        coef = np.linalg.lstsq(A, y_train, rcond=None)[0]
    return B @ coef


def logit_fit_predict(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    w: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> np.ndarray:
    """Unpenalised logistic regression (Newton-Raphson to the MLE) on standardised features.

    Written out because scikit-learn's solvers stop short of the unpenalised MLE on raw,
    badly scaled covariates (e.g. income in dollars), which moves AIPW estimates visibly.
    """
    Xs, Xt = _standardise(X_train, X_test)
    A = np.column_stack([np.ones(len(Xs)), Xs])
    B = np.column_stack([np.ones(len(Xt)), Xt])
    w = np.ones(len(A)) if w is None else w
    p0 = np.clip(np.average(y_train, weights=w), 1e-6, 1 - 1e-6)
    beta = np.zeros(A.shape[1])
    beta[0] = np.log(p0 / (1 - p0))
    for _ in range(max_iter):
        eta = np.clip(A @ beta, -35, 35)
        p = 1.0 / (1.0 + np.exp(-eta))
        grad = A.T @ (w * (y_train - p))
        hess = (A * (w * p * (1 - p))[:, None]).T @ A
        try:
            step = np.linalg.solve(hess + 1e-12 * np.eye(len(beta)), grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))):
            break
    else:
        raise ConvergenceError(
            f"the unpenalised logistic propensity model did not converge in {max_iter} Newton steps "
            "(coefficients keep growing: the treatment is close to perfectly predicted by the "
            "covariates). Use learner_d='hgb' or drop the separating covariate."
        )
    return 1.0 / (1.0 + np.exp(-np.clip(B @ beta, -35, 35)))


@dataclass(frozen=True)
class Learner:
    """A fit-and-predict callable plus a readable description."""

    name: str
    fit_predict: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]


def resolve_learner(spec: Any, classify: bool, seed: int, owner: str, parameter: str) -> Learner:
    """Turn a learner option into a :class:`Learner`.

    ``spec`` is ``"hgb"`` (default gradient boosting), ``"linear"`` (OLS, or unpenalised
    logistic regression for a binary target), ``"forest"`` (random forest, 200 trees, min 5
    rows per leaf) or any scikit-learn estimator (cloned for every fold).
    """
    if isinstance(spec, str):
        if spec not in LEARNER_NAMES:
            raise SpecError(
                f"The {parameter!r} parameter of {owner} must be one of "
                f"{', '.join(repr(n) for n in LEARNER_NAMES)} or a scikit-learn estimator. Got {spec!r} instead."
            )
        if spec == "linear":
            fn = logit_fit_predict if classify else ols_fit_predict
            return Learner("logistic regression (unpenalised)" if classify else "linear regression", fn)
        if spec == "forest":
            from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

            cls = RandomForestClassifier if classify else RandomForestRegressor
            est = cls(n_estimators=200, min_samples_leaf=5, max_features="sqrt", random_state=seed, n_jobs=1)
        else:
            return Learner(
                "HistGradientBoosting" + ("Classifier" if classify else "Regressor"),
                _sklearn_fit_predict(default_learner(classify, seed), classify, small_data_guard=True),
            )
    elif hasattr(spec, "fit") and (hasattr(spec, "predict") or hasattr(spec, "predict_proba")):
        est = spec
    else:
        raise SpecError(
            f"The {parameter!r} parameter of {owner} must be one of "
            f"{', '.join(repr(n) for n in LEARNER_NAMES)} or a scikit-learn estimator. Got {spec!r} instead."
        )
    return Learner(type(est).__name__, _sklearn_fit_predict(est, classify))


def _sklearn_fit_predict(est: Any, classify: bool, small_data_guard: bool = False) -> Callable[..., np.ndarray]:
    from sklearn.base import clone

    def fit_predict(X_train, y_train, X_test, w=None):  # noqa: ANN001, ANN202
        model = clone(est)
        if small_data_guard and len(y_train) < 500:
            # a 10% validation split of a few hundred rows is too noisy to stop on
            model.set_params(early_stopping=False)
        if w is not None:
            model.fit(X_train, y_train, sample_weight=w)
        else:
            model.fit(X_train, y_train)
        if classify and hasattr(model, "predict_proba"):
            return model.predict_proba(X_test)[:, 1]
        return np.asarray(model.predict(X_test), dtype=float)

    return fit_predict


# --------------------------------------------------------------------------- nuisances
def fit_nuisances(
    X: np.ndarray,
    y: np.ndarray,
    d: np.ndarray,
    folds: np.ndarray,
    n_folds: int,
    learner_y: Learner,
    learner_d: Learner,
    *,
    binary: bool,
    need: tuple[str, ...],
    w: np.ndarray | None = None,
    n_jobs: int = 1,
) -> dict[str, np.ndarray]:
    """Out-of-fold nuisance predictions.

    ``need`` lists any of ``"l"`` (E[Y|X]), ``"m"`` (E[D|X]), ``"g0"`` (E[Y|D=0,X]) and
    ``"g1"`` (E[Y|D=1,X]); the last two need a binary treatment. With ``n_jobs > 1`` the
    (nuisance, fold) fits run in local threads, and on the active Dask cluster (``X`` sent to
    each worker once) when there is one; results do not depend on where they ran.
    """
    learners = {"l": learner_y, "m": learner_d, "g0": learner_y, "g1": learner_y}
    tasks = [(key, k, learners[key]) for key in need for k in range(n_folds)]
    preds = map_tasks(_fold_fit, tasks, n_jobs=n_jobs, prefer="threads",
                      shared={"X": X, "y": y, "d": d, "folds": folds, "w": w})
    out = {key: np.empty(len(y)) for key in need}
    for (key, k, _), pred in zip(tasks, preds):
        out[key][folds == k] = pred
    return out


def _fold_fit(task: tuple[str, int, Learner], *, X: np.ndarray, y: np.ndarray, d: np.ndarray, folds: np.ndarray,
              w: np.ndarray | None) -> np.ndarray:
    """One (nuisance, fold) fit (a map_tasks task): predictions on fold ``k`` from the other folds."""
    key, k, learner = task
    target = d.astype(float) if key == "m" else y
    mask = {"g0": d == 0, "g1": d == 1}.get(key)
    test = folds == k
    train = ~test if mask is None else (~test & mask)
    return learner.fit_predict(X[train], target[train], X[test], None if w is None else w[train])


# --------------------------------------------------------------------------- scores
def plr_score(y: np.ndarray, d: np.ndarray, nuis: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Partialling-out score of the partially linear model: ``(psi_a, psi_b)``."""
    u = y - nuis["l"]
    v = d - nuis["m"]
    return -v * v, v * u


def irm_score(
    y: np.ndarray,
    d: np.ndarray,
    nuis: dict[str, np.ndarray],
    m: np.ndarray,
    estimand: str,
) -> tuple[np.ndarray, np.ndarray]:
    """AIPW score of the interactive regression model for the ATE or the ATT.

    ``m`` is the (already trimmed) propensity. For the ATT, ``p`` is the sample share of
    treated rows.
    """
    g0 = nuis["g0"]
    if estimand == "ATE":
        g1 = nuis["g1"]
        psi_b = g1 - g0 + d * (y - g1) / m - (1 - d) * (y - g0) / (1 - m)
        return -np.ones_like(y), psi_b
    p = float(d.mean())
    psi_b = d * (y - g0) / p - m * (1 - d) * (y - g0) / (p * (1 - m))
    return -d / p, psi_b


@dataclass(frozen=True)
class ScoreFit:
    """Estimate, standard error and the per-row influence values of one linear score."""

    theta: float
    se: float
    psi: np.ndarray
    J: float


def solve_score(
    psi_a: np.ndarray,
    psi_b: np.ndarray,
    w: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
) -> ScoreFit:
    """Solve ``E[w (psi_a theta + psi_b)] = 0`` and return the sandwich SE.

    Without clusters the variance is ``mean((w psi)^2) / J^2 / n`` (DoubleML's formula).
    With clusters the row scores are summed within clusters first and scaled by
    ``G / (G - 1)``.
    """
    n = len(psi_a)
    w = np.ones(n) if w is None else w / w.mean()
    J = float(np.mean(w * psi_a))
    theta = float(-np.mean(w * psi_b) / J)
    psi = w * (psi_a * theta + psi_b)
    if clusters is None:
        var = float(np.mean(psi**2)) / J**2 / n
    else:
        _, inv = np.unique(clusters, return_inverse=True)
        sums = np.bincount(inv, weights=psi)
        G = len(sums)
        var = float(np.sum(sums**2)) / n**2 / J**2 * G / (G - 1)
    return ScoreFit(theta=theta, se=float(np.sqrt(var)), psi=psi, J=J)


def aggregate_repetitions(thetas: np.ndarray, ses: np.ndarray) -> tuple[float, float]:
    """Median aggregation over repeated cross-fitting, DoubleML's rule (version >= 0.10).

    ``theta = median(theta_s)``; the SE is backed out of the median upper 95% bound:
    ``se = (median(theta_s + 1.96 se_s) - theta) / 1.96``. With one repetition this returns
    the repetition's own estimate and SE.
    """
    thetas = np.asarray(thetas, dtype=float)
    ses = np.asarray(ses, dtype=float)
    theta = float(np.median(thetas))
    se = float((np.median(thetas + 1.96 * ses) - theta) / 1.96)
    return theta, se
