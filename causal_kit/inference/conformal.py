"""Conformal inference for synthetic control (Chernozhukov, Wüthrich & Zhu 2021).

Under the null that the treated unit's post-period effects equal ``theta0``, subtract
``theta0`` from its post-period outcomes, fit the counterfactual model on *all* periods and
compare the post-period residuals with the residuals of every other block of periods: if the
residuals are stationary and weakly dependent, the post-period block is no larger than a
random block, and the share of blocks at least as large is a valid p-value.

* :func:`conformal_pvalue`: the joint test of an effect path (moving-block permutations, as
  in the paper's main proposal, or i.i.d. permutations);
* :func:`conformal_pointwise`: per-period intervals by test inversion over a grid (one
  post-period at a time, as in the paper's section 3.3);
* :func:`invert_constant_effect`: the interval of a constant effect, found on an adaptive grid
  and refined on nested sub-grids (the headline interval of ``SyntheticControl(inference="conformal")``).

The counterfactual models are the paper's: ``"sc"`` (simplex weights fitted by least squares
on all periods, no intercept) and ``"did"`` (the donors' mean plus a level shift). The test
statistic is the ``q``-norm of the block's residuals (``q = 1`` in the paper's application).
Written here rather than wrapping the reference implementation because that one solves one
quadratic programme per grid point with a general-purpose solver; the simplex fits here are
batched over the grid (``causal_kit.solvers.simplex``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from ..errors import DataError, SpecError
from ..solvers.simplex import simplex_weights

CounterfactualModel = Literal["sc", "did"]
Permutations = Literal["moving_block", "iid"]


def _check(y1: np.ndarray, Y0: np.ndarray, n_pre: int) -> tuple[np.ndarray, np.ndarray]:
    y1 = np.asarray(y1, dtype=float).ravel()
    Y0 = np.asarray(Y0, dtype=float)
    if Y0.ndim != 2 or Y0.shape[0] != y1.size:
        raise DataError(f"conformal inference needs the donors as a (periods x donors) matrix with as many rows as "
                        f"the treated series has periods ({y1.size}); got shape {Y0.shape}.")
    if not (np.isfinite(y1).all() and np.isfinite(Y0).all()):
        raise DataError("conformal inference needs finite outcomes; the treated series or the donors contain "
                        "NaN or infinite values. Fill or drop them first.")
    if not 2 <= int(n_pre) < y1.size:
        raise SpecError(f"conformal inference needs at least 2 pre-periods and 1 post-period; got n_pre={n_pre} "
                        f"of {y1.size} periods.")
    return y1, Y0


def residuals(targets: np.ndarray, Y0: np.ndarray, model: CounterfactualModel = "sc") -> np.ndarray:
    """Residuals of the counterfactual model fitted on all periods, for a batch of target series.

    Parameters
    ----------
    targets : (T,) or (B, T) array
        Treated series (already adjusted under the null).
    Y0 : (T, J) array
        Donor series.
    model : {"sc", "did"}
        ``sc``: simplex weights by least squares; ``did``: donors' mean plus a constant.

    Returns
    -------
    (T,) or (B, T) array of residuals.

    Examples
    --------
    >>> import numpy as np
    >>> Y0 = np.array([[1.0, 3.0], [2.0, 4.0], [3.0, 5.0]])
    >>> residuals(np.array([2.0, 3.0, 4.0]), Y0).round(8).tolist()
    [0.0, 0.0, 0.0]
    """
    Yt = np.atleast_2d(np.asarray(targets, dtype=float))
    if model == "sc":
        W = np.atleast_2d(simplex_weights(Y0, Yt))
        U = Yt - W @ Y0.T
    elif model == "did":
        m = Y0.mean(axis=1)
        U = Yt - m[None, :]
        U = U - U.mean(axis=1, keepdims=True)
    else:
        raise SpecError(f"The 'model' parameter of conformal inference must be one of ['sc', 'did']. Got {model!r} instead.")
    return U[0] if np.ndim(targets) == 1 else U


def _block_stat(U: np.ndarray, n_post: int, q: float) -> np.ndarray:
    """Statistic of every cyclic block of ``n_post`` periods, shape (B, T); block s starts at s."""
    A = np.abs(U) ** q
    T = A.shape[1]
    doubled = np.concatenate([A, A], axis=1)
    idx = (np.arange(T)[:, None] + np.arange(n_post)[None, :])  # (T, n_post)
    return doubled[:, idx].sum(axis=2)


def _pvalues(U: np.ndarray, n_pre: int, permutation: Permutations, q: float, n_perm: int,
             rng: np.random.Generator | None) -> np.ndarray:
    T = U.shape[1]
    n_post = T - n_pre
    if permutation == "moving_block":
        S = _block_stat(U, n_post, q)
        return (S >= S[:, [n_pre]]).mean(axis=1)
    A = np.abs(U) ** q
    observed = A[:, n_pre:].sum(axis=1)
    rng = rng if rng is not None else np.random.default_rng(0)
    pick = np.argpartition(rng.random((n_perm, T)), n_post - 1, axis=1)[:, :n_post]
    S = A[:, pick].sum(axis=2)  # (B, n_perm)
    return (1.0 + (S >= observed[:, None]).sum(axis=1)) / (n_perm + 1.0)


def conformal_pvalue(
    y1: np.ndarray,
    Y0: np.ndarray,
    n_pre: int,
    theta0: float | np.ndarray = 0.0,
    *,
    model: CounterfactualModel = "sc",
    permutation: Permutations = "moving_block",
    q: float = 1.0,
    n_perm: int = 5000,
    seed: int | None = 0,
) -> float:
    """p-value of the null that the post-period effects equal ``theta0``.

    Parameters
    ----------
    y1 : (T,) array
        The treated series (or the treated units' average).
    Y0 : (T, J) array
        The donor series.
    n_pre : int
        Number of pre-periods; the rest are post-periods.
    theta0 : float or (T - n_pre,) array
        Hypothesised effect per post-period (a scalar is constant over them).
    model : {"sc", "did"}
        Counterfactual model fitted on all periods under the null.
    permutation : {"moving_block", "iid"}
        ``moving_block``: the ``T`` cyclic shifts (exact under stationarity, the paper's
        default); ``iid``: ``n_perm`` random permutations (``(1 + #) / (n_perm + 1)``).
    q : float
        Norm of the block statistic (1 in the paper's application).
    n_perm : int
        Random permutations for ``iid``.
    seed : int, default 0
        Seed of the ``iid`` permutations.

    Returns
    -------
    float

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.inference.conformal import conformal_pvalue
    >>> wide = ck.datasets.load("california_prop99").pivot(index="Year", columns="State", values="PacksPerCapita")
    >>> y1, Y0 = wide.pop("California").to_numpy(), wide.to_numpy()
    >>> round(conformal_pvalue(y1, Y0, n_pre=19), 4)
    0.0968
    """
    y1, Y0 = _check(y1, Y0, n_pre)
    n_post = y1.size - int(n_pre)
    theta = np.broadcast_to(np.asarray(theta0, dtype=float), (n_post,))
    target = y1.copy()
    target[n_pre:] -= theta
    U = residuals(target[None, :], Y0, model)
    rng = np.random.default_rng(seed) if permutation == "iid" else None
    return float(_pvalues(U, int(n_pre), permutation, q, n_perm, rng)[0])


def conformal_pointwise(
    y1: np.ndarray,
    Y0: np.ndarray,
    n_pre: int,
    grid: np.ndarray,
    *,
    alpha: float = 0.05,
    model: CounterfactualModel = "sc",
) -> tuple[np.ndarray, np.ndarray]:
    """Per-post-period intervals: the smallest and largest grid values each test keeps.

    For post-period ``t`` the data are the pre-periods plus period ``t``; every grid value
    ``theta`` is tested with the share of the ``n_pre + 1`` residuals at least as large (in
    absolute value) as period ``t``'s, and kept when that share exceeds ``alpha``. A period
    whose test keeps no grid value gets NaN bounds; a bound on the grid's edge means the grid
    is too narrow.

    Returns
    -------
    (lower, upper) : two (T - n_pre,) arrays

    Examples
    --------
    >>> import numpy as np, causal_kit as ck
    >>> from causal_kit.inference.conformal import conformal_pointwise
    >>> wide = ck.datasets.load("california_prop99").pivot(index="Year", columns="State", values="PacksPerCapita")
    >>> y1, Y0 = wide.pop("California").to_numpy(), wide.to_numpy()
    >>> lo, hi = conformal_pointwise(y1, Y0, 19, np.linspace(-60, 20, 161))
    >>> bool((lo < hi).all())
    True
    """
    y1, Y0 = _check(y1, Y0, n_pre)
    grid = np.asarray(grid, dtype=float).ravel()
    n_pre = int(n_pre)
    n_post = y1.size - n_pre
    lower = np.full(n_post, np.nan)
    upper = np.full(n_post, np.nan)
    for t in range(n_post):
        p = pointwise_pvalues(y1, Y0, n_pre, t, grid, model=model)
        kept = grid[p > alpha]
        if kept.size:
            lower[t], upper[t] = kept.min(), kept.max()
    return lower, upper


def pointwise_pvalues(y1: np.ndarray, Y0: np.ndarray, n_pre: int, t: int, thetas: np.ndarray, *,
                      model: CounterfactualModel = "sc") -> np.ndarray:
    """p-values of ``effect in post-period t = theta`` for each ``theta`` (batched fits)."""
    rows = np.r_[np.arange(n_pre), n_pre + t]
    targets = np.repeat(y1[rows][None, :], len(thetas), axis=0)
    targets[:, -1] -= thetas
    U = np.atleast_2d(residuals(targets, Y0[rows], model))
    A = np.abs(U)
    return (A >= A[:, [-1]]).mean(axis=1)


def invert_constant_effect(
    pvalues: Callable[[np.ndarray], np.ndarray],
    center: float,
    scale: float,
    alpha: float,
    *,
    n_grid: int = 101,
    max_widen: int = 6,
    n_refine: int = 4,
    n_sub: int = 15,
) -> tuple[float, float]:
    """The interval of every ``theta`` whose p-value exceeds ``alpha``, refined by bisection.

    ``pvalues`` maps an array of hypothesised effects to their p-values (batched). The grid
    spans ``center +- 10 scale`` and is widened threefold while an edge is still kept; each
    end is then refined between the outermost kept and the next rejected grid point: ``n_refine``
    rounds of ``n_sub`` points (both ends in one batched call; the bracket shrinks
    ``n_sub + 1``-fold per round). Returns
    ``(-inf, inf)`` ends that stay unbounded after ``max_widen`` widenings, and
    ``(nan, nan)`` when no grid value is kept.
    """
    half = 10.0 * (scale if scale > 0 and np.isfinite(scale) else max(abs(center), 1.0))
    for _ in range(max_widen):
        grid = np.linspace(center - half, center + half, n_grid)
        keep = pvalues(grid) > alpha
        if not keep.any():
            return float("nan"), float("nan")
        if not (keep[0] or keep[-1]):
            break
        half *= 3.0
    else:
        lo = -np.inf if keep[0] else None
        hi = np.inf if keep[-1] else None
        if lo is not None and hi is not None:
            return lo, hi
    idx = np.flatnonzero(keep)
    ends = []  # (inside, outside) brackets of each bounded end
    if not keep[0]:
        ends.append([grid[idx[0]], grid[idx[0] - 1]])
    if not keep[-1]:
        ends.append([grid[idx[-1]], grid[idx[-1] + 1]])
    for _ in range(n_refine):
        # one batched call refines both ends: the first rejected point walking out from inside
        fracs = np.linspace(0.0, 1.0, n_sub + 2)[1:-1]
        pts = np.concatenate([a + fracs * (b - a) for a, b in ends])
        kept = (pvalues(pts) > alpha).reshape(len(ends), n_sub)
        for e, row in zip(ends, kept):
            a, b = e
            first_out = int(np.argmin(row)) if not row.all() else n_sub
            e[0] = a + (fracs[first_out - 1] if first_out > 0 else 0.0) * (b - a)
            e[1] = a + (fracs[first_out] if first_out < n_sub else 1.0) * (b - a)
    refined = iter(e[0] for e in ends)
    low = -np.inf if keep[0] else float(next(refined))
    high = np.inf if keep[-1] else float(next(refined))
    return float(low), float(high)


def constant_effect_pvalues(y1: np.ndarray, Y0: np.ndarray, n_pre: int, thetas: np.ndarray, *,
                            model: CounterfactualModel = "sc", permutation: Permutations = "moving_block",
                            q: float = 1.0, n_perm: int = 5000, seed: int | None = 0) -> np.ndarray:
    """p-values of ``every post-period effect = theta`` for each ``theta`` (batched fits)."""
    targets = np.repeat(y1[None, :], len(thetas), axis=0)
    targets[:, n_pre:] -= np.asarray(thetas, dtype=float)[:, None]
    U = np.atleast_2d(residuals(targets, Y0, model))
    rng = np.random.default_rng(seed) if permutation == "iid" else None
    return _pvalues(U, n_pre, permutation, q, n_perm, rng)
