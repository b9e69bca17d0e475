"""Data-driven RD bandwidths: MSE-optimal and CER-optimal, common, two-sided or sum.

The selectors follow Calonico, Cattaneo & Titiunik (2014) and Calonico, Cattaneo & Farrell
(2020) as implemented in the authors' ``rdbwselect`` (R 4.0 / Python 2.1): a rule-of-thumb
pilot, a pilot bandwidth ``d`` for the ``q+1`` derivative, the bias bandwidth ``b`` with its
regularisation term, then the point-estimation bandwidth ``h``. CER-optimal bandwidths shrink
the MSE-optimal ``h`` by ``N^{-p / ((3 + p)(3 + 2p))}``. Written on top of the vectorised
engine in :mod:`causal_kit.estimators._rd_local`.
"""

from __future__ import annotations

import math

import numpy as np

from ._rd_local import Side, meat, n_distinct, nn_window, residuals, take, vander, window, wls_inv

__all__ = ["select_bandwidths", "BWSELECT"]

BWSELECT = ("mserd", "msetwo", "msesum", "cerrd", "certwo", "cersum")
_C_C = {"triangular": 2.576, "epanechnikov": 2.34, "uniform": 1.843}
_EPS = math.sqrt(np.finfo(float).eps)


def _quantile_type2(x: np.ndarray, prob: float) -> float:
    """Hyndman-Fan type-2 quantile of sorted ``x`` (R's ``quantile(type = 2)``)."""
    n = len(x)
    hh = n * prob
    j = int(math.floor(hh))
    if hh == j:
        return 0.5 * (x[j - 1] + x[j])
    return float(x[j])


class _SideBW:
    """Pilot regressions on one side, with the variance fits cached per (order, derivative)."""

    def __init__(self, side: Side, kernel: str, vce: str, nnmatch: int, h_v: float, fuzzy: bool, n_covs: int):
        self.side, self.kernel, self.vce, self.nnmatch = side, kernel, vce, nnmatch
        self.h_v, self.fuzzy, self.n_covs = h_v, fuzzy, n_covs
        self.clustered = side.cl is not None
        self._vfits: dict = {}

    def _vfit(self, o: int, nu: int) -> tuple[float, float, np.ndarray]:
        key = (o, nu)
        if key in self._vfits:
            return self._vfits[key]
        s = self.side
        sl, w, keep = window(s, self.h_v, self.kernel)
        ex, ed = take(s.x, sl, keep), take(s.d, sl, keep)
        ecl = take(s.cl, sl, keep)
        if n_distinct(ex) < o + 1:
            self._vfits[key] = (math.nan, math.nan, np.array([1.0]))
            return self._vfits[key]
        r = vander(ex, o)
        inv_g = wls_inv(r, w)
        rw = r * w[:, None]
        beta = inv_g @ (rw.T @ ed)
        dt = 1 if self.fuzzy else 0
        s_vec = np.zeros(ed.shape[1])
        s_vec[0] = 1.0
        cols_z = np.arange(1 + dt, 1 + dt + self.n_covs)
        gamma = None
        if self.n_covs:
            u = rw.T @ ed
            zwd = (ed[:, cols_z] * w[:, None]).T @ ed
            uigu = u[:, cols_z].T @ (inv_g @ u)
            gamma = np.linalg.pinv(zwd[:, cols_z] - uigu[:, cols_z]) @ (zwd[:, : 1 + dt] - uigu[:, : 1 + dt])
            s_vec[cols_z] = -gamma[:, 0]
        if self.fuzzy:
            fac = math.factorial(nu)
            if gamma is None:
                ty, tt = fac * beta[nu, 0], fac * beta[nu, 1]
                s_vec = np.array([1 / tt, -ty / tt**2])
            else:
                s_t = np.concatenate([[1.0], -gamma[:, 1]])
                ty = fac * (s_vec[np.r_[0, cols_z]] @ beta[nu, np.r_[0, cols_z]])
                tt = fac * (s_t @ beta[nu, np.r_[1, cols_z]])
                s_vec = np.concatenate([[1 / tt, -ty / tt**2], -(1 / tt) * gamma[:, 0] + (ty / tt**2) * gamma[:, 1]])
        res = residuals(ex, ed, self.vce, self.nnmatch, r, beta, inv_g, w, self.clustered,
                        lambda: nn_window(s, sl, keep, self.nnmatch))
        v_v = (inv_g @ meat(rw, res, s_vec, ecl, o + 1) @ inv_g)[nu, nu]
        v = rw.T @ (ex / self.h_v) ** (o + 1)
        hp = self.h_v ** np.arange(o + 1)
        b_const = (hp * (inv_g @ v))[nu]
        self._vfits[key] = (v_v, b_const, s_vec)
        return self._vfits[key]

    def component(self, o: int, nu: int, o_b: int, h_b: float, scale: float) -> tuple[float, float, float, float]:
        """(V, B, R, rate) of rdrobust's ``rdrobust_bw`` for this side."""
        rate = 1 / (2 * o + 3)
        v_v, b_const, s_vec = self._vfit(o, nu)
        if not math.isfinite(v_v) or not (math.isfinite(h_b) and h_b > 0):
            return math.nan, math.nan, math.nan, rate
        s = self.side
        sl, w, keep = window(s, h_b, self.kernel)
        ex, ed = take(s.x, sl, keep), take(s.d, sl, keep)
        if n_distinct(ex) < o_b + 1:
            return math.nan, math.nan, math.nan, rate
        r = vander(ex, o_b)
        inv_g = wls_inv(r, w)
        rw = r * w[:, None]
        beta = inv_g @ (rw.T @ ed)
        bw_reg = 0.0
        if scale > 0:
            ecl = take(s.cl, sl, keep)
            res = residuals(ex, ed, self.vce, self.nnmatch, r, beta, inv_g, w, self.clustered,
                            lambda: nn_window(s, sl, keep, self.nnmatch))
            v_b = (inv_g @ meat(rw, res, s_vec, ecl, o_b + 1) @ inv_g)[-1, -1]
            bw_reg = 3 * b_const**2 * v_b
        big_b = math.sqrt(2 * (o + 1 - nu)) * b_const * float(s_vec @ beta[-1, :])
        big_v = (2 * nu + 1) * self.h_v ** (2 * nu + 1) * v_v
        big_r = scale * (2 * (o + 1 - nu)) * bw_reg
        return big_v, big_b, big_r, rate


