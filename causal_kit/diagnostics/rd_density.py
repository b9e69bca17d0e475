"""Manipulation test for regression discontinuity: the Cattaneo, Jansson & Ma density test.

A jump in the density of the running variable at the cutoff suggests that units sorted
themselves across it. :func:`density_test` estimates the density on each side with the
local-polynomial density estimator of Cattaneo, Jansson & Ma (2020, JASA), using the
empirical CDF as the outcome, and tests equality at the cutoff with the jackknife variance.
The defaults follow the authors' ``rddensity`` (p = 2, q = p + 1, triangular kernel,
unrestricted fit, "comb" bandwidths with the same regularisation), and reproduce its T
statistic. It is written here with closed-form kernel moments instead of wrapping
``rddensity`` to keep the package free of that dependency; the binomial tests of
``rddensity`` 3.0 are not reproduced (they are known to be wrong in that release).

Examples
--------
>>> from causal_kit import datasets
>>> from causal_kit.diagnostics.rd_density import density_test
>>> x = datasets.load("senate")["margin"].to_numpy()
>>> out = density_test(x, cutoff=0.0)
>>> round(out.statistic, 4), round(out.p_value, 4)
(-0.8753, 0.3814)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from ..errors import DataError

__all__ = ["DensityTest", "density_test", "density_bandwidths"]

_CB = [25884.444444494150957, 3430865.4551236177795, 845007948.04262602329, 330631733667.03808594,
       187774809656037.3125, 145729502641999264, 146013502974449876992]
_CC = [4.8000000000000246914, 548.57142857155463389, 100800.00000020420703, 29558225.458100609481,
       12896196859.612621307, 7890871468221.609375, 6467911284037581]


@dataclass(frozen=True)
class DensityTest:
    """Result of the density test.

    Attributes
    ----------
    statistic, p_value : float
        Jackknife T statistic for ``f(c+) - f(c-)`` and its two-sided normal p-value.
    f_left, f_right : float
        Estimated densities just left and right of the cutoff (order ``q`` fit).
    se_left, se_right, se_diff : float
        Jackknife standard errors.
    h_left, h_right : float
        Bandwidths.
    n_left, n_right, n_h_left, n_h_right : int
        Observations on each side, and within the bandwidths.
    """

    statistic: float
    p_value: float
    f_left: float
    f_right: float
    se_left: float
    se_right: float
    se_diff: float
    h_left: float
    h_right: float
    n_left: int
    n_right: int
    n_h_left: int
    n_h_right: int


def _moment(m: int, kernel: str) -> float:
    """``int_0^1 l^m K(l) dl`` for the kernels on [-1, 1]."""
    if kernel == "uniform":
        return 0.5 / (m + 1)
    if kernel == "epanechnikov":
        return 0.75 * (1 / (m + 1) - 1 / (m + 3))
    return 1 / (m + 1) - 1 / (m + 2)


def _hermite(x: float, p: int) -> float:
    """Probabilists' Hermite polynomial He_p(x)."""
    return float(np.polynomial.hermite_e.hermeval(x, [0] * p + [1]))


def _ecdf(x: np.ndarray) -> np.ndarray:
    """``(rank) / (n - 1)`` with ties given the rank of their last member (rddensity)."""
    n = len(x)
    y = np.arange(n) / (n - 1)
    last = np.r_[x[1:] != x[:-1], True]
    idx_last = np.flatnonzero(last)
    freq = np.diff(np.r_[-1, idx_last])
    if len(idx_last) == n:
        return y
    return np.repeat(y[idx_last], freq)


def _fit(y: np.ndarray, x: np.ndarray, n: int, hl: float, hr: float, p: int, s: int, kernel: str,
         mass: bool) -> dict:
    """Unrestricted local-polynomial CDF fit on both sides (x sorted, centred, in window)."""
    left = x < 0
    w = np.where(left, x / hl, x / hr)
    u = np.abs(w)
    if kernel == "uniform":
        k = np.full_like(u, 0.5)
    elif kernel == "epanechnikov":
        k = 0.75 * (1 - u**2)
    else:
        k = 1 - u
    k = k / np.where(left, hl, hr)
    xp = np.zeros((len(x), 2 * p + 2))
    hp = np.zeros(2 * p + 2)
    for j in range(p + 1):
        xp[left, 2 * j] = w[left] ** j
        xp[~left, 2 * j + 1] = w[~left] ** j
        hp[2 * j], hp[2 * j + 1] = hl**j, hr**j
    xpw = xp * k[:, None]
    sinv = np.linalg.inv(xpw.T @ xp)
    b = (xpw.T @ y) @ sinv / hp
    # Jackknife: leave-one-out influence via reverse cumulative sums of the weighted design.
    tail = np.vstack([np.zeros((1, xp.shape[1])), np.cumsum(xpw[::-1], axis=0)]) / (n - 1)
    nh = len(x)
    lmat = tail[nh - 1 :: -1] if nh else tail[:0]
    if mass:
        first = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])
        freq = np.diff(np.r_[first, nh])
        lmat = np.repeat(lmat[first], freq, axis=0)
    v = (sinv @ (lmat.T @ lmat) @ sinv) / np.outer(hp, hp)
    return dict(fl=b[2], fr=b[3], sl=b[2 * s], sr=b[2 * s + 1], vl=v[2, 2], vr=v[3, 3],
                vdiff=v[2, 2] + v[3, 3] - 2 * v[2, 3])


