"""Exact HonestDiD confidence sets: Andrews-Roth-Pakes conditional and hybrid tests.

Rambachan & Roth (2023) bound the post-treatment trend violation ``delta_post`` by what the
pre-period coefficients reveal. For a polyhedral restriction ``Delta = {delta: A delta <= d}``
the hypothesis ``theta = l'tau_post = theta0`` becomes a set of moment inequalities with a
nuisance parameter, ``E[Y] - X tau_tilde <= 0`` with ``Y = A beta_hat - d - a theta0``; the
Andrews, Roth & Pakes (2023) test statistic is the LP value
``eta = max {g'Y : g >= 0, X'g = 0, sigma'g = 1}`` (``sigma`` the standard deviations of
``Y``). Conditional on the optimal vertex ``g*`` and on the part of ``Y`` independent of
``g*'Y``, ``eta`` is a truncated normal; its truncation points are linear-fractional
programs, which we solve exactly as LPs (Charnes-Cooper transform) instead of by bisection.
The *hybrid* test first runs the least-favourable test at level ``kappa = alpha / 10``
(critical value simulated, seeded) and then the conditional test at level
``(alpha - kappa) / (1 - kappa)`` with the upper truncation capped at that critical value.
Confidence sets invert the test over a grid of ``theta0``.

Restrictions:
* smoothness ``Delta^SD(M)``: second differences of ``delta`` (the reference period's
  ``delta`` is 0) lie in ``[-M, M]`` (its fixed-length confidence interval, FLCI, is in
  :mod:`causal_kit.diagnostics.honest_did_flci`);
* relative magnitudes ``Delta^RM(Mbar)``: every post-period first difference is at most
  ``Mbar`` times the largest pre-period first difference in absolute value, a union of
  polyhedra (one per location and sign of that maximum), whose confidence set is the union
  of the components' sets, as in R ``HonestDiD``.

These exact sets complement the simulation-percentile bounds of
:mod:`causal_kit.diagnostics.honest_did` (an approximation kept for speed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import SpecError

__all__ = ["sd_restriction", "rm_restriction", "arp_accept", "honest_confidence_set", "honest_sensitivity",
           "honest_breakdown", "exact_relative_magnitudes", "exact_is_feasible"]


def _full_to_coef(A_full: np.ndarray, n_pre: int) -> np.ndarray:
    """Drop the reference-period column (its delta is 0) from constraints on the full path."""
    return np.delete(A_full, n_pre, axis=1)


def sd_restriction(n_pre: int, n_post: int, M: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """``Delta^SD(M)``: ``|(d_{t+1} - d_t) - (d_t - d_{t-1})| <= M`` on the path with ``d_ref = 0``."""
    n = n_pre + 1 + n_post
    rows = []
    for t in range(1, n - 1):
        r = np.zeros(n)
        r[t - 1], r[t], r[t + 1] = 1.0, -2.0, 1.0
        rows.append(r)
    second = _full_to_coef(np.array(rows), n_pre)
    # only the moments that involve post-period coefficients enter the test (as in HonestDiD)
    second = second[np.abs(second[:, n_pre:]).sum(axis=1) > 0]
    A = np.vstack([second, -second])
    return [(A, np.full(len(A), float(M)))]


def rm_restriction(n_pre: int, n_post: int, mbar: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """``Delta^RM(Mbar)`` as a union: one polyhedron per location ``s`` and sign of the largest
    pre-period first difference, ``|d_{t+1} - d_t| <= Mbar * sign (d_{s+1} - d_s)`` for post ``t``."""
    n = n_pre + 1 + n_post
    fd = np.zeros((n - 1, n))
    fd[np.arange(n - 1), np.arange(n - 1)] = -1.0
    fd[np.arange(n - 1), np.arange(1, n)] = 1.0
    fd = _full_to_coef(fd, n_pre)
    pre_fd, post_fd = fd[:n_pre], fd[n_pre:]
    parts = []
    for s in range(n_pre):
        for sign in (1.0, -1.0):
            top = sign * pre_fd[s]
            # only the moments that involve post-period coefficients enter the test (as in HonestDiD)
            A = np.vstack([post_fd - mbar * top, -post_fd - mbar * top])
            parts.append((A, np.zeros(len(A))))
    return parts


def _gamma_matrix(l_vec: np.ndarray) -> np.ndarray:
    """An invertible matrix whose first row is ``l``: tau_post = Gamma^-1 (theta, nuisance)."""
    k = len(l_vec)
    j = int(np.argmax(np.abs(l_vec)))
    rest = [i for i in range(k) if i != j]
    return np.vstack([l_vec] + [np.eye(k)[i] for i in rest])


def _dual_vertices(X: np.ndarray, sd: np.ndarray, max_subsets: int = 200_000) -> np.ndarray:
    """Vertices of ``{g >= 0, X'g = 0, sd'g = 1}``, the dual feasible set of the ARP LP.

    Enumerated once per restriction (basic solutions with ``k + 1`` non-zeros), after which
    the statistic, its truncation points and the least-favourable draws are maxima over the
    vertices: vectorised over the whole theta grid, with no LP per grid point or draw.
    """
    from itertools import combinations
    from math import comb

    m, k = X.shape
    if comb(m, k + 1) > max_subsets:
        raise SpecError(f"the exact HonestDiD test would enumerate {comb(m, k + 1)} bases ({m} moments, "
                        f"{k} nuisance parameters); restrict the event window (fewer post periods).")
    E = np.vstack([X.T, sd[None, :]])
    rhs = np.zeros(k + 1)
    rhs[-1] = 1.0
    bases = np.array(list(combinations(range(m), k + 1)), dtype=int)
    subs = np.transpose(E[:, bases], (1, 0, 2))  # (n_bases, k + 1, k + 1)
    ok = np.abs(np.linalg.det(subs)) > 1e-12
    bases, subs = bases[ok], subs[ok]
    if len(bases) == 0:
        return np.zeros((0, m))
    g = np.linalg.solve(subs, np.broadcast_to(rhs, (len(subs), k + 1))[..., None])[..., 0]
    keep = np.all(g >= -1e-12, axis=1)
    out = np.zeros((int(keep.sum()), m))
    np.put_along_axis(out, bases[keep], np.clip(g[keep], 0.0, None), axis=1)
    if len(out) == 0:
        return out
    return np.unique(np.round(out, 12), axis=0)


def exact_is_feasible(n_post: int, max_subsets: int = 200_000) -> bool:
    """Whether the vertex enumeration stays small: ``C(2 n_post, n_post)`` bases (n_post <= 10)."""
    from math import comb

    return comb(2 * n_post, n_post) <= max_subsets


def _truncnorm_quantile(p: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    from scipy.stats import truncnorm

    return truncnorm.ppf(p, lo, hi)


def arp_accept(Y: np.ndarray, X: np.ndarray, Sigma_Y: np.ndarray, alpha: float, method: str,
               kappa: float, seed: int, n_sims: int = 1000, verts: np.ndarray | None = None) -> np.ndarray:
    """ARP test of ``E[Y_j] - X tau <= 0`` for each column of ``Y`` ``(m, G)``; True = not rejected."""
    sd = np.sqrt(np.diag(Sigma_Y))
    if verts is None:
        verts = _dual_vertices(X, sd)
    if len(verts) == 0:
        return np.zeros(Y.shape[1], dtype=bool)  # no dual vertex: the LP is unbounded below, reject
    vals = verts @ Y  # (nv, G)
    best = np.argmax(vals, axis=0)
    eta = vals[best, np.arange(Y.shape[1])]
    g = verts[best]  # (G, m)
    var = np.einsum("gi,ij,gj->g", g, Sigma_Y, g)
    sig = np.sqrt(np.maximum(var, 0.0))
    c = (g @ Sigma_Y) / np.where(var > 0, var, 1.0)[:, None]  # (G, m)
    S = Y.T - c * eta[:, None]  # (G, m)
    num = S @ verts.T  # (G, nv)
    den = 1.0 - c @ verts.T
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
    vlo = np.where(den > 1e-10, ratio, -np.inf).max(axis=1)
    vup = np.where(den < -1e-10, ratio, np.inf).min(axis=1)
    size = alpha
    reject_lf = np.zeros(Y.shape[1], dtype=bool)
    if method == "hybrid":
        rng = np.random.RandomState(seed)  # the R-port convention, so the LF value is reproducible
        xi = rng.multivariate_normal(np.zeros(len(sd)), Sigma_Y, size=n_sims)
        lf_cv = float(np.quantile((xi @ verts.T).max(axis=1), 1 - kappa))
        reject_lf = eta > lf_cv
        vup = np.minimum(vup, lf_cv)
        size = (alpha - kappa) / (1 - kappa)
    safe = np.where(sig > 0, sig, 1.0)
    z, zlo, zup = eta / safe, vlo / safe, vup / safe
    inside = (zlo <= z) & (z <= zup)
    crit = np.full_like(z, np.inf)
    ok = inside & (zlo < zup)
    crit[ok] = np.maximum(0.0, _truncnorm_quantile(1 - size, zlo[ok], zup[ok]))
    reject = inside & (z > crit)
    reject = np.where(sig > 0, reject, eta > 0)
    return ~(reject | reject_lf)


def _layout(beta: Any, vcov: Any, event_times: Any, ref: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    b = np.asarray(beta, dtype=float)
    V = np.asarray(vcov, dtype=float)
    e = np.asarray(event_times)
    if b.ndim != 1 or V.shape != (len(b), len(b)) or e.shape != b.shape:
        raise SpecError(f"beta {b.shape}, vcov {V.shape} and event_times {e.shape} must describe the same "
                        "coefficients; pass one event time per coefficient, reference period excluded.")
    order = np.argsort(e)
    b, V, e = b[order], V[np.ix_(order, order)], e[order]
    n_pre, n_post = int((e < ref).sum()), int((e > ref).sum())
    expected = np.r_[np.arange(ref - n_pre, ref), np.arange(ref + 1, ref + 1 + n_post)]
    if n_pre == 0 or n_post == 0 or not np.array_equal(e, expected):
        raise SpecError(f"HonestDiD needs consecutive event times around the reference period {ref} with at "
                        f"least one before and one after; got {e.tolist()}. Drop binned or missing periods.")
    return b, V, n_pre, n_post


def _check_grid(values: Any, name: str) -> np.ndarray:
    m = np.atleast_1d(np.asarray(values, dtype=float))
    if m.ndim != 1 or len(m) == 0 or not np.all(np.isfinite(m)) or (m < 0).any():
        bad = int((~np.isfinite(m) | (m < 0)).sum())
        raise SpecError(f"the {name} grid must be finite values >= 0; {bad} of {m.size} are not "
                        f"({m.tolist()[:6]}). Pass non-negative values, e.g. [0, 0.5, 1].")
    return m


def honest_confidence_set(beta: Any, vcov: Any, event_times: Any, m: float, *, restriction: str = "rm",
                          method: str = "hybrid", l_vec: Any = None, ref: int = -1, alpha: float = 0.05,
                          grid: Any = None, grid_points: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Exact (ARP) robust confidence set for ``theta = l'tau_post`` under one restriction.

    Parameters
    ----------
    beta, vcov : arrays
        Event-study coefficients (reference period excluded) and their covariance.
    event_times : array of int
        Consecutive event times around ``ref``.
    m : float
        ``Mbar`` (relative magnitudes) or ``M`` (smoothness, in outcome units per period^2).
    restriction : {"rm", "sd"}
    method : {"hybrid", "conditional"}
        Conditional-least-favourable hybrid (``kappa = alpha / 10``; HonestDiD's default for
        ``rm``) or the pure conditional test.
    l_vec : array, optional
        Weights on the post-period effects (default: the first post period, as HonestDiD).
    grid, grid_points : optional
        The theta values tested (default: ``grid_points`` values over the estimate +/- 20
        standard errors, widened by the identified set's half-width under ``sd``).
    seed : int
        Seed of the least-favourable critical value's draws.

    Returns
    -------
    (lower, upper) : the smallest and largest accepted grid values (nan if none).

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([0.01, -0.005, 0.02, 0.05, 0.06])
    >>> lo, hi = honest_confidence_set(b, np.eye(5) * 1e-4, [-3, -2, 0, 1, 2], 1.0, method="conditional")
    >>> bool(lo < 0.02 < hi)
    True
    """
    if restriction not in ("rm", "sd"):
        raise SpecError(f"The 'restriction' parameter must be 'rm' or 'sd'. Got {restriction!r} instead.")
    if method not in ("hybrid", "conditional"):
        raise SpecError(f"The 'method' parameter must be 'hybrid' or 'conditional'. Got {method!r} instead.")
    m = float(_check_grid(m, "M")[0])
    b, V, n_pre, n_post = _layout(beta, vcov, event_times, ref)
    lv = np.eye(n_post)[0] if l_vec is None else np.asarray(l_vec, dtype=float)
    if lv.shape != (n_post,):
        raise SpecError(f"l_vec must have one weight per post period ({n_post}); got shape {lv.shape}.")
    parts = sd_restriction(n_pre, n_post, m) if restriction == "sd" else rm_restriction(n_pre, n_post, m)
    Ginv = np.linalg.inv(_gamma_matrix(lv))
    pieces = []
    for A, d in parts:
        AG = A[:, n_pre:] @ Ginv
        SY = A @ V @ A.T
        pieces.append((A @ b - d, AG, SY, _dual_vertices(AG[:, 1:], np.sqrt(np.diag(SY)))))
    widen = 1.0
    for _ in range(6):
        thetas = _theta_grid(b, V, n_pre, n_post, lv, m, restriction, grid, grid_points, widen)
        accept = np.zeros(len(thetas), dtype=bool)
        for y0, AG, SY, verts in pieces:
            Y = y0[:, None] - AG[:, :1] * thetas[None, :]
            accept |= arp_accept(Y, AG[:, 1:], SY, alpha, method, alpha / 10, seed, verts=verts)
        # a default grid that accepts its own end points is widened until the set closes
        if grid is not None or not (accept[0] or accept[-1]):
            break
        widen *= 2.0
    if not accept.any():
        return float("nan"), float("nan")
    return float(thetas[accept].min()), float(thetas[accept].max())


