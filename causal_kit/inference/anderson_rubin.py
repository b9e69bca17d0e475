"""Anderson-Rubin confidence sets: inference on an IV coefficient that stays valid with weak instruments.

The Anderson-Rubin (1949) test of ``beta = b`` regresses ``y - b x`` on the excluded
instruments (after partialling out the exogenous regressors) and tests that all the
instrument coefficients are zero. Its size does not depend on instrument strength. The
confidence set collects every ``b`` the test does not reject; it can be a bounded interval,
the union of two disjoint rays, a half line, the whole real line or (over-identified) empty.
We report each of these honestly as a table of intervals and a set-type string.

No Python library offers this test inversion (linearmodels issue #372), so it is written
here. Both the homoskedastic F version and the robust (HC0 or cluster) Wald chi-square
version are quadratic in ``b`` for one instrument, so their sets are solved exactly. With
several instruments the homoskedastic set is still the solution of a quadratic inequality;
the robust one is found on a grid whose sign changes are refined with Brent's method, and
its behaviour beyond the grid is read from the statistic's limit as ``|b| -> inf``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..diagnostics.weak_iv import Partialled, cluster_meat
from ..errors import SpecError

__all__ = ["ARSet", "ar_statistic", "anderson_rubin", "ar_test_batch", "solve_quadratic_set"]


@dataclass(frozen=True)
class ARSet:
    """An Anderson-Rubin confidence set.

    Attributes
    ----------
    intervals : tuple of (float, float)
        Disjoint closed intervals whose union is the set; ``-inf`` / ``inf`` mark rays.
    set_type : str
        ``"bounded"``, ``"disjoint_rays"``, ``"half_line"``, ``"whole_line"``, ``"empty"`` or
        ``"union"`` (several bounded pieces).
    kind : str
        ``"F"`` (homoskedastic) or ``"chi2"`` (robust Wald).
    critical_value, alpha : float
    df : tuple of float
        Degrees of freedom of the reference distribution.
    p_value_zero : float
        p-value of the AR test of ``beta = 0``.
    """

    intervals: tuple[tuple[float, float], ...]
    set_type: str
    kind: str
    critical_value: float
    alpha: float
    df: tuple[float, ...]
    p_value_zero: float

    @property
    def bounded(self) -> bool:
        """True when the set is a non-empty union of finite intervals."""
        return bool(self.intervals) and all(math.isfinite(a) and math.isfinite(b) for a, b in self.intervals)

    def contains(self, beta: float) -> bool:
        """Whether ``beta`` lies in the set."""
        return any(lo <= beta <= hi for lo, hi in self.intervals)

    def hull(self) -> tuple[float, float]:
        """Smallest interval containing the set (``(nan, nan)`` when empty)."""
        if not self.intervals:
            return (math.nan, math.nan)
        return (self.intervals[0][0], self.intervals[-1][1])

    def table(self) -> pd.DataFrame:
        """One row per interval: ``lower, upper, set_type, kind, critical_value``."""
        rows = [{"lower": lo, "upper": hi} for lo, hi in self.intervals] or [{"lower": np.nan, "upper": np.nan}]
        df = pd.DataFrame(rows)
        df["set_type"] = self.set_type
        df["kind"] = self.kind
        df["critical_value"] = self.critical_value
        return df


def _check_single(d: Partialled) -> None:
    if d.p != 1:
        raise SpecError(
            f"the Anderson-Rubin set is implemented for one endogenous regressor; the model has {d.p}. "
            "Test one coefficient at a time or drop the ar option."
        )


def _pieces(d: Partialled, robust: bool) -> dict[str, np.ndarray]:
    """Quadratic-form ingredients of the AR statistic as a function of beta."""
    zy, zx = d.block("z", "y")[:, 0], d.block("z", "x")[:, 0]
    out = {"zy": zy, "zx": zx}
    if not robust:
        zzi = d.zz_inv
        out.update(
            pyy=zy @ zzi @ zy, pyx=zy @ zzi @ zx, pxx=zx @ zzi @ zx,
            yy=d.block("y", "y")[0, 0], yx=d.block("y", "x")[0, 0], xx=d.block("x", "x")[0, 0],
        )
        return out
    gy = d.zz_inv @ zy
    gx = d.zz_inv @ zx
    ry = d.y - d.z @ gy
    rx = d.x[:, 0] - d.z @ gx
    scores = np.column_stack([d.z * ry[:, None], d.z * rx[:, None]])
    meat = cluster_meat(scores, d.clusters)
    q = d.q
    out.update(syy=meat[:q, :q], syx=meat[:q, q:], sxx=meat[q:, q:])
    return out


def _reference(d: Partialled, robust: bool, alpha: float) -> tuple[str, float, tuple[float, ...]]:
    q = d.q
    if robust:
        return "chi2", float(stats.chi2.ppf(1 - alpha, q)), (float(q),)
    df2 = d.n - d.k_exog - q
    return "F", float(stats.f.ppf(1 - alpha, q, df2)), (float(q), float(df2))


def ar_statistic(d: Partialled, beta: np.ndarray | float, *, robust: bool = False) -> np.ndarray:
    """The AR statistic at each value of ``beta`` (F for homoskedastic, Wald chi2 for robust).

    Examples
    --------
    >>> import numpy as np
    >>> from causal_kit.diagnostics.weak_iv import Partialled
    >>> rng = np.random.default_rng(1)
    >>> z = rng.normal(size=(400, 1)); x = z + rng.normal(size=(400, 1)); y = 2 * x[:, 0] + rng.normal(size=400)
    >>> d = Partialled(y=y, x=x, z=z, k_exog=0)
    >>> float(ar_statistic(d, 2.0)[0]) < float(ar_statistic(d, 0.0)[0])
    True
    """
    _check_single(d)
    b = np.atleast_1d(np.asarray(beta, dtype=float))
    pc = _pieces(d, robust)
    if not robust:
        q, df2 = d.q, d.n - d.k_exog - d.q
        upu = pc["pyy"] - 2 * b * pc["pyx"] + b**2 * pc["pxx"]
        uu = pc["yy"] - 2 * b * pc["yx"] + b**2 * pc["xx"]
        return (upu / q) / ((uu - upu) / df2)
    g = pc["zy"][None, :] - b[:, None] * pc["zx"][None, :]
    s = pc["syy"][None] - b[:, None, None] * (pc["syx"] + pc["syx"].T)[None] + b[:, None, None] ** 2 * pc["sxx"][None]
    return np.einsum("bi,bi->b", g, np.linalg.solve(s, g[:, :, None])[:, :, 0])


def solve_quadratic_set(a: float, b: float, c: float) -> tuple[tuple[float, float], ...]:
    """The set ``{t : a t^2 + b t + c <= 0}`` as disjoint closed intervals.

    Examples
    --------
    >>> solve_quadratic_set(1.0, 0.0, -1.0)
    ((-1.0, 1.0),)
    >>> solve_quadratic_set(-1.0, 0.0, 1.0)
    ((-inf, -1.0), (1.0, inf))
    """
    inf = math.inf
    scale = max(abs(a), abs(b), abs(c), 1e-300)
    if abs(a) <= 1e-12 * scale:
        if abs(b) <= 1e-12 * scale:
            return ((-inf, inf),) if c <= 0 else ()
        root = -c / b
        return ((-inf, root),) if b > 0 else ((root, inf),)
    disc = b * b - 4 * a * c
    if disc < 0:
        return () if a > 0 else ((-inf, inf),)
    sq = math.sqrt(disc)
    # numerically stable roots
    qv = -0.5 * (b + math.copysign(sq, b)) if b != 0 else -0.5 * sq
    r1, r2 = (qv / a, c / qv) if qv != 0 else (0.0, 0.0)
    lo, hi = min(r1, r2), max(r1, r2)
    return ((lo, hi),) if a > 0 else ((-inf, lo), (hi, inf))


def _set_type(intervals: tuple[tuple[float, float], ...]) -> str:
    if not intervals:
        return "empty"
    if len(intervals) == 1:
        lo, hi = intervals[0]
        if math.isinf(lo) and math.isinf(hi):
            return "whole_line"
        if math.isinf(lo) or math.isinf(hi):
            return "half_line"
        return "bounded"
    if len(intervals) == 2 and math.isinf(intervals[0][0]) and math.isinf(intervals[1][1]):
        return "disjoint_rays"
    return "union"


def _numeric_set(
    d: Partialled, crit: float, center: float, scale: float, n_points: int, width: float
) -> tuple[tuple[float, float], ...]:
    pc = _pieces(d, robust=True)
    gx = pc["zx"]
    limit = float(gx @ np.linalg.solve(pc["sxx"], gx))  # statistic as |beta| -> inf
    unbounded = limit <= crit

    def f(t: float) -> float:
        return float(ar_statistic(d, t, robust=True)[0]) - crit

    for _ in range(8):
        grid = center + scale * np.linspace(-width, width, n_points)
        vals = ar_statistic(d, grid, robust=True) - crit
        inside = vals <= 0
        ends_ok = (inside[0] == unbounded) and (inside[-1] == unbounded)
        if ends_ok:
            break
        width *= 10
    intervals: list[list[float]] = []
    start = -math.inf if inside[0] else None
    for i in range(1, n_points):
        if inside[i] != inside[i - 1]:
            root = optimize.brentq(f, grid[i - 1], grid[i], xtol=1e-12 * max(1.0, abs(grid[i])))
            if inside[i]:
                start = root
            else:
                intervals.append([start, root])
                start = None
    if start is not None:
        intervals.append([start, math.inf])
    return tuple((float(a), float(b)) for a, b in intervals)


def anderson_rubin(
    d: Partialled,
    *,
    alpha: float = 0.05,
    robust: bool = False,
    center: float = 0.0,
    scale: float = 1.0,
    n_points: int = 2001,
    width: float = 50.0,
) -> ARSet:
    """Invert the AR test into a ``1 - alpha`` confidence set for one endogenous coefficient.

    Parameters
    ----------
    d : Partialled
        Partialled-out data with one endogenous regressor. Its ``clusters`` are used by the
        robust version when set.
    robust : bool
        False: homoskedastic F statistic against ``F(q, n - k - q)``. True: HC0 (or
        cluster) Wald statistic against ``chi2(q)``.
    center, scale, n_points, width : float
        Only for the robust set with several instruments: the search grid is
        ``center +- width * scale`` with ``n_points`` points (widened tenfold, up to 8 times,
        until its ends agree with the statistic's limit at infinity).

    Examples
    --------
    >>> import causal_kit as ck
    >>> res = ck.estimate(ck.datasets.load("card"), ck.ExperimentSpec(
    ...     name="card", design="iv", outcome="lwage", endogenous=["educ"], instruments=["nearc4"],
    ...     covariates=["exper", "expersq", "black", "smsa", "south", "smsa66"]
    ...     + [f"reg66{i}" for i in range(2, 10)]), vcov="unadjusted")
    >>> [round(v, 4) for v in res.tables["ar_set"].loc[0, ["lower", "upper"]]]
    [0.0248, 0.2848]
    """
    _check_single(d)
    kind, crit, df = _reference(d, robust, alpha)
    q = d.q
    pc = _pieces(d, robust)
    if not robust:
        df2 = d.n - d.k_exog - q
        m_yy, m_yx, m_xx = pc["yy"] - pc["pyy"], pc["yx"] - pc["pyx"], pc["xx"] - pc["pxx"]
        a = df2 * pc["pxx"] - crit * q * m_xx
        b = -2 * (df2 * pc["pyx"] - crit * q * m_yx)
        c = df2 * pc["pyy"] - crit * q * m_yy
        intervals = solve_quadratic_set(float(a), float(b), float(c))
    elif q == 1:
        gy, gx = float(pc["zy"][0]), float(pc["zx"][0])
        syy, syx, sxx = float(pc["syy"][0, 0]), float(pc["syx"][0, 0]), float(pc["sxx"][0, 0])
        intervals = solve_quadratic_set(gx**2 - crit * sxx, -2 * (gy * gx - crit * syx), gy**2 - crit * syy)
    else:
        intervals = _numeric_set(d, crit, center, scale, n_points, width)
    stat0 = float(ar_statistic(d, 0.0, robust=robust)[0])
    p0 = float(stats.chi2.sf(stat0, q)) if robust else float(stats.f.sf(stat0, *df))
    return ARSet(
        intervals=intervals, set_type=_set_type(intervals), kind=kind, critical_value=crit,
        alpha=alpha, df=df, p_value_zero=p0,
    )


def ar_test_batch(
    y: np.ndarray, x: np.ndarray, z: np.ndarray, beta0: float, *, robust: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """AR test of ``beta = beta0`` on many data sets at once (one instrument, intercept only).

    ``y``, ``x`` and ``z`` have shape ``(R, n)``: one simulated data set per row. Returns the
    statistics and p-values, shape ``(R,)``; used for fast coverage simulations.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(3, 200)); x = 0.5 * z + rng.normal(size=(3, 200)); y = x + rng.normal(size=(3, 200))
    >>> stat, p = ar_test_batch(y, x, z, 1.0)
    >>> p.shape
    (3,)
    """
    n = y.shape[1]
    u = y - beta0 * x
    u = u - u.mean(axis=1, keepdims=True)
    zc = z - z.mean(axis=1, keepdims=True)
    zz = np.einsum("rn,rn->r", zc, zc)
    zu = np.einsum("rn,rn->r", zc, u)
    if not robust:
        pu = zu**2 / zz
        mu = np.einsum("rn,rn->r", u, u) - pu
        stat = pu / (mu / (n - 2))
        return stat, stats.f.sf(stat, 1, n - 2)
    resid = u - (zu / zz)[:, None] * zc
    stat = zu**2 / np.einsum("rn,rn->r", zc**2, resid**2)
    return stat, stats.chi2.sf(stat, 1)
