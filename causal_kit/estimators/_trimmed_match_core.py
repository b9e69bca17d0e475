"""Numerical core of the trimmed-match iROAS estimator (Chen and Au, 2019).

Pure numpy on two vectors per geo pair: ``dr`` (treated minus control response) and ``dc``
(treated minus control spend). The estimate solves ``trimmed_mean(dr - delta * dc) = 0``;
the interval inverts the studentized trimmed mean (winsorized variance). Written here
rather than imported because no maintained Python package ships it without a compiled
extension, and because the automatic trim needs every trim rate solved in one vectorised
pass to stay fast on hundreds of pairs.

The residuals ``dr - delta * dc`` are lines in ``delta``; their order only changes where two
lines cross. Between two consecutive crossings the trimmed set is fixed, so the estimate
and the interval ends are exact ratios / quadratic roots on those pieces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import IdentificationError

__all__ = ["trim_count", "solve_iroas", "standard_error", "inversion_ci", "TrimFit", "fit_trim_rates", "choose_trim"]

#: Above this many pairs the interval is the connected acceptance region around the estimate
#: (found by bracketing); at or below it every piece between crossings is solved exactly.
EXHAUSTIVE_MAX_PAIRS = 120
#: Interval wider than this many standard errors: fall back to estimate +/- 3 z se (the authors' rule).
EXTREME_CI_WIDTH = 1e6
_CHUNK = 400_000


def trim_count(trim_rate: float, n_pairs: int) -> int:
    """Pairs trimmed from each tail: ``ceil(trim_rate * n)``, robust to floating error."""
    return int(math.ceil(trim_rate * n_pairs - 1e-9))


@dataclass(frozen=True)
class TrimFit:
    """Estimate and standard error at one trim rate."""

    trim_rate: float
    n_trim: int
    iroas: float
    se: float


def _sorted_residuals(dr: np.ndarray, dc: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """Indices sorting ``dr - delta * dc`` for each delta (rows)."""
    e = dr[None, :] - deltas[:, None] * dc[None, :]
    return np.argsort(e, axis=1, kind="stable")


def _body_sums(dr: np.ndarray, dc: np.ndarray, deltas: np.ndarray, n_trim: np.ndarray):
    """Sums of ``dr`` and ``dc`` over the untrimmed pairs at each delta (row-wise trim counts)."""
    n = dr.size
    e = dr[None, :] - deltas[:, None] * dc[None, :]
    order = np.argsort(e, axis=1)
    rank = np.arange(n)[None, :]
    keep = (rank >= n_trim[:, None]) & (rank <= n - 1 - n_trim[:, None])
    sc = np.where(keep, dc[order], 0.0).sum(axis=1)
    se = np.where(keep, np.take_along_axis(e, order, axis=1), 0.0).sum(axis=1)
    return se + deltas * sc, sc


def _roots_monotone(dr: np.ndarray, dc: np.ndarray, n_trim: np.ndarray) -> np.ndarray:
    """Root of the trimmed mean for every trim count, when all spend differences are >= 0.

    Then every residual line is non-increasing in delta, so is the trimmed mean, and its
    root is unique. A safeguarded Newton step (the ratio of sums over the current untrimmed
    set) lands exactly on the root once delta is on the right linear piece; bisection on the
    bracket guarantees progress.
    """
    k = n_trim.size
    start = dr.sum() / dc.sum()
    spread = max(1.0, abs(start)) + np.abs(dr).max() / max(dc[dc > 0].min(initial=np.inf), 1e-300)
    lo = np.full(k, start - spread)
    hi = np.full(k, start + spread)
    for _ in range(200):  # widen until the bracket holds the sign change
        sr, sc = _body_sums(dr, dc, lo, n_trim)
        bad_lo = sr - lo * sc < 0
        sr, sc = _body_sums(dr, dc, hi, n_trim)
        bad_hi = sr - hi * sc > 0
        if not (bad_lo.any() or bad_hi.any()):
            break
        width = hi - lo
        lo = np.where(bad_lo, lo - width, lo)
        hi = np.where(bad_hi, hi + width, hi)
    delta = np.full(k, start)
    done = np.zeros(k, dtype=bool)
    scale = np.abs(dr).sum() + 1e-300
    for _iteration in range(200):
        sr, sc = _body_sums(dr, dc, delta, n_trim)
        f = sr - delta * sc
        tol = 1e-12 * (scale + np.abs(delta) * np.abs(dc).sum())
        done = np.abs(f) <= tol
        if done.all():
            break
        lo = np.where(f > 0, delta, lo)
        hi = np.where(f < 0, delta, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = sr / sc
        inside = np.isfinite(newton) & (newton > lo) & (newton < hi)
        delta = np.where(done, delta, np.where(inside, newton, 0.5 * (lo + hi)))
    # exact ratio on the final piece (so 11/7 is 11/7 to the last bit)
    sr, sc = _body_sums(dr, dc, delta, n_trim)
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = sr / sc
    return np.where(np.isfinite(exact), exact, delta), sc


def _crossings(dr: np.ndarray, dc: np.ndarray) -> np.ndarray:
    """Sorted distinct deltas where two residual lines cross."""
    i, j = np.triu_indices(dr.size, k=1)
    ddc = dc[i] - dc[j]
    ok = ddc != 0
    b = (dr[i][ok] - dr[j][ok]) / ddc[ok]
    return np.unique(b)


def _pieces(dr: np.ndarray, dc: np.ndarray):
    """Piece bounds ``(a, b)`` and an interior point of each piece between crossings."""
    b = _crossings(dr, dc)
    if b.size == 0:
        return np.array([-np.inf]), np.array([np.inf]), np.array([0.0])
    a = np.concatenate([[-np.inf], b])
    z = np.concatenate([b, [np.inf]])
    mid = np.empty(a.size)
    mid[1:-1] = 0.5 * (b[:-1] + b[1:])
    step = max(1.0, np.abs(b).max())
    mid[0] = b[0] - step
    mid[-1] = b[-1] + step
    return a, z, mid


def _chunks(total: int, n: int):
    size = max(1, _CHUNK // max(n, 1))
    for start in range(0, total, size):
        yield slice(start, min(total, start + size))


def _roots_exhaustive(dr: np.ndarray, dc: np.ndarray, n_trim: int) -> np.ndarray:
    """Every root of the trimmed mean, one candidate ratio per piece between crossings."""
    a, z, mid = _pieces(dr, dc)
    roots = []
    for sl in _chunks(mid.size, dr.size):
        sr, sc = _body_sums(dr, dc, mid[sl], np.full(mid[sl].size, n_trim))
        with np.errstate(divide="ignore", invalid="ignore"):
            cand = sr / sc
        ok = np.isfinite(cand) & (cand >= a[sl]) & (cand <= z[sl])
        roots.append(cand[ok])
    return np.unique(np.concatenate(roots)) if roots else np.array([])


def _trimmed_abs_norm(dr: np.ndarray, dc: np.ndarray, delta: float, n_trim: int) -> float:
    """Mean absolute residual over the untrimmed pairs: tie-break between several roots."""
    e = np.sort(dr - delta * dc)
    return float(np.abs(e[n_trim : dr.size - n_trim]).mean())


def solve_iroas(dr: np.ndarray, dc: np.ndarray, n_trims: np.ndarray) -> np.ndarray:
    """Trimmed-match iROAS for each trim count in ``n_trims``.

    Raises
    ------
    IdentificationError
        When the untrimmed pairs have zero total incremental spend (no root exists).
    """
    n_trims = np.asarray(n_trims, dtype=int)
    out = np.empty(n_trims.size)
    zero = n_trims == 0
    if zero.any():
        if dc.sum() == 0:
            raise _zero_spend_error(0)
        out[zero] = dr.sum() / dc.sum()
    rest = np.flatnonzero(~zero)
    if rest.size == 0:
        return out
    if (dc >= 0).all():
        roots, body_spend = _roots_monotone(dr, dc, n_trims[rest])
        if (body_spend == 0).any():
            raise _zero_spend_error(int(n_trims[rest][np.argmax(body_spend == 0)]))
        out[rest] = roots
        return out
    for pos in rest:  # mixed-sign spend differences: the trimmed mean may have several roots
        k = int(n_trims[pos])
        roots = _roots_exhaustive(dr, dc, k)
        if roots.size == 0:
            raise _zero_spend_error(k)
        norms = [_trimmed_abs_norm(dr, dc, r, k) for r in roots]
        out[pos] = roots[int(np.argmin(norms))]
    return out


def _zero_spend_error(n_trim: int) -> IdentificationError:
    return IdentificationError(
        "trimmed match found no iROAS: the incremental spend (treated minus control) sums to zero over "
        f"the untrimmed geo pairs (trimming {n_trim} pair(s) per tail). Check spec.spend holds the test-period "
        "spend and that treated geos received incremental spend."
    )


def standard_error(dr: np.ndarray, dc: np.ndarray, iroas: float, n_trim: int) -> float:
    """Asymptotic standard error of the trimmed-match estimate (winsorized residual variance)."""
    n = dr.size
    res = dr - iroas * dc
    order = np.argsort(res, kind="stable")
    res, cost = res[order], dc[order]
    hi = n - 1 - n_trim
    body = slice(n_trim, hi + 1)
    squares = n_trim * (res[n_trim] ** 2 + res[hi] ** 2) + np.sum(res[body] ** 2)
    mean_cost = cost[body].sum() / n
    if mean_cost == 0:
        return float("inf")
    return float(math.sqrt(squares / (mean_cost**2 * n) / n))


def fit_trim_rates(dr: np.ndarray, dc: np.ndarray, rates: np.ndarray) -> list[TrimFit]:
    """Estimate and standard error at every trim rate in ``rates``."""
    n = dr.size
    counts = np.array([trim_count(r, n) for r in rates], dtype=int)
    estimates = solve_iroas(dr, dc, counts)
    return [
        TrimFit(float(r), int(k), float(est), standard_error(dr, dc, est, int(k)))
        for r, k, est in zip(rates, counts, estimates)
    ]


def choose_trim(fits: list[TrimFit], n_pairs: int) -> TrimFit:
    """The smallest trim rate whose standard error is within ``1 + 0.25/sqrt(n)`` of the minimum."""
    floor = (1.0 + 0.25 / math.sqrt(n_pairs)) * min(f.se for f in fits)
    return next(f for f in fits if f.se <= floor)


def _quadratic_coefficients(dr, dc, deltas, n_trim: int, h: float):
    """Coefficients (A, B, C) of g(delta) = H * winsorized var-sum - (trimmed sum)^2, per piece.

    ``g >= 0`` exactly when the studentized trimmed mean at ``delta`` is within +/- z.
    """
    n = dr.size
    order = _sorted_residuals(dr, dc, deltas)
    r, c = dr[order], dc[order]
    hi = n - 1 - n_trim
    body_r, body_c = r[:, n_trim : hi + 1], c[:, n_trim : hi + 1]
    y1, x1 = body_r.sum(1), body_c.sum(1)
    lr, lc, rr, rc = r[:, n_trim], c[:, n_trim], r[:, hi], c[:, hi]
    y1w = y1 + n_trim * (lr + rr)
    x1w = x1 + n_trim * (lc + rc)
    y2w = (body_r**2).sum(1) + n_trim * (lr**2 + rr**2)
    x2w = (body_c**2).sum(1) + n_trim * (lc**2 + rc**2)
    zw = (body_r * body_c).sum(1) + n_trim * (lr * lc + rr * rc)
    qa = h * (x2w - x1w**2 / n) - x1**2
    qb = -2.0 * h * (zw - x1w * y1w / n) + 2.0 * x1 * y1
    qc = h * (y2w - y1w**2 / n) - y1**2
    return qa, qb, qc


def _g(qa, qb, qc, x):
    return (qa * x + qb) * x + qc


def _accepted_extremes(qa, qb, qc, a, z):
    """Smallest and largest accepted delta (g >= 0) on each piece [a, z]; NaN where none."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        disc = qb**2 - 4 * qa * qc
        sq = np.sqrt(np.where(disc >= 0, disc, np.nan))
        r1 = np.where(qa != 0, (-qb - sq) / (2 * qa), -qc / qb)
        r2 = np.where(qa != 0, (-qb + sq) / (2 * qa), -qc / qb)
        roots = np.sort(np.stack([r1, r2], 1), axis=1)
        inside = (roots > a[:, None]) & (roots < z[:, None])
        # an infinite end is accepted when g grows there (leading term's sign)
        lead_lo = np.where(qa != 0, qa, np.where(qb != 0, -qb, qc))
        lead_hi = np.where(qa != 0, qa, np.where(qb != 0, qb, qc))
        ga = np.where(np.isfinite(a), _g(qa, qb, qc, np.where(np.isfinite(a), a, 0.0)), lead_lo)
        gz = np.where(np.isfinite(z), _g(qa, qb, qc, np.where(np.isfinite(z), z, 0.0)), lead_hi)
        low = np.where(ga >= 0, a, np.where(inside[:, 0], roots[:, 0], np.where(inside[:, 1], roots[:, 1], np.nan)))
        high = np.where(gz >= 0, z, np.where(inside[:, 1], roots[:, 1], np.where(inside[:, 0], roots[:, 0], np.nan)))
    return low, high