def _theta_grid(b: np.ndarray, V: np.ndarray, n_pre: int, n_post: int, lv: np.ndarray, m: float,
                restriction: str, grid: Any, grid_points: int, widen: float = 1.0) -> np.ndarray:
    if grid is not None:
        return np.asarray(grid, dtype=float)
    sd_theta = float(np.sqrt(lv @ V[n_pre:, n_pre:] @ lv))
    half = 20 * sd_theta
    if restriction == "sd":
        half += _sd_idset_halfwidth(n_pre, n_post, lv, m)
    else:
        half *= 1 + m
    center = float(lv @ b[n_pre:])
    return np.linspace(center - widen * half, center + widen * half, grid_points)


def _sd_idset_halfwidth(n_pre: int, n_post: int, lv: np.ndarray, m: float) -> float:
    """Largest ``l'delta_post`` over ``Delta^SD(M)`` with ``delta_pre = 0`` (an LP)."""
    from scipy.optimize import linprog

    (A, d), = sd_restriction(n_pre, n_post, m)
    res = linprog(-lv, A_ub=A[:, n_pre:], b_ub=d - A[:, :n_pre] @ np.zeros(n_pre),
                  bounds=[(None, None)] * n_post, method="highs")
    return float(-res.fun) if res.status == 0 else 0.0


