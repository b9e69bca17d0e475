"""Shapley values of a set function over a few players: exact, or sampled with a seed.

Players are the segment dimensions of a mix decomposition or the leaves of a KPI tree. The
value function takes a coalition as a bit mask. Exact enumeration (all ``2**n`` coalitions)
is used up to ``max_exact`` players; above that, random permutations (seeded) estimate the
values and their Monte Carlo standard errors. Both satisfy efficiency exactly: the values
sum to ``v(all) - v(empty)`` (every permutation's marginal contributions telescope).

Written here rather than taken from a library because the games are tiny, the coalition
values are cached by mask, and we need the pairwise interaction index alongside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import factorial

import numpy as np

__all__ = ["ShapleyResult", "shapley_values"]


@dataclass(frozen=True)
class ShapleyResult:
    """Shapley values, their Monte Carlo SEs (zero when exact) and pairwise interactions."""

    values: np.ndarray
    se: np.ndarray
    exact: bool
    n_permutations: int
    coalition_values: dict[int, float]
    interactions: np.ndarray | None  # Shapley interaction index (exact case only)


def _interaction_index(v: np.ndarray, n: int) -> np.ndarray:
    """Grabisch's Shapley interaction index for every pair, from all ``2**n`` coalition values."""
    out = np.zeros((n, n))
    masks = np.arange(1 << n)
    sizes = np.array([bin(m).count("1") for m in masks])
    for i in range(n):
        for j in range(i + 1, n):
            bi, bj = 1 << i, 1 << j
            free = masks[(masks & (bi | bj)) == 0]
            s = sizes[free]
            w = np.array([factorial(k) * factorial(n - k - 2) / factorial(n - 1) for k in s])
            delta = v[free | bi | bj] - v[free | bi] - v[free | bj] + v[free]
            out[i, j] = out[j, i] = float(np.sum(w * delta))
    return out


def shapley_values(value: Callable[[int], float], n_players: int, *, max_exact: int = 8,
                   n_permutations: int = 2000, seed: int | None = 0) -> ShapleyResult:
    """Shapley values of the game ``value(mask)`` over ``n_players`` players.

    Parameters
    ----------
    value : callable
        Coalition value from a bit mask (bit ``i`` set = player ``i`` in the coalition).
    n_players : int
        Number of players (at least 1).
    max_exact : int, default 8
        Enumerate all coalitions up to this many players; sample permutations above.
    n_permutations : int, default 2000
        Permutations drawn when sampling.
    seed : int or None, default 0
        Seed of the permutation sampler.

    Returns
    -------
    ShapleyResult

    Examples
    --------
    >>> from causal_kit.explain.shapley import shapley_values
    >>> r = shapley_values(lambda m: float(m == 0b11) * 2.0, 2)  # pure interaction game
    >>> r.values.tolist()
    [1.0, 1.0]
    """
    n = int(n_players)
    cache: dict[int, float] = {}

    def v(mask: int) -> float:
        if mask not in cache:
            cache[mask] = float(value(mask))
        return cache[mask]

    if n <= max_exact:
        full = np.array([v(m) for m in range(1 << n)])
        masks = np.arange(1 << n)
        sizes = np.array([bin(m).count("1") for m in masks])
        weight_by_size = np.array([factorial(k) * factorial(n - k - 1) / factorial(n) for k in range(n)])
        phi = np.zeros(n)
        for i in range(n):
            bit = 1 << i
            free = masks[(masks & bit) == 0]
            phi[i] = float(np.sum(weight_by_size[sizes[free]] * (full[free | bit] - full[free])))
        inter = _interaction_index(full, n) if n >= 2 else None
        return ShapleyResult(phi, np.zeros(n), True, 0, cache, inter)

    rng = np.random.default_rng(seed)
    draws = np.zeros((n_permutations, n))
    for p in range(n_permutations):
        mask, prev = 0, v(0)
        for i in rng.permutation(n):
            mask |= 1 << int(i)
            cur = v(mask)
            draws[p, i] = cur - prev
            prev = cur
    se = draws.std(axis=0, ddof=1) / np.sqrt(n_permutations)
    return ShapleyResult(draws.mean(axis=0), se, False, n_permutations, cache, None)