def select_bandwidths(
    left: Side, right: Side, *, p: int, q: int, kernel: str, bwselect: str, vce: str, nnmatch: int,
    fuzzy: bool, n_covs: int, masspoints: str = "adjust", bwcheck: int | None = None,
    bwrestrict: bool = True, scaleregul: float = 1.0, all_selectors: bool = False,
) -> dict[str, tuple[float, float, float, float]]:
    """Bandwidths ``(h_left, h_right, b_left, b_right)`` for ``bwselect`` (or every selector).

    ``left.x`` / ``right.x`` are ``running - cutoff``, sorted. Returns a dict keyed by
    selector name.
    """
    xl, xr = left.x, right.x
    n_l, n_r = len(xl), len(xr)
    n = n_l + n_r
    x_all = np.concatenate([xl, xr])
    iqr = _quantile_type2(x_all, 0.75) - _quantile_type2(x_all, 0.25)
    bwp = min(float(np.std(x_all, ddof=1)), iqr / 1.349)
    m_l, m_r = n_l, n_r
    uniq_l = uniq_r = None
    if masspoints in ("check", "adjust") or bwcheck is not None:
        uniq_l = xl[np.r_[True, xl[1:] != xl[:-1]]][::-1]  # sides are sorted: no re-sort
        uniq_r = xr[np.r_[True, xr[1:] != xr[:-1]]]
        m_l, m_r = len(uniq_l), len(uniq_r)
        if masspoints == "adjust" and bwcheck is None and (1 - m_l / n_l >= 0.2 or 1 - m_r / n_r >= 0.2):
            bwcheck = 10
    c_c = _C_C[kernel]
    c_bw = c_c * bwp * n ** (-1 / 5)
    if masspoints == "adjust":
        c_bw = c_c * bwp * (m_l + m_r) ** (-1 / 5)
    bw_max_l, bw_max_r = abs(float(xl[0])), abs(float(xr[-1]))
    bw_max = max(bw_max_l, bw_max_r)
    if bwrestrict:
        c_bw = min(c_bw, bw_max)
    bw_min_l = bw_min_r = 0.0
    if bwcheck is not None:
        bw_min_l = abs(uniq_l[min(bwcheck, m_l) - 1]) * (1 + _EPS)
        bw_min_r = abs(uniq_r[min(bwcheck, m_r) - 1]) * (1 + _EPS)
        c_bw = max(c_bw, bw_min_l, bw_min_r)
    sl = _SideBW(left, kernel, vce, nnmatch, c_bw, fuzzy, n_covs)
    sr = _SideBW(right, kernel, vce, nnmatch, c_bw, fuzzy, n_covs)
    range_l = abs(float(xl[0])) * (1 + _EPS)
    range_r = abs(float(xr[-1])) * (1 + _EPS)
    cd_l = sl.component(q + 1, q + 1, q + 2, range_l, 0)
    cd_r = sr.component(q + 1, q + 1, q + 2, range_r, 0)
    want = set(BWSELECT) if all_selectors else {bwselect}
    out: dict[str, tuple[float, float, float, float]] = {}
    check = bwcheck is not None

    def _cap(val: float, cap: float) -> float:
        return min(val, cap) if bwrestrict else val

    if want & {"msetwo", "certwo"}:
        d_l = _cap((cd_l[0] / cd_l[1] ** 2) ** cd_l[3], bw_max_l)
        d_r = _cap((cd_r[0] / cd_r[1] ** 2) ** cd_r[3], bw_max_r)
        if check:
            d_l, d_r = max(d_l, bw_min_l), max(d_r, bw_min_r)
        cb_l = sl.component(q, p + 1, q + 1, d_l, scaleregul)
        cb_r = sr.component(q, p + 1, q + 1, d_r, scaleregul)
        b_l = _cap((cb_l[0] / (cb_l[1] ** 2 + scaleregul * cb_l[2])) ** cb_l[3], bw_max_l)
        b_r = _cap((cb_r[0] / (cb_r[1] ** 2 + scaleregul * cb_r[2])) ** cb_r[3], bw_max_r)
        ch_l = sl.component(p, 0, q, b_l, scaleregul)
        ch_r = sr.component(p, 0, q, b_r, scaleregul)
        h_l = _cap((ch_l[0] / (ch_l[1] ** 2 + scaleregul * ch_l[2])) ** ch_l[3], bw_max_l)
        h_r = _cap((ch_r[0] / (ch_r[1] ** 2 + scaleregul * ch_r[2])) ** ch_r[3], bw_max_r)
        out["msetwo"] = (h_l, h_r, b_l, b_r)
    for name, sign in (("msesum", 1.0), ("mserd", -1.0)):
        if not want & {name, name.replace("mse", "cer")}:
            continue
        d = _cap(((cd_l[0] + cd_r[0]) / (cd_r[1] + sign * cd_l[1]) ** 2) ** cd_l[3], bw_max)
        if check:
            d = max(d, bw_min_l, bw_min_r)
        cb_l = sl.component(q, p + 1, q + 1, d, scaleregul)
        cb_r = sr.component(q, p + 1, q + 1, d, scaleregul)
        bb = _cap(((cb_l[0] + cb_r[0]) / ((cb_r[1] + sign * cb_l[1]) ** 2 + scaleregul * (cb_r[2] + cb_l[2])))
                  ** cb_l[3], bw_max)
        ch_l = sl.component(p, 0, q, bb, scaleregul)
        ch_r = sr.component(p, 0, q, bb, scaleregul)
        hh = _cap(((ch_l[0] + ch_r[0]) / ((ch_r[1] + sign * ch_l[1]) ** 2 + scaleregul * (ch_r[2] + ch_l[2])))
                  ** ch_l[3], bw_max)
        out[name] = (hh, hh, bb, bb)
    if left.cl is not None:
        g = len(np.unique(left.cl)) + len(np.unique(right.cl))
        cer_h = g ** (-(p / ((3 + p) * (3 + 2 * p))))
    else:
        cer_h = n ** (-(p / ((3 + p) * (3 + 2 * p))))
    for mse, cer in (("mserd", "cerrd"), ("msesum", "cersum"), ("msetwo", "certwo")):
        if cer in want:
            h_l, h_r, b_l, b_r = out[mse]
            out[cer] = (h_l * cer_h, h_r * cer_h, b_l, b_r)
    return {k: out[k] for k in BWSELECT if k in want}