def _ci_exhaustive(dr, dc, n_trim, h):
    a, z, mid = _pieces(dr, dc)
    lows, highs = [], []
    for sl in _chunks(mid.size, dr.size):
        qa, qb, qc = _quadratic_coefficients(dr, dc, mid[sl], n_trim, h)
        low, high = _accepted_extremes(qa, qb, qc, a[sl], z[sl])
        lows.append(low)
        highs.append(high)
    low, high = np.concatenate(lows), np.concatenate(highs)
    if np.isnan(low).all():
        return float("nan"), float("nan")
    return float(np.nanmin(low)), float(np.nanmax(high))


def _ci_bracketing(dr, dc, n_trim, h, iroas, se):
    """Ends of the acceptance region containing the estimate: bracket, bisect, then polish.

    Both ends are searched together (two rows per evaluation). After bisection the end is
    polished with the exact quadratic of the piece it lies in.
    """

    def g(x: np.ndarray) -> np.ndarray:
        return _g(*_quadratic_coefficients(dr, dc, x, n_trim, h), x)

    if g(np.array([iroas]))[0] < 0:
        return float("nan"), float("nan")
    sign = np.array([-1.0, 1.0])
    step = max(se, 1e-12 * max(1.0, abs(iroas)))
    inner = np.full(2, iroas)
    outer = iroas + sign * step
    for _ in range(64):
        accepted = g(outer) >= 0
        if not accepted.any():
            break
        inner = np.where(accepted, outer, inner)
        outer = np.where(accepted, iroas + 2.0 * (outer - iroas), outer)
        if np.any(np.abs(outer - iroas) > EXTREME_CI_WIDTH * max(se, 1e-300)):
            return float("-inf"), float("inf")
    for _ in range(40):
        middle = 0.5 * (inner + outer)
        accepted = g(middle) >= 0
        inner = np.where(accepted, middle, inner)
        outer = np.where(accepted, outer, middle)
    ends = inner.copy()
    qa, qb, qc = _quadratic_coefficients(dr, dc, 0.5 * (inner + outer), n_trim, h)
    with np.errstate(invalid="ignore", divide="ignore"):
        sq = np.sqrt(qb**2 - 4 * qa * qc)
        for root in ((-qb - sq) / (2 * qa), (-qb + sq) / (2 * qa)):
            lo, hi = np.minimum(inner, outer), np.maximum(inner, outer)
            ends = np.where(np.isfinite(root) & (root >= lo) & (root <= hi), root, ends)
    return float(ends[0]), float(ends[1])


def inversion_ci(dr: np.ndarray, dc: np.ndarray, n_trim: int, z: float, iroas: float, se: float):
    """Confidence interval by inverting the studentized trimmed mean at critical value ``z``.

    Returns ``(low, high, method)``; ``method`` says how the interval was obtained:
    ``"exact"`` (every piece solved), ``"bracketing"`` (region around the estimate) or
    ``"normal_fallback"`` (estimate +/- 3 z se, when inversion is unbounded or empty).
    """
    n = dr.size
    m = n - 2 * n_trim
    h = z * z * m / (m - 1)
    if n <= EXHAUSTIVE_MAX_PAIRS:
        low, high, method = *_ci_exhaustive(dr, dc, n_trim, h), "exact"
    else:
        low, high, method = *_ci_bracketing(dr, dc, n_trim, h, iroas, se), "bracketing"
    if not (np.isfinite(low) and np.isfinite(high)) or high - low > EXTREME_CI_WIDTH * se:
        width = 3.0 * z * se
        return iroas - width, iroas + width, "normal_fallback"
    return low, high, method
