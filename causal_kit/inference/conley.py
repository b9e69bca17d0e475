"""Conley (1999) spatial-HAC covariance for panel regressions.

The meat adds, to the heteroskedasticity-robust sum of squared scores, the cross products of
scores of *different units in the same period* closer than ``cutoff_km`` (weight 1 for the
uniform kernel, ``1 - d / cutoff`` for the Bartlett kernel), and of *the same unit in
different periods* up to ``lag_cutoff`` periods apart (Bartlett weight ``1 - l / (L + 1)``),
the panel form of Hsiang (2010) used by Stata ``reg2hdfespatial`` and R ``conleyreg``
(spatial part within periods, serial part within units). No small-sample factor is applied
(as in ``conleyreg``). Pairs within the cutoff come from a k-d tree on unit-sphere
coordinates (:mod:`causal_kit.inference.exposure`), never an n^2 distance matrix, so the cost
grows with the number of close pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._typing import ConleyKernel, check_option
from ..errors import SpecError

__all__ = ["conley_vcov"]


def conley_vcov(X: np.ndarray, resid: np.ndarray, lat: np.ndarray, lon: np.ndarray, time: np.ndarray,
                unit: np.ndarray, *, cutoff_km: float, kernel: str = "bartlett", lag_cutoff: int = 0,
                bread: np.ndarray | None = None) -> np.ndarray:
    """Spatial-HAC covariance of OLS coefficients on (already demeaned) regressors ``X``.

    Parameters
    ----------
    X : (n, p) array
        Regressors (after absorbing fixed effects).
    resid : (n,) array
        OLS residuals.
    lat, lon : (n,) arrays
        Coordinates of each observation's unit, decimal degrees.
    time, unit : (n,) arrays
        Period and unit labels of each observation (for the within-period spatial sum and
        the within-unit serial sum).
    cutoff_km : float
        Distance beyond which scores are uncorrelated.
    kernel : {"bartlett", "uniform"}
        Spatial kernel.
    lag_cutoff : int
        Periods (positions among the sorted distinct periods) over which a unit's scores are
        serially correlated; 0 = spatial correlation only.
    bread : (p, p) array, optional
        ``(X'X)^{-1}`` if already computed.

    Returns
    -------
    (p, p) array

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = 200; lat = rng.uniform(40, 41, n); lon = rng.uniform(-100, -99, n)
    >>> X = rng.normal(size=(n, 1)); e = rng.normal(size=n)
    >>> V = conley_vcov(X, e, lat, lon, np.zeros(n), np.arange(n), cutoff_km=10.0)
    >>> V.shape
    (1, 1)
    """
    from scipy.spatial import cKDTree

    from .exposure import _arc_km, _chord, _sphere, check_coordinates

    check_option(kernel, ConleyKernel, "kernel", "conley_vcov")
    if not (isinstance(cutoff_km, (int, float)) and not isinstance(cutoff_km, bool) and cutoff_km > 0):
        raise SpecError(f"The 'cutoff_km' parameter of conley_vcov must be a positive number. Got {cutoff_km!r} instead.")
    if isinstance(lag_cutoff, bool) or not isinstance(lag_cutoff, (int, np.integer)) or lag_cutoff < 0:
        raise SpecError(f"The 'lag_cutoff' parameter of conley_vcov must be an int >= 0. Got {lag_cutoff!r} instead.")
    X = np.asarray(X, dtype=float)
    X = X[:, None] if X.ndim == 1 else X
    lat, lon = check_coordinates(lat, lon)
    scores = X * np.asarray(resid, dtype=float)[:, None]
    t_codes = np.unique(np.asarray(time), return_inverse=True)[1].ravel()
    u_codes = np.unique(np.asarray(unit), return_inverse=True)[1].ravel()
    meat = scores.T @ scores
    # spatial part: different units, same period, closer than the cutoff
    pts = _sphere(lat, lon)
    chord_cut = float(_chord(cutoff_km))
    for t in np.unique(t_codes):
        idx = np.flatnonzero(t_codes == t)
        if len(idx) < 2:
            continue
        pairs = cKDTree(pts[idx]).query_pairs(chord_cut, output_type="ndarray")
        if len(pairs) == 0:
            continue
        i, j = idx[pairs[:, 0]], idx[pairs[:, 1]]
        if kernel == "bartlett":
            d = _arc_km(np.linalg.norm(pts[i] - pts[j], axis=1))
            w = np.clip(1.0 - d / cutoff_km, 0.0, None)
        else:
            w = np.ones(len(i))
        cross = (scores[i] * w[:, None]).T @ scores[j]
        meat += cross + cross.T
    # serial part: same unit, different periods, up to lag_cutoff apart
    if lag_cutoff > 0:
        meat += _serial(scores, u_codes, t_codes, int(lag_cutoff))
    if bread is None:
        bread = np.linalg.pinv(X.T @ X)
    return bread @ meat @ bread


def _serial(scores: np.ndarray, u_codes: np.ndarray, t_codes: np.ndarray, lag_cutoff: int) -> np.ndarray:
    """Bartlett-weighted within-unit cross products of scores at lags 1..lag_cutoff."""
    n_u, n_t = int(u_codes.max()) + 1, int(t_codes.max()) + 1
    p = scores.shape[1]
    grid = np.zeros((n_u, n_t, p))
    grid[u_codes, t_codes] = scores  # absent cells stay zero and add nothing
    out = np.zeros((p, p))
    for lag in range(1, min(lag_cutoff, n_t - 1) + 1):
        w = 1.0 - lag / (lag_cutoff + 1.0)
        a = grid[:, lag:, :].reshape(-1, p)
        b = grid[:, :-lag, :].reshape(-1, p)
        cross = w * (a.T @ b)
        out += cross + cross.T
    return out


def conley_details(cutoff_km: float, kernel: str, lag_cutoff: int) -> dict[str, Any]:
    """The settings recorded on a result that used Conley standard errors."""
    return {"vcov": "conley", "conley_cutoff_km": float(cutoff_km), "conley_kernel": kernel,
            "conley_lag_cutoff": int(lag_cutoff)}