def density_bandwidths(x: np.ndarray, p: int = 2, kernel: str = "triangular") -> tuple[float, float]:
    """rddensity's "comb" bandwidths ``(h_left, h_right)`` for sorted, centred ``x``."""
    n = len(x)
    nl = int(np.searchsorted(x, 0.0, side="left"))
    nr = n - nl
    uniq = np.unique(x)
    nlu = int(np.searchsorted(uniq, 0.0, side="left"))
    nru = len(uniq) - nlu
    mass = len(uniq) != n
    mu, sd = float(np.mean(x)), float(np.std(x, ddof=1))
    z = mu / sd
    fhatb = 1 / (_hermite(z, p + 2) ** 2 * np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi))
    fhatc = 1 / (_hermite(z, p) ** 2 * np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi))
    bn = ((2 * p + 1) / 4 * fhatb * _CB[p - 1] / n) ** (1 / (2 * p + 5)) * sd
    cn = (1 / (2 * p) * fhatc * _CC[p - 1] / n) ** (1 / (2 * p + 1)) * sd
    absl = np.abs(x[:nl])[::-1]
    xr = x[nl:]
    absl_u = np.abs(uniq[:nlu])[::-1]
    xr_u = uniq[nlu:]
    n_loc = 20 + p + 1
    bn = min(bn, float(np.max(np.abs(uniq))))
    cn = min(cn, float(np.max(np.abs(uniq))))
    bn = max(bn, absl[min(n_loc + 1, nl) - 1], xr[min(n_loc + 1, nr) - 1])
    cn = max(cn, absl[min(n_loc, nl) - 1], xr[min(n_loc, nr) - 1])
    bn = max(bn, absl_u[min(n_loc + 1, nlu) - 1], xr_u[min(n_loc + 1, nru) - 1])
    cn = max(cn, absl_u[min(n_loc, nlu) - 1], xr_u[min(n_loc, nru) - 1])
    y = _ecdf(x)
    mb, mc = np.abs(x) <= bn, np.abs(x) <= cn
    fb = _fit(y[mb], x[mb], n, bn, bn, p + 2, p + 1, kernel, mass)
    fc = _fit(y[mc], x[mc], n, cn, cn, p, 1, kernel, mass)
    s_mat = np.array([[_moment(i + j, kernel) for j in range(p + 1)] for i in range(p + 1)])
    c_vec = np.array([_moment(i + p + 1, kernel) for i in range(p + 1)])
    bias_const = (np.linalg.inv(s_mat) @ c_vec)[1]
    var = n * cn * np.array([fc["vl"], fc["vr"], fc["vdiff"], fc["vl"] + fc["vr"]])
    bl = fb["sl"] * bias_const * (-1) ** p
    br = fb["sr"] * bias_const
    bias2 = np.array([bl, br, br - bl, br + bl]) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        hn = (1 / (2 * p) * var / bias2 / n) ** (1 / (2 * p + 1))
    hn = np.where(np.isnan(hn) | (var < 0), 0.0, hn)
    rl, rr = abs(uniq[0]), uniq[-1]
    hn = np.minimum(hn, [rl, rr, max(rl, rr), max(rl, rr)])
    hlmin = max(absl[min(nl, n_loc) - 1], absl_u[min(nlu, n_loc) - 1])
    hrmin = max(xr[min(nr, n_loc) - 1], xr_u[min(nru, n_loc) - 1])
    hn = np.maximum(hn, [hlmin, hrmin, max(hlmin, hrmin), max(hlmin, hrmin)])
    h_l = float(np.median([hn[0], hn[2], hn[3]]))
    h_r = float(np.median([hn[1], hn[2], hn[3]]))
    return h_l, h_r


def density_test(
    running: np.ndarray, cutoff: float, *, p: int = 2, kernel: str = "triangular",
    h: tuple[float, float] | None = None,
) -> DensityTest:
    """Test for a discontinuity in the density of ``running`` at ``cutoff``.

    Parameters
    ----------
    running : array
        The running variable (no NaN).
    cutoff : float
    p : int
        Order of the local polynomial used for the bandwidths; the test uses ``p + 1``.
    kernel : {"triangular", "epanechnikov", "uniform"}
    h : (float, float), optional
        Bandwidths left and right; selected by rddensity's "comb" rule when omitted.

    Returns
    -------
    DensityTest

    Examples
    --------
    >>> from causal_kit import datasets
    >>> x = datasets.load("senate")["margin"].to_numpy()
    >>> round(density_test(x, 0.0).h_left, 4)
    19.8411
    """
    x = np.sort(np.asarray(running, dtype=float)) - cutoff
    if np.isnan(x).any():
        raise DataError("the running variable has missing values; drop them before the density test.")
    nl = int(np.searchsorted(x, 0.0, side="left"))
    nr = len(x) - nl
    if min(nl, nr) < 2 * (p + 3):
        raise DataError(
            f"the density test needs at least {2 * (p + 3)} observations on each side of the cutoff; "
            f"got {nl} left and {nr} right."
        )
    hl, hr = density_bandwidths(x, p, kernel) if h is None else h
    mask = (x >= -hl) & (x <= hr)
    xh = x[mask]
    y = _ecdf(x)[mask]
    mass = len(np.unique(x)) != len(x)
    fit = _fit(y, xh, len(x), hl, hr, p + 1, 1, kernel, mass)
    diff = fit["fr"] - fit["fl"]
    se = math.sqrt(fit["vdiff"]) if fit["vdiff"] > 0 else math.nan
    t = diff / se
    pv = float(2 * ndtr(-abs(t)))
    nlh = int(np.sum(xh < 0))
    return DensityTest(
        statistic=float(t), p_value=pv, f_left=float(fit["fl"]), f_right=float(fit["fr"]),
        se_left=math.sqrt(max(fit["vl"], 0.0)), se_right=math.sqrt(max(fit["vr"], 0.0)), se_diff=se,
        h_left=float(hl), h_right=float(hr), n_left=nl, n_right=nr, n_h_left=nlh, n_h_right=len(xh) - nlh,
    )