def honest_sensitivity(beta: Any, vcov: Any, event_times: Any, m_grid: Any = None, *, restriction: str = "rm",
                       method: str = "hybrid", l_vec: Any = None, ref: int = -1, alpha: float = 0.05,
                       grid_points: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Exact robust confidence sets over a grid of ``Mbar`` (``rm``) or ``M`` (``sd``) values.

    Returns a table ``m, lower, upper, restriction, method`` (one row per grid value), the
    exact counterpart of :func:`causal_kit.diagnostics.honest_did.relative_magnitudes`.

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([0.01, -0.005, 0.02, 0.05, 0.06])
    >>> tab = honest_sensitivity(b, np.eye(5) * 1e-4, [-3, -2, 0, 1, 2], [0, 1], grid_points=200)
    >>> list(tab.columns)
    ['m', 'lower', 'upper', 'restriction', 'method']
    """
    default = [0.0, 0.5, 1.0, 1.5, 2.0] if restriction == "rm" else [0.0, 0.005, 0.01, 0.02]
    grid = _check_grid(default if m_grid is None else m_grid, "Mbar" if restriction == "rm" else "M")
    rows = []
    for m in grid:
        lo, hi = honest_confidence_set(beta, vcov, event_times, float(m), restriction=restriction, method=method,
                                       l_vec=l_vec, ref=ref, alpha=alpha, grid_points=grid_points, seed=seed)
        rows.append({"m": float(m), "lower": lo, "upper": hi, "restriction": restriction, "method": method})
    return pd.DataFrame(rows)


def honest_breakdown(beta: Any, vcov: Any, event_times: Any, *, restriction: str = "rm", method: str = "hybrid",
                     l_vec: Any = None, ref: int = -1, alpha: float = 0.05, upper: float = 10.0,
                     tol: float = 1e-3, grid_points: int = 1000, seed: int = 0,
                     bracket: tuple[float, float] | None = None) -> float:
    """Smallest ``Mbar``/``M`` at which the exact robust confidence set contains 0 (bisection).

    ``nan`` when it contains 0 already at 0 (no conclusion to overturn); ``inf`` when it still
    excludes 0 at ``upper``. ``bracket=(a, b)``, with the set known to exclude 0 at ``a`` and
    contain it at ``b`` (e.g. from a sensitivity table), skips those checks and starts there.

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([0.001, -0.001, 0.05, 0.06, 0.07])
    >>> bd = honest_breakdown(b, np.eye(5) * 1e-5, [-3, -2, 0, 1, 2], grid_points=300)
    >>> bd > 1
    True
    """
    def covers(m: float) -> bool:
        lo, hi = honest_confidence_set(beta, vcov, event_times, m, restriction=restriction, method=method,
                                       l_vec=l_vec, ref=ref, alpha=alpha, grid_points=grid_points, seed=seed)
        return bool(np.isnan(lo) or lo <= 0.0 <= hi)

    if bracket is not None:
        a, b = float(bracket[0]), float(bracket[1])
    else:
        if covers(0.0):
            return float("nan")
        if not covers(upper):
            return float("inf")
        a, b = 0.0, float(upper)
    while b - a > tol:
        mid = (a + b) / 2
        a, b = (a, mid) if covers(mid) else (mid, b)
    return float(b)


def exact_relative_magnitudes(beta: Any, vcov: Any, event_times: Any, *, mbar: Any = None, alpha: float = 0.05,
                              seed: int = 0, grid_points: int = 1000) -> tuple[pd.DataFrame, float]:
    """Exact counterpart of :func:`causal_kit.diagnostics.honest_did.relative_magnitudes`.

    Hybrid ARP confidence sets under ``Delta^RM(Mbar)`` for the average post-period effect
    (event times around reference ``-1``), as a table ``mbar, lower, upper, method`` and the
    breakdown ``Mbar`` (to 0.01), ready for
    :func:`causal_kit.diagnostics.honest_did.honest_diagnostic`.

    Examples
    --------
    >>> import numpy as np
    >>> tab, bd = exact_relative_magnitudes(np.array([0.0, 0.05, 0.06]), np.eye(3) * 1e-5, [-2, 0, 1],
    ...                                     mbar=[0, 1], grid_points=200)
    >>> tab["method"].iloc[0], bool(tab["lower"].iloc[0] > 0)
    ('exact ARP hybrid', True)
    """
    e = np.asarray(event_times)
    n_post = int((e >= 0).sum())
    lv = np.full(n_post, 1.0 / max(n_post, 1))
    grid = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0] if mbar is None else mbar
    tab = honest_sensitivity(beta, vcov, e, grid, restriction="rm", l_vec=lv, alpha=alpha, seed=seed,
                             grid_points=grid_points)
    tab = tab.rename(columns={"m": "mbar"}).drop(columns="restriction")
    tab["method"] = "exact ARP hybrid"
    # the table already brackets the breakdown: start the bisection there (the cost of did2s's default)
    m = tab["mbar"].to_numpy()
    covers = (tab["lower"].isna() | ((tab["lower"] <= 0) & (tab["upper"] >= 0))).to_numpy()
    bracket = None
    if covers.any() and not covers[0] and m[0] == 0.0:
        first = int(np.argmax(covers))
        if not covers[:first].any():  # exclude 0 up to ``first``, then cover it
            bracket = (float(m[first - 1]), float(m[first]))
    bd = honest_breakdown(beta, vcov, e, restriction="rm", l_vec=lv, alpha=alpha, seed=seed, tol=2e-3,
                          grid_points=grid_points, bracket=bracket)
    if np.isfinite(bd):
        bd = float(np.ceil(bd * 100 - 1e-9) / 100)
    return tab, bd
