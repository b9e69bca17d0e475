"""Group-sequential boundaries: Lan-DeMets alpha spending and the classic constant boundaries.

With ``K`` planned looks at information fractions ``t_1 < ... < t_K = 1`` the z-statistics of an
efficient estimator behave like Brownian motion observed at those times: ``Z_k sqrt(t_k)`` has
independent Gaussian increments. A two-sided boundary ``b_1, ..., b_K`` controls the family-wise
type-I error when ``P(|Z_k| >= b_k for some k) = alpha`` under the null.

* Lan and DeMets (1983) spend ``alpha(t)`` cumulatively: the boundary at look ``k`` is chosen so
  that the probability of first crossing there is ``alpha(t_k) - alpha(t_{k-1})``. Looks may be
  added or moved without breaking the error rate, as long as their timing does not depend on
  the data. Spending functions (two-sided, ``alpha / 2`` spent on each side as in ``ldbounds``,
  ``gsDesign`` and ``rpact``): O'Brien-Fleming type ``4 - 4 Phi(z_{1-alpha/4} / sqrt(t))`` and
  Pocock type ``alpha log(1 + (e - 1) t)``.
* The classic Pocock (1977) and O'Brien-Fleming (1979) boundaries for equally spaced looks: a
  constant ``c`` (Pocock) or ``c sqrt(K / k)`` (O'Brien-Fleming) with ``c`` solved for ``alpha``.

The crossing probabilities are computed by the recursive numerical integration of Armitage,
McPherson and Rowe (1969) as set out by Jennison and Turnbull (2000, ch. 19): the density of the
score ``S_k = Z_k sqrt(t_k)`` on the continuation region is carried from look to look on a
Simpson grid, and the crossing probability at each look is a normal tail integral against it.
It is written here because scipy has no group-sequential routine and the recursion is short.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..errors import SpecError

__all__ = [
    "Spending", "spending_function", "spending_boundaries", "constant_boundaries", "crossing_probabilities",
    "GroupSequentialOperatingCharacteristics", "operating_characteristics",
]

Spending = Literal["obrien_fleming", "pocock"]

_GRID = 401  # Simpson nodes per look; boundaries agree with 801 nodes to ~1e-7


def _check_fractions(fractions: Any) -> np.ndarray:
    t = np.asarray(fractions, dtype=float)
    if t.ndim != 1 or t.size < 1:
        raise SpecError("the information fractions of the looks must be a non-empty list.")
    if not (np.all(np.diff(t) > 0) and t[0] > 0 and t[-1] <= 1 + 1e-12):
        raise SpecError(
            f"the information fractions of the looks must increase strictly within (0, 1]; got {list(np.round(t, 6))}."
        )
    return t


def spending_function(t: Any, alpha: float = 0.05, kind: Spending = "obrien_fleming") -> Any:
    """Cumulative two-sided type-I error spent by information fraction ``t``.

    Examples
    --------
    >>> round(spending_function(1.0, 0.05, "pocock"), 6), round(spending_function(0.5, 0.05), 6)
    (0.05, 0.003051)
    """
    from scipy.stats import norm

    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    if kind == "obrien_fleming":
        # alpha / 2 spent on each side with 2 - 2 Phi(z_{alpha/4} / sqrt(t)), as in ldbounds / gsDesign
        z = norm.isf(alpha / 4)
        with np.errstate(divide="ignore"):
            out = np.where(t > 0, 4.0 * norm.sf(z / np.sqrt(np.where(t > 0, t, 1.0))), 0.0)
    elif kind == "pocock":
        out = alpha * np.log1p((math.e - 1.0) * t)
    else:
        raise SpecError(f"The 'spending' parameter must be one of 'obrien_fleming', 'pocock'. Got {kind!r} instead.")
    return float(out) if np.ndim(out) == 0 else out


def _simpson(lo: float, hi: float, m: int = _GRID) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(lo, hi, m)
    w = np.ones(m)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return x, w * (hi - lo) / (3.0 * (m - 1))


class _Recursion:
    """Density of the score on the continuation region, carried from look to look."""

    def __init__(self, drift: float = 0.0) -> None:
        self.drift = drift  # mean of Z at t = 1 (theta sqrt(I_max))
        self.nodes: np.ndarray | None = None
        self.weighted: np.ndarray | None = None  # density x Simpson weight at the nodes
        self.t_prev = 0.0

    def cross(self, t: float, b: float) -> tuple[float, float]:
        """P(first crossing at this look above, below) for boundary ``b`` on the z scale at ``t``."""
        from scipy.stats import norm

        step = t - self.t_prev
        mean_step = self.drift * step
        c = b * math.sqrt(t)
        if self.nodes is None:
            return float(norm.sf((c - mean_step) / math.sqrt(step))), float(norm.cdf((-c - mean_step) / math.sqrt(step)))
        sd = math.sqrt(step)
        up = norm.sf((c - self.nodes - mean_step) / sd) @ self.weighted
        down = norm.cdf((-c - self.nodes - mean_step) / sd) @ self.weighted
        return float(up), float(down)

    def advance(self, t: float, b: float) -> None:
        step = t - self.t_prev
        c = b * math.sqrt(t)
        x, w = _simpson(-c, c)
        mean_step = self.drift * step
        if self.nodes is None:
            dens = np.exp(-0.5 * (x - mean_step) ** 2 / step) / math.sqrt(2 * math.pi * step)
        else:
            kernel = np.exp(-0.5 * (x[:, None] - self.nodes[None, :] - mean_step) ** 2 / step)
            dens = kernel @ self.weighted / math.sqrt(2 * math.pi * step)
        self.nodes, self.weighted, self.t_prev = x, dens * w, t


def spending_boundaries(fractions: Any, alpha: float = 0.05, spending: Spending = "obrien_fleming") -> np.ndarray:
    """Two-sided Lan-DeMets z boundaries at the given information fractions.

    Parameters
    ----------
    fractions : sequence of float
        Information fraction of each look, strictly increasing in (0, 1]; 1 is the planned end.
    alpha : float
        Family-wise two-sided type-I error over all looks.
    spending : {"obrien_fleming", "pocock"}
        Spending function.

    Examples
    --------
    >>> spending_boundaries([0.2, 0.4, 0.6, 0.8, 1.0]).round(3).tolist()
    [4.877, 3.357, 2.68, 2.29, 2.031]
    """
    from scipy.optimize import brentq

    t = _check_fractions(fractions)
    spent = spending_function(t, alpha, spending)
    budget = np.diff(np.concatenate([[0.0], spent]))
    rec = _Recursion()
    bounds = np.empty(t.size)
    for k, (tk, target) in enumerate(zip(t, budget)):
        if target <= 1e-15:
            bounds[k] = np.inf  # nothing to spend here
            continue

        def excess(b: float, tk: float = tk, target: float = target) -> float:
            up, down = rec.cross(tk, b)
            return up + down - target

        bounds[k] = brentq(excess, 0.0, 40.0, xtol=1e-12)
        rec.advance(tk, bounds[k])
    return bounds


def crossing_probabilities(bounds: Any, fractions: Any, drift: float = 0.0) -> np.ndarray:
    """Per-look probabilities of first crossing the two-sided boundary ``|Z_k| >= b_k``.

    Parameters
    ----------
    bounds : sequence of float
        Boundaries on the z scale.
    fractions : sequence of float
        Information fractions of the looks.
    drift : float
        Expected z-statistic at full information (0 under the null).

    Examples
    --------
    >>> round(float(crossing_probabilities([2.2895] * 3, [1 / 3, 2 / 3, 1.0]).sum()), 4)
    0.05
    """
    t = _check_fractions(fractions)
    b = np.asarray(bounds, dtype=float)
    if b.shape != t.shape:
        raise SpecError(f"got {b.size} boundaries for {t.size} looks; give one boundary per look.")
    rec = _Recursion(drift)
    eff = np.zeros(t.size)
    for k, tk in enumerate(t):
        up, down = rec.cross(tk, b[k])
        eff[k] = up + down
        if k < t.size - 1:
            rec.advance(tk, b[k])
    return eff


def constant_boundaries(n_looks: int, alpha: float = 0.05, kind: Spending = "pocock") -> np.ndarray:
    """Classic boundaries for equally spaced looks: Pocock ``c`` or O'Brien-Fleming ``c sqrt(K/k)``.

    Examples
    --------
    >>> constant_boundaries(5).round(3).tolist()
    [2.413, 2.413, 2.413, 2.413, 2.413]
    """
    from scipy.optimize import brentq

    if not isinstance(n_looks, int) or n_looks < 1:
        raise SpecError(f"The 'n_looks' parameter must be an int >= 1. Got {n_looks!r} instead.")
    t = np.arange(1, n_looks + 1) / n_looks
    shape = np.ones(n_looks) if kind == "pocock" else np.sqrt(n_looks / np.arange(1, n_looks + 1))
    if kind not in ("pocock", "obrien_fleming"):
        raise SpecError(f"The 'kind' parameter must be one of 'obrien_fleming', 'pocock'. Got {kind!r} instead.")

    def excess(c: float) -> float:
        return float(crossing_probabilities(c * shape, t).sum() - alpha)

    return brentq(excess, 1.0, 10.0, xtol=1e-12) * shape


@dataclass(frozen=True)
class GroupSequentialOperatingCharacteristics:
    """Power and expected stopping of a boundary at one effect size."""

    power: float
    expected_fraction: float  # expected information fraction at stopping
    stop_probabilities: np.ndarray  # per-look probability of stopping for efficacy


def operating_characteristics(bounds: Any, fractions: Any, drift: float) -> GroupSequentialOperatingCharacteristics:
    """Power and expected information at stopping for an effect with z-drift ``drift`` at ``t = 1``.

    Examples
    --------
    >>> oc = operating_characteristics(spending_boundaries([0.5, 1.0]), [0.5, 1.0], drift=2.8)
    >>> round(oc.power, 2)
    0.8
    """
    t = _check_fractions(fractions)
    eff = crossing_probabilities(bounds, t, drift)
    reach = 1.0 - np.concatenate([[0.0], np.cumsum(eff)[:-1]])  # P(still running at look k)
    # expected information: each look's increment is used when the study reaches it
    expected = float(np.sum(np.diff(np.concatenate([[0.0], t])) * reach))
    return GroupSequentialOperatingCharacteristics(float(eff.sum()), expected, eff)
