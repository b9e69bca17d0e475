"""Local-polynomial engine for regression discontinuity: kernels, residuals, variance, the RD fit.

This module implements the estimator of Calonico, Cattaneo & Titiunik (2014) and Calonico,
Cattaneo, Farrell & Titiunik (2019) with the conventions of the authors' ``rdrobust``
(R 4.0 / Python 2.1): conventional local-polynomial estimate of order ``p``, the bias
correction of order ``q`` and the robust variance, nearest-neighbour or HC0-HC3 residuals,
CR1 clustering, covariate adjustment and fuzzy designs.

It is written here, vectorised, rather than wrapping ``rdrobust`` because the data are sorted
once, every kernel window is a contiguous slice found with ``searchsorted`` and the
nearest-neighbour residuals are computed for all observations at once from cumulative sums
(``rdrobust`` loops per observation), which makes it faster at scale with the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Side", "n_distinct", "kernel_weights", "window", "nn_residuals", "hc_residuals", "meat", "wls_inv", "rd_fit"]


@dataclass
class Side:
    """One side of the cutoff, sorted by distance-signed running variable ``x - c``.

    ``d`` holds the columns the fit smooths: outcome, then treatment received (fuzzy), then
    covariates. ``cl`` holds integer cluster codes, ``fw`` prior weights.
    """

    x: np.ndarray
    d: np.ndarray
    fw: np.ndarray | None = None
    cl: np.ndarray | None = None
    left: bool = True
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.x)


def kernel_weights(x: np.ndarray, h: float, kernel: str) -> np.ndarray:
    """Kernel weights ``K(x / h) / h`` with rdrobust's constants."""
    u = np.abs(x / h)
    if kernel == "epanechnikov":
        return 0.75 * (1 - u**2) * (u <= 1) / h
    if kernel == "uniform":
        return 0.5 * (u <= 1) / h
    return (1 - u) * (u <= 1) / h


def window(side: Side, h: float, kernel: str) -> tuple[slice, np.ndarray, np.ndarray | None]:
    """The observations with positive weight at bandwidth ``h``: (slice, weights, keep-mask).

    ``x`` is sorted, so the window is a contiguous slice; only with prior weights (some may be
    zero) is a further mask needed.
    """
    x = side.x
    if side.left:
        lo, hi = int(np.searchsorted(x, -h, side="left")), side.n
    else:
        lo, hi = 0, int(np.searchsorted(x, h, side="right"))
    sl = slice(lo, hi)
    w = kernel_weights(x[sl], h, kernel)
    if side.fw is not None:
        w = w * side.fw[sl]
    keep = w > 0
    if keep.all():
        return sl, w, None
    # Triangular/Epanechnikov weights vanish at |x| = h; prior weights may be zero.
    return sl, w[keep], keep


def n_distinct(x: np.ndarray) -> int:
    """Number of distinct values of a monotone (sorted) array, without re-sorting it."""
    return int(len(x) > 0) + int(np.count_nonzero(x[1:] != x[:-1]))


def take(arr: np.ndarray | None, sl: slice, keep: np.ndarray | None) -> np.ndarray | None:
    """Rows ``sl`` of ``arr``, further filtered by ``keep``."""
    if arr is None:
        return None
    out = arr[sl]
    return out if keep is None else out[keep]


def vander(x: np.ndarray, order: int) -> np.ndarray:
    """Columns ``1, x, ..., x**order``."""
    out = np.empty((len(x), order + 1))
    out[:, 0] = 1.0
    for j in range(1, order + 1):
        out[:, j] = out[:, j - 1] * x
    return out


