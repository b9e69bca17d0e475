"""Vectorised maths of switchback experiments: burn-in masks, difference in means, period-cluster SEs.

A switchback panel is ``N`` units x ``T`` time steps, cut into ``K`` periods of ``L`` steps; each
randomisation block (a unit or a group of units) gets one policy per period. With carryover of
``m`` steps, the first ``m`` steps of every period are burn-in and are dropped (a fixed set, so
the kept steps do not depend on the assignment and randomisation inference stays exact).

Everything here works on per-(unit, period) sums ``S`` and counts ``C`` of the kept steps, and on
assignments ``W`` of shape ``(draws, N, K)``, so thousands of schedules cost a few matrix
products. The standard error treats each randomisation period as a cluster (all units, all
steps): the assignment is independent across periods, so the score of the effect is uncorrelated
across periods whatever the serial or cross-unit correlation of the outcome (a Driscoll-Kraay
covariance whose kernel is the randomisation period), with ``K / (K - 1)`` and ``t(K - 1)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["burn_in_mask", "period_sums", "dim_draws", "draw_schedules"]


def burn_in_mask(n_steps: int, period_length: int, carryover: int) -> np.ndarray:
    """True for the kept (non-burn-in) steps: position within the period >= ``carryover``.

    Examples
    --------
    >>> burn_in_mask(6, 3, 1).tolist()
    [False, True, True, False, True, True]
    """
    return (np.arange(n_steps) % period_length) >= carryover


def period_sums(Y: np.ndarray, keep: np.ndarray, period_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Sums and counts of ``Y`` (N, T) over the kept steps of each period: two (N, K) arrays.

    Examples
    --------
    >>> S, C = period_sums(np.arange(12.0).reshape(2, 6), burn_in_mask(6, 3, 1), 3)
    >>> S.tolist(), C.tolist()
    ([[3.0, 9.0], [15.0, 21.0]], [[2.0, 2.0], [2.0, 2.0]])
    """
    n, t = Y.shape
    k = -(-t // period_length)
    pad = k * period_length - t
    Yk = np.pad(np.where(keep[None, :], Y, 0.0), ((0, 0), (0, pad))).reshape(n, k, period_length)
    Ck = np.pad(np.broadcast_to(keep, (n, t)).astype(float), ((0, 0), (0, pad))).reshape(n, k, period_length)
    return Yk.sum(axis=2), Ck.sum(axis=2)


def dim_draws(S: np.ndarray, C: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Difference in means and its period-cluster SE for each assignment in ``W`` (D, N, K).

    ``S`` and ``C`` are (N, K) (one panel, many schedules) or (D, N, K) (one panel per draw).

    Returns two ``(D,)`` arrays; NaN where a draw leaves one arm empty.

    Examples
    --------
    >>> S = np.array([[4.0, 2.0]]); C = np.array([[2.0, 2.0]])
    >>> est, se = dim_draws(S, C, np.array([[[1.0, 0.0]]]))
    >>> est.tolist()
    [1.0]
    """
    W = np.asarray(W, dtype=float)
    S = np.broadcast_to(S, W.shape)  # (N, K) shared by every draw, or one (D, N, K) panel per draw
    C = np.broadcast_to(C, W.shape)
    WS, WC = W * S, W * C
    s1_k, n1_k = WS.sum(axis=1), WC.sum(axis=1)  # (D, K) treated sums and counts per period
    s_k, c_k = S.sum(axis=1), C.sum(axis=1)
    n1, s1 = n1_k.sum(axis=1), s1_k.sum(axis=1)
    n0, s0 = c_k.sum(axis=1) - n1, s_k.sum(axis=1) - s1
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m0 = s1 / n1, s0 / n0
        est = m1 - m0
        # residual sums per period and arm: sum over units of (S - C * mean of the unit's arm)
        r1 = s1_k - m1[:, None] * n1_k
        r0 = (s_k - s1_k) - m0[:, None] * (c_k - n1_k)
        # influence of period k on m1 - m0
        g = r1 / n1[:, None] - r0 / n0[:, None]
        K = W.shape[2]
        se = np.sqrt(K / (K - 1) * (g**2).sum(axis=1))
    bad = (n1 == 0) | (n0 == 0)
    return np.where(bad, np.nan, est), np.where(bad, np.nan, se)


def draw_schedules(n_draws: int, block_of_unit: np.ndarray, n_periods: int, p: float, seed: int) -> np.ndarray:
    """Bernoulli(``p``) policy per block and period, expanded to units: (draws, N, K) float.

    Draws that leave an arm empty are redrawn, so each has treated and control periods (the
    randomisation is then conditional on both arms being used, as the analysis is).

    Examples
    --------
    >>> draw_schedules(2, np.array([0, 0, 1]), 4, 0.5, 0).shape
    (2, 3, 4)
    """
    rng = np.random.default_rng(seed)
    n_blocks = int(block_of_unit.max()) + 1
    W = rng.random((n_draws, n_blocks, n_periods)) < p
    for _ in range(100):
        flat = W.reshape(n_draws, -1)
        bad = flat.all(axis=1) | (~flat).all(axis=1)
        if not bad.any():
            break
        W[bad] = rng.random((int(bad.sum()), n_blocks, n_periods)) < p
    return W[:, block_of_unit, :].astype(float)
