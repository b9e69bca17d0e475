"""HonestDiD fixed-length confidence intervals (FLCI) under smoothness restrictions.

Rambachan & Roth (2023), Section 4.1: under ``Delta^SD(M)`` (second differences of the
trend violation ``delta`` within ``[-M, M]``, ``delta`` zero at the reference period) the
affine estimator ``v'beta_hat``, with post-period weights fixed to ``l`` and pre-period
weights chosen, has worst-case bias ``M * (c + sum_k |W_k|)`` where ``W`` are the cumulated
pre-period weights ``w`` (``w`` the cumulated pre weights, constrained so that a linear trend
cancels: ``sum(w) = sum_t t l_t``), and the interval
``v'beta_hat +/- cv_alpha(bias / sd) * sd`` (``cv_alpha(b)`` the ``1 - alpha`` quantile of
``|N(b, 1)|``) covers ``l'tau_post`` for every ``delta`` in the set. The optimal ``v``
minimises that half-length: for each bound ``h`` on the standard deviation the smallest
worst-case bias is a small convex program, and the half-length is minimised over ``h``.

Written here with scipy (SLSQP for the inner program, Brent for ``h``, the folded-normal
quantile solved exactly) so causal_kit needs no conic solver; R ``HonestDiD`` and the
``honestdid`` port use CVXR / cvxpy and a simulated folded-normal quantile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SpecError

__all__ = ["FLCI", "flci", "flci_sensitivity", "flci_breakdown", "folded_normal_quantile"]


@dataclass(frozen=True)
class FLCI:
    """An optimal fixed-length confidence interval and the estimator behind it."""

    lower: float
    upper: float
    center: float
    half_length: float
    weights: np.ndarray  # v: pre-period weights then ``l``, in event-time order
    max_bias: float
    sd: float


def folded_normal_quantile(p: float, mean: float) -> float:
    """``q`` with ``P(|N(mean, 1)| <= q) = p``.

    Examples
    --------
    >>> round(folded_normal_quantile(0.95, 0.0), 6)
    1.959964
    """
    from scipy.optimize import brentq
    from scipy.special import ndtr

    mean = abs(float(mean))
    return float(brentq(lambda q: ndtr(q - mean) - ndtr(-q - mean) - p, 0.0, mean + 40.0, xtol=1e-14))


def _check_m(m: Any) -> np.ndarray:
    grid = np.atleast_1d(np.asarray(m, dtype=float))
    bad = ~np.isfinite(grid) | (grid < 0)
    if grid.ndim != 1 or len(grid) == 0 or bad.any():
        raise SpecError(f"the smoothness bound M must be finite and >= 0 (a bound on second differences of the "
                        f"trend, in outcome units per period^2); {int(bad.sum())} of {grid.size} values are not "
                        f"({grid.tolist()[:6]}). Pass values such as [0, 0.01, 0.02].")
    return grid


class _Problem:
    """The pieces of the FLCI program for ``K`` pre-periods and post weights ``lv``."""

    def __init__(self, V: np.ndarray, n_pre: int, lv: np.ndarray) -> None:
        self.k, self.lv = n_pre, lv
        n_post = len(lv)
        t = np.arange(1, n_post + 1)
        self.target = float(t @ lv)  # sum(w) so that a linear trend cancels
        self.const = sum(abs(float(np.arange(1, s + 1) @ lv[n_post - s:])) for s in range(1, n_post + 1)) - self.target
        # pre weights from cumulated weights: l_pre = D w (first differences)
        self.D = np.eye(n_pre) - np.eye(n_pre, k=-1)
        self.S_pre = V[:n_pre, :n_pre]
        self.S_cross = V[:n_pre, n_pre:] @ lv
        self.s_post = float(lv @ V[n_pre:, n_pre:] @ lv)
        self.Q = self.D.T @ self.S_pre @ self.D
        self.q = 2 * self.D.T @ self.S_cross

    def var(self, w: np.ndarray) -> float:
        return float(w @ self.Q @ w + self.q @ w + self.s_post)

    def bias(self, w: np.ndarray) -> float:
        return float(self.const + np.abs(np.cumsum(w)).sum())

    def min_var_w(self) -> np.ndarray:
        """Smallest-variance weights with ``sum(w) = target`` (an equality-constrained QP, via KKT)."""
        k = self.k
        kkt = np.block([[2 * self.Q, np.ones((k, 1))], [np.ones((1, k)), np.zeros((1, 1))]])
        rhs = np.r_[-self.q, self.target]
        return np.linalg.lstsq(kkt, rhs, rcond=None)[0][:k]

    def min_bias_w(self) -> np.ndarray:
        w = np.zeros(self.k)
        w[-1] = self.target
        return w

    def best_w(self, h: float, start: np.ndarray) -> np.ndarray:
        """Smallest worst-case bias with sd <= ``h``: min sum(U) s.t. |cumsum(w)| <= U, sum(w) = target."""
        from scipy.optimize import minimize

        k = self.k
        C = np.tril(np.ones((k, k)))
        x0 = np.r_[np.abs(C @ start), start]
        cons = [
            {"type": "ineq", "fun": lambda x: x[:k] - C @ x[k:], "jac": lambda x: np.hstack([np.eye(k), -C])},
            {"type": "ineq", "fun": lambda x: x[:k] + C @ x[k:], "jac": lambda x: np.hstack([np.eye(k), C])},
            {"type": "eq", "fun": lambda x: x[k:].sum() - self.target, "jac": lambda x: np.r_[np.zeros(k), np.ones(k)]},
            {"type": "ineq", "fun": lambda x: (h * h - self.var(x[k:])) / max(h * h, 1e-300),
             "jac": lambda x: np.r_[np.zeros(k), -(2 * self.Q @ x[k:] + self.q)] / max(h * h, 1e-300)},
        ]
        res = minimize(lambda x: x[:k].sum(), x0, jac=lambda x: np.r_[np.ones(k), np.zeros(k)], constraints=cons,
                       method="SLSQP", options={"ftol": 1e-15, "maxiter": 500})
        w = res.x[k:]
        if self.var(w) > h * h * (1 + 1e-6):  # infeasible step: fall back to the start
            return start
        return w


def flci(beta: Any, vcov: Any, event_times: Any, m: float, *, l_vec: Any = None, ref: int = -1,
         alpha: float = 0.05) -> FLCI:
    """Optimal FLCI for ``theta = l'tau_post`` under ``Delta^SD(M)``.

    Parameters
    ----------
    beta, vcov : arrays
        Event-study coefficients (reference period excluded) and their covariance.
    event_times : array of int
        Consecutive event times around ``ref`` with at least one before and one after.
    m : float
        ``M >= 0``: the bound on the second differences of the trend violation.
    l_vec : array, optional
        Weights on the post-period effects (default: the first post period, as HonestDiD).

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([0.01, -0.005, 0.02, 0.05, 0.06])
    >>> ci = flci(b, np.eye(5) * 1e-4, [-3, -2, 0, 1, 2], 0.0)
    >>> bool(ci.lower < ci.center < ci.upper)
    True
    """
    from scipy.optimize import minimize_scalar

    from .honest_did_arp import _layout

    m = float(_check_m(m)[0])
    b, V, n_pre, n_post = _layout(beta, vcov, event_times, ref)
    lv = np.eye(n_post)[0] if l_vec is None else np.asarray(l_vec, dtype=float)
    if lv.shape != (n_post,):
        raise SpecError(f"l_vec must have one weight per post period ({n_post}); got shape {lv.shape}.")
    pb = _Problem(V, n_pre, lv)
    w_lo, w_hi = pb.min_var_w(), pb.min_bias_w()
    h_lo, h_hi = np.sqrt(max(pb.var(w_lo), 0.0)), np.sqrt(max(pb.var(w_hi), 0.0))
    q = 1 - alpha

    def solve(h: float) -> tuple[float, np.ndarray]:
        w = pb.best_w(h, w_lo) if h < h_hi else w_hi
        sd = np.sqrt(max(pb.var(w), 0.0))
        return folded_normal_quantile(q, m * pb.bias(w) / sd) * sd, w

    if m == 0.0 or h_hi <= h_lo * (1 + 1e-12):
        w = w_lo if m == 0.0 else w_hi
    else:
        opt = minimize_scalar(lambda h: solve(h)[0], bounds=(h_lo, h_hi), method="bounded",
                              options={"xatol": 1e-7 * h_hi})
        cands = [(solve(h)) for h in (h_lo, float(opt.x), h_hi)]
        w = min(cands, key=lambda c: c[0])[1]
    sd = float(np.sqrt(max(pb.var(w), 0.0)))
    bias = m * pb.bias(w)
    half = folded_normal_quantile(q, bias / sd) * sd
    v = np.r_[pb.D @ w, lv]
    center = float(v @ b)
    return FLCI(center - half, center + half, center, float(half), v, float(bias), sd)


def flci_sensitivity(beta: Any, vcov: Any, event_times: Any, m_grid: Any = None, *, l_vec: Any = None,
                     ref: int = -1, alpha: float = 0.05) -> pd.DataFrame:
    """FLCIs over a grid of ``M`` values: a table ``m, lower, upper, center, half_length, max_bias, method``.

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([0.01, -0.005, 0.02, 0.05, 0.06])
    >>> tab = flci_sensitivity(b, np.eye(5) * 1e-4, [-3, -2, 0, 1, 2], [0, 0.01])
    >>> bool(tab["half_length"].is_monotonic_increasing)
    True
    """
    grid = _check_m([0.0, 0.005, 0.01, 0.02] if m_grid is None else m_grid)
    rows = []
    for m in grid:
        ci = flci(beta, vcov, event_times, float(m), l_vec=l_vec, ref=ref, alpha=alpha)
        rows.append({"m": float(m), "lower": ci.lower, "upper": ci.upper, "center": ci.center,
                     "half_length": ci.half_length, "max_bias": ci.max_bias, "method": "FLCI"})
    return pd.DataFrame(rows)


def flci_breakdown(beta: Any, vcov: Any, event_times: Any, *, l_vec: Any = None, ref: int = -1,
                   alpha: float = 0.05, upper: float | None = None, tol: float = 1e-4) -> float:
    """Smallest ``M`` at which the FLCI contains 0.

    The bound is bracketed by doubling ``M`` and then found with Brent's method on the
    interval's near end, to a relative tolerance ``tol``. ``nan`` when the FLCI contains 0
    already at ``M = 0``; ``inf`` when it still excludes 0 at ``upper`` (default: 100 times the
    largest absolute coefficient).

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([0.001, -0.001, 0.05, 0.06, 0.07])
    >>> bd = flci_breakdown(b, np.eye(5) * 1e-5, [-3, -2, 0, 1, 2])
    >>> bool(0 < bd < 0.1)
    True
    """
    from scipy.optimize import brentq

    start = flci(beta, vcov, event_times, 0.0, l_vec=l_vec, ref=ref, alpha=alpha)
    if start.lower <= 0.0 <= start.upper:
        return float("nan")
    side = 1.0 if start.upper < 0 else -1.0  # the end that moves towards 0

    def gap(m: float) -> float:
        ci = flci(beta, vcov, event_times, m, l_vec=l_vec, ref=ref, alpha=alpha)
        return side * (ci.upper if side > 0 else ci.lower)

    cap = float(upper) if upper is not None else 100.0 * float(np.max(np.abs(np.asarray(beta, dtype=float))))
    lo, hi = 0.0, min(cap, start.sd)
    while gap(hi) < 0:
        if hi >= cap:
            return float("inf")
        lo, hi = hi, min(2 * hi, cap)
    return float(brentq(gap, lo, hi, xtol=1e-12, rtol=tol))