def wls_inv(r: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``(R' W R)^{-1}`` by Cholesky, falling back to a pseudo-inverse when singular."""
    g = (r * w[:, None]).T @ r
    try:
        chol = np.linalg.cholesky(g)
        inv_l = np.linalg.inv(chol)
        return inv_l.T @ inv_l
    except np.linalg.LinAlgError:
        return np.linalg.pinv(g)


def nn_residuals(x: np.ndarray, d: np.ndarray, matches: int) -> np.ndarray:
    """Nearest-neighbour residuals of every column of ``d`` (see :func:`_nn_core`)."""
    return _nn_core(x, d, matches)[0]


def nn_window(side: Side, sl: slice, keep: np.ndarray | None, matches: int) -> np.ndarray:
    """Nearest-neighbour residuals within the window ``sl`` of ``side``, reusing the full side.

    A window always contains the cutoff end of its side, so only observations whose
    neighbours reach past the window's outer edge differ from the full-side residuals; those
    few are recomputed on a short stretch at the edge.
    """
    if keep is not None:
        return nn_residuals(side.x[sl][keep], side.d[sl][keep], matches)
    key = ("nn", matches)
    if key not in side.cache:
        side.cache[key] = _nn_core(side.x, side.d, matches)
    full, start, stop = side.cache[key]
    a, b = sl.start, sl.stop
    res = full[a:b].copy()
    width = b - a
    bad = np.flatnonzero(start[a:b] < a) if side.left else np.flatnonzero(stop[a:b] > b)
    if not bad.size:
        return res
    k = int(bad.max()) + 1 if side.left else width - int(bad.min())
    m = min(width, max(64, 4 * k))
    while True:
        if side.left:
            sub, s_start, s_stop = _nn_core(side.x[a : a + m], side.d[a : a + m], matches)
            ok = m == width or bool(np.all(s_stop[:k] < m))
            if ok:
                res[:k] = sub[:k]
                return res
        else:
            sub, s_start, s_stop = _nn_core(side.x[b - m : b], side.d[b - m : b], matches)
            ok = m == width or bool(np.all(s_start[m - k :] > 0))
            if ok:
                res[width - k :] = sub[m - k :]
                return res
        m = min(width, 2 * m)


def _nn_core(x: np.ndarray, d: np.ndarray, matches: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest-neighbour residuals (Abadie-Imbens style) for every column of ``d``.

    Each observation is compared with the mean of its at-least-``matches`` nearest neighbours
    on the same side (ties in distance and mass points enter whole), scaled by
    ``sqrt(J / (J + 1))`` as in rdrobust. Vectorised over mass points: at most ``matches``
    passes over the data instead of a loop per observation.
    """
    n = len(x)
    first = np.r_[True, x[1:] != x[:-1]]  # x is sorted: groups of ties are runs
    starts = np.flatnonzero(first)
    vals = x[starts]
    counts = np.diff(np.r_[starts, n])
    n_groups = len(vals)
    target = min(matches, n - 1)
    # Padded group coordinates: sentinels at -inf / +inf are never the nearer neighbour.
    vals_p = np.concatenate([[-np.inf], vals, [np.inf]])
    counts_p = np.concatenate([[0], counts, [0]])
    lo = np.arange(1, n_groups + 1)
    hi = lo.copy()
    cnt = counts - 1
    while True:
        act = cnt < target
        if not act.any():
            break
        dl = vals - vals_p[lo - 1]
        dr = vals_p[hi + 1] - vals
        take_l = (dl <= dr) & act
        take_r = (dr <= dl) & act
        lo -= take_l
        hi += take_r
        cnt += counts_p[lo] * take_l + counts_p[hi] * take_r
    start = starts[lo - 1]
    stop = starts[hi - 1] + counts[hi - 1]
    d2 = d.reshape(n, -1)
    cs = np.vstack([np.zeros((1, d2.shape[1])), np.cumsum(d2, axis=0)])
    if n_groups < n:
        group = np.repeat(np.arange(n_groups), counts)
        start, stop = start[group], stop[group]
    sums = cs[stop] - cs[start]
    j = (stop - start - 1).astype(float)[:, None]
    return np.sqrt(j / (j + 1)) * (d2 - (sums - d2) / j), start, stop


def hc_residuals(
    d: np.ndarray, pred: np.ndarray, vce: str, n_coef: int, hii: np.ndarray | None, clustered: bool
) -> np.ndarray:
    """Plug-in residuals ``d - pred`` scaled for HC0/HC1/HC2/HC3 (HC1 unscaled when clustered)."""
    n = len(d)
    if vce == "hc0" or (vce == "hc1" and clustered):
        scale: float | np.ndarray = 1.0
    elif vce == "hc1":
        scale = math.sqrt(n / (n - n_coef))
    elif vce == "hc2":
        scale = np.sqrt(1 / np.maximum(1 - hii, 1e-8))[:, None]
    else:
        scale = (1 / np.maximum(1 - hii, 1e-8))[:, None]
    return scale * (d - pred)


def leverage(r: np.ndarray, inv_g: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Diagonal of the weighted hat matrix ``R (R'WR)^{-1} R' W``."""
    return np.einsum("ij,ij->i", r @ inv_g, r * w[:, None])


def meat(rx: np.ndarray, res: np.ndarray, s: np.ndarray, cl: np.ndarray | None, k_df: int) -> np.ndarray:
    """Middle of the sandwich for the combination ``res @ s`` of residual columns.

    Without clusters: ``sum_i r_i^2 x_i x_i'``. With clusters: CR1,
    ``(n-1)/(n-k) * G/(G-1) * sum_g (X_g' r_g)(X_g' r_g)'``.
    """
    r = res @ s
    if cl is None:
        return (rx * (r * r)[:, None]).T @ rx
    n = len(r)
    codes, inv = np.unique(cl, return_inverse=True)
    g = len(codes)
    scores = rx * r[:, None]
    sums = np.column_stack([np.bincount(inv, weights=scores[:, j], minlength=g) for j in range(rx.shape[1])])
    factor = ((n - 1) / (n - k_df)) * (g / (g - 1)) if g > 1 else math.nan
    return factor * (sums.T @ sums)


def residuals(
    x: np.ndarray, d: np.ndarray, vce: str, nnmatch: int, r: np.ndarray, beta: np.ndarray,
    inv_g: np.ndarray, w: np.ndarray, clustered: bool, nn_fn: Any = None,
) -> np.ndarray:
    """Residuals for the variance: nearest-neighbour, or from the fit ``r @ beta``.

    ``nn_fn`` (no arguments) returns the nearest-neighbour residuals when the caller can
    compute them faster than from ``x, d`` alone (see :func:`nn_window`).
    """
    if vce == "nn":
        return nn_fn() if nn_fn is not None else nn_residuals(x, d, nnmatch)
    hii = leverage(r, inv_g, w) if vce in ("hc2", "hc3") else None
    return hc_residuals(d, r @ beta, vce, r.shape[1], hii, clustered)


@dataclass
class SideFit:
    """Per-side pieces of the RD fit."""

    n_h: int
    n_b: int
    beta_p: np.ndarray
    beta_bc: np.ndarray
    v_cl: np.ndarray | None = None
    v_rb: np.ndarray | None = None
    parts: dict | None = None


def _side_pieces(side: Side, p: int, q: int, h: float, b: float, kernel: str) -> dict:
    sl_h, w_h_all, keep_h = window(side, h, kernel)
    sl_b, w_b_all, keep_b = window(side, b, kernel)
    n_h = len(w_h_all)
    n_b = len(w_b_all)
    # The estimation sample is the wider of the two windows (rdrobust's ind_l / ind_r).
    sl = sl_h if h > b else sl_b
    ex = side.x[sl]
    w_h = kernel_weights(ex, h, kernel)
    w_b = kernel_weights(ex, b, kernel)
    if side.fw is not None:
        w_h = w_h * side.fw[sl]
        w_b = w_b * side.fw[sl]
    keep = (w_h > 0) if h > b else (w_b > 0)
    if keep.all():
        ed, ecl, keep_mask = side.d[sl], (None if side.cl is None else side.cl[sl]), None
    else:
        ex, w_h, w_b = ex[keep], w_h[keep], w_b[keep]
        ed = side.d[sl][keep]
        ecl = None if side.cl is None else side.cl[sl][keep]
        keep_mask = keep
    r_q = vander(ex, q)
    r_p = r_q[:, : p + 1]
    rw_p = r_p * w_h[:, None]
    u = ex / h
    lvec = rw_p.T @ u ** (p + 1)
    inv_q = wls_inv(r_q, w_b)
    inv_p = wls_inv(r_p, w_h)
    m = (r_q @ inv_q[p + 1, :]) * w_b
    q_q = rw_p - h ** (p + 1) * m[:, None] * lvec[None, :]
    beta_p = inv_p @ (rw_p.T @ ed)
    beta_q = inv_q @ ((r_q * w_b[:, None]).T @ ed)
    beta_bc = inv_p @ (q_q.T @ ed)
    return dict(side=side, sl=sl, keep=keep_mask, ex=ex, ed=ed, w_h=w_h, w_b=w_b, cl=ecl, r_q=r_q, r_p=r_p, rw_p=rw_p, inv_q=inv_q,
                inv_p=inv_p, q_q=q_q, beta_p=beta_p, beta_q=beta_q, beta_bc=beta_bc, n_h=n_h, n_b=n_b)


def rd_fit(
    left: Side, right: Side, *, p: int, q: int, h: tuple[float, float], b: tuple[float, float],
    kernel: str, vce: str, nnmatch: int, fuzzy: bool, n_covs: int,
) -> dict:
    """Conventional and bias-corrected RD estimates with conventional and robust SEs.

    Returns a dict with ``tau_cl, tau_bc, se_cl, se_rb``, window counts, per-side
    coefficients, and for fuzzy designs the first stage (``tau_t_cl, se_t_cl, ...``).
    """
    dt = 1 if fuzzy else 0
    sides = [_side_pieces(s, p, q, hh, bb, kernel) for s, hh, bb in zip((left, right), h, b)]
    pl, pr = sides
    beta_p = pr["beta_p"] - pl["beta_p"]
    beta_bc = pr["beta_bc"] - pl["beta_bc"]
    out: dict = {}
    cols_z = np.arange(1 + dt, 1 + dt + n_covs)
    gamma = None
    if n_covs:
        zwz = np.zeros((n_covs, n_covs))
        zwy = np.zeros((n_covs, 1 + dt))
        for sp in sides:
            ud = sp["rw_p"].T @ sp["ed"]
            zwd = (sp["ed"][:, cols_z] * sp["w_h"][:, None]).T @ sp["ed"]
            uigu = ud[:, cols_z].T @ (sp["inv_p"] @ ud)
            zwz += zwd[:, cols_z] - uigu[:, cols_z]
            zwy += zwd[:, : 1 + dt] - uigu[:, : 1 + dt]
        gamma = np.linalg.pinv(zwz) @ zwy
        out["gamma"] = gamma[:, 0]
    s_y = np.zeros(beta_p.shape[1])
    s_y[0] = 1.0
    if gamma is not None:
        s_y[cols_z] = -gamma[:, 0]
    if not fuzzy:
        tau_cl = float(s_y @ beta_p[0])
        tau_bc = float(s_y @ beta_bc[0])
    else:
        s_t = np.zeros_like(s_y)
        s_t[1] = 1.0
        if gamma is not None:
            s_t[cols_z] = -gamma[:, 1]
        s_y_only = s_y.copy()
        ty_cl, tt_cl = float(s_y_only @ beta_p[0]), float(s_t @ beta_p[0])
        ty_bc, tt_bc = float(s_y_only @ beta_bc[0]), float(s_t @ beta_bc[0])
        tau_cl = ty_cl / tt_cl
        grad = np.array([1 / tt_cl, -ty_cl / tt_cl**2])
        tau_bc = tau_cl - float(grad @ np.array([ty_cl - ty_bc, tt_cl - tt_bc]))
        s_y = np.zeros_like(s_y)
        s_y[0], s_y[1] = grad
        if gamma is not None:
            s_y[cols_z] = -(1 / tt_cl) * gamma[:, 0] + (ty_cl / tt_cl**2) * gamma[:, 1]
        out.update(tau_t_cl=tt_cl, tau_t_bc=tt_bc, tau_y_cl=ty_cl, tau_y_bc=ty_bc)
    v_cl = v_rb = 0.0
    vt_cl = vt_rb = 0.0
    clustered = left.cl is not None
    hb_match = h[0] == b[0] and h[1] == b[1]
    for sp in sides:
        res_h = residuals(sp["ex"], sp["ed"], vce, nnmatch, sp["r_p"], sp["beta_p"], sp["inv_p"], sp["w_h"],
                          clustered, lambda sp=sp: nn_window(sp["side"], sp["sl"], sp["keep"], nnmatch))
        res_b = res_h if vce == "nn" else residuals(
            sp["ex"], sp["ed"], vce, nnmatch, sp["r_q"], sp["beta_q"], sp["inv_q"], sp["w_b"], clustered)
        ip = sp["inv_p"]
        v_cl += (ip @ meat(sp["rw_p"], res_h, s_y, sp["cl"], p + 1) @ ip)[0, 0]
        if hb_match and clustered:
            iq = sp["inv_q"]
            rwq = sp["r_q"] * sp["w_h"][:, None]
            v_rb += (iq @ meat(rwq, res_b, s_y, sp["cl"], q + 1) @ iq)[0, 0]
        else:
            v_rb += (ip @ meat(sp["q_q"], res_b, s_y, sp["cl"], q + 1) @ ip)[0, 0]
        if fuzzy:
            vt_cl += (ip @ meat(sp["rw_p"], res_h, s_t, sp["cl"], p + 1) @ ip)[0, 0]
            if hb_match and clustered:
                vt_rb += (iq @ meat(rwq, res_b, s_t, sp["cl"], q + 1) @ iq)[0, 0]
            else:
                vt_rb += (ip @ meat(sp["q_q"], res_b, s_t, sp["cl"], q + 1) @ ip)[0, 0]
    out.update(
        tau_cl=tau_cl, tau_bc=tau_bc, se_cl=math.sqrt(v_cl), se_rb=math.sqrt(v_rb),
        n_h=(pl["n_h"], pr["n_h"]), n_b=(pl["n_b"], pr["n_b"]),
        beta_p_l=pl["beta_p"][:, 0].copy(), beta_p_r=pr["beta_p"][:, 0].copy(),
    )
    if fuzzy:
        out.update(se_t_cl=math.sqrt(vt_cl), se_t_rb=math.sqrt(vt_rb),
                   beta_t_l=pl["beta_p"][:, 1].copy(), beta_t_r=pr["beta_p"][:, 1].copy())
    return out
