"""Cluster-robust covariance (CRV1) for least squares after absorbing fixed effects.

The small-sample factor follows R fixest / pyfixest's default ``ssc(adj=TRUE,
fixef.K="nested", cluster.adj=TRUE)``:

.. math:: c = \\frac{G}{G - 1} \\cdot \\frac{n - 1}{n - k}

where ``k`` counts the regressors plus the fixed-effect levels that are *not* nested in the
clusters (unit fixed effects are nested in unit clusters and are not counted). On mpdta's
TWFE this gives 0.013265, the value R fixest and pyfixest report; linearmodels counts every
absorbed level (0.014820).
"""

from __future__ import annotations

import numpy as np

__all__ = ["crv1", "cluster_scores", "ssc_factor"]


def ssc_factor(n_obs: int, k: int, n_clusters: int) -> float:
    """The CRV1 small-sample factor ``G/(G-1) * (n-1)/(n-k)``.

    Examples
    --------
    >>> round(ssc_factor(2500, 6, 500), 6)
    1.004013
    """
    g = n_clusters
    return g / (g - 1) * (n_obs - 1) / max(n_obs - k, 1)


def cluster_scores(scores: np.ndarray, cluster_codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """Sum per-observation scores ``(n, p)`` within clusters: ``(G, p)``."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim == 1:
        scores = scores[:, None]
    out = np.zeros((n_clusters, scores.shape[1]))
    np.add.at(out, cluster_codes, scores)
    return out


def crv1(
    X: np.ndarray,
    resid: np.ndarray,
    cluster_codes: np.ndarray,
    *,
    k: int | None = None,
    bread: np.ndarray | None = None,
) -> np.ndarray:
    """CRV1 covariance of OLS coefficients on (already demeaned) regressors ``X``.

    Parameters
    ----------
    X : (n, p) array
        Regressors after absorbing fixed effects.
    resid : (n,) array
        OLS residuals.
    cluster_codes : (n,) int array
        Cluster index of each observation, ``0..G-1``.
    k : int, optional
        Parameter count for the small-sample factor; defaults to ``p``.
    bread : (p, p) array, optional
        ``(X'X)^{-1}`` if already computed.

    Returns
    -------
    (p, p) array

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 1)); e = rng.normal(size=100)
    >>> crv1(X, e, np.repeat(np.arange(20), 5)).shape
    (1, 1)
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    codes = np.asarray(cluster_codes)
    n_clusters = int(codes.max()) + 1 if len(codes) else 0
    if bread is None:
        bread = np.linalg.pinv(X.T @ X)
    s = cluster_scores(X * resid[:, None], codes, n_clusters)
    meat = s.T @ s
    c = ssc_factor(len(resid), X.shape[1] if k is None else k, n_clusters)
    return c * bread @ meat @ bread
