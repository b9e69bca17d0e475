"""HonestDiD-style sensitivity of an event-study conclusion to parallel-trends violations.

Rambachan & Roth (2023) "relative magnitudes" restriction: the change in the trend
violation between consecutive post-treatment periods is at most ``M̄`` times the largest
change seen between consecutive pre-treatment periods. Under it the average post-treatment
effect ``θ`` is set-identified:

    θ ∈ [θ̂ - M̄ · M_pre · s̄,  θ̂ + M̄ · M_pre · s̄],

with ``M_pre`` the largest absolute pre-period change and ``s̄`` the average number of steps
from the reference period to each post period. The robust interval takes the lower
``alpha/2`` quantile of the lower bound and the upper quantile of the upper bound over
draws of the event-study coefficients from their estimated normal distribution (seeded),
so the uncertainty in ``M_pre`` is propagated. This is a percentile-projection interval,
simpler than (and typically a little wider than) the conditional/hybrid ARP intervals of
the R HonestDiD package; no Python package implements the latter. The *breakdown value* is
the smallest ``M̄`` at which the interval covers zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..result import Diagnostic

__all__ = ["relative_magnitudes", "honest_diagnostic", "DEFAULT_MBAR"]

DEFAULT_MBAR = np.round(np.arange(0.0, 2.0001, 0.25), 4)


def _quantile(x: np.ndarray, q: float) -> float:
    """``np.quantile(x, q)`` (linear interpolation) via one partition, without its overhead."""
    h = (len(x) - 1) * q
    lo = int(np.floor(h))
    hi = min(lo + 1, len(x) - 1)
    part = np.partition(x, (lo, hi))
    return float(part[lo] + (h - lo) * (part[hi] - part[lo]))


def _bounds_pieces(
    draws: np.ndarray, event_times: np.ndarray, ref: int, pre_are_differences: bool
) -> tuple[np.ndarray, np.ndarray, float]:
    e = np.asarray(event_times)
    post = e >= 0
    # short differences (varying base) include the change into the reference period itself
    pre = (e <= ref) if pre_are_differences else ((e < 0) & (e != ref))
    theta = draws[:, post].mean(axis=1)
    if pre_are_differences:
        changes = draws[:, pre]
    else:
        order = np.argsort(e[pre])
        path = np.concatenate([draws[:, pre][:, order], np.zeros((len(draws), 1))], axis=1)
        changes = np.diff(path, axis=1) if path.shape[1] > 1 else np.zeros((len(draws), 0))
    m_pre = np.abs(changes).max(axis=1)
    steps = float(np.mean(e[post] - ref))
    return theta, m_pre, steps


def relative_magnitudes(
    beta: np.ndarray,
    vcov: np.ndarray,
    event_times: np.ndarray,
    *,
    ref: int = -1,
    pre_are_differences: bool = False,
    mbar: np.ndarray | None = None,
    alpha: float = 0.05,
    seed: int = 0,
    n_draws: int = 2000,
) -> tuple[pd.DataFrame, float]:
    """Robust intervals for the average post-period effect over an ``M̄`` grid.

    Parameters
    ----------
    beta, vcov : arrays
        Event-study coefficients and their covariance, ordered as ``event_times``.
    event_times : array of int
        Event time of each coefficient; ``e >= 0`` are post periods.
    ref : int
        The normalised reference period (its coefficient is 0 and absent from ``beta``).
    pre_are_differences : bool
        True when pre-period coefficients are already period-to-period changes (CS with a
        varying base period); False for coefficients relative to ``ref`` (TWFE, universal base).

    Returns
    -------
    table, breakdown : DataFrame, float
        ``mbar, lower, upper, id_lower, id_upper`` per grid value, and the smallest ``M̄``
        (to 0.01, up to 10) at which the robust interval covers 0 (``nan`` when it never
        excludes 0, ``inf`` when it still excludes 0 at 10).

    Examples
    --------
    >>> import numpy as np
    >>> tab, bd = relative_magnitudes(np.array([0.01, -0.05, -0.08]), np.diag([1e-4] * 3),
    ...                               np.array([-2, 0, 1]))
    >>> round(float(tab.loc[0, "id_lower"]), 3), bd > 0
    (-0.065, True)
    """
    beta = np.asarray(beta, dtype=float)
    e = np.asarray(event_times)
    if not (e >= 0).any() or not (e <= ref).any():
        return pd.DataFrame(columns=["mbar", "lower", "upper", "id_lower", "id_upper"]), float("nan")
    grid = DEFAULT_MBAR if mbar is None else np.asarray(mbar, dtype=float)
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(vcov + 1e-14 * np.eye(len(beta)) * max(np.trace(vcov), 1e-300))
    draws = beta + rng.standard_normal((n_draws, len(beta))) @ chol.T
    theta_hat, m_hat, steps = _bounds_pieces(beta[None, :], e, ref, pre_are_differences)
    theta, m_pre, _ = _bounds_pieces(draws, e, ref, pre_are_differences)

    spread = m_pre * steps

    def robust(mb: float) -> tuple[float, float]:
        return _quantile(theta - mb * spread, alpha / 2), _quantile(theta + mb * spread, 1 - alpha / 2)

    bounds = np.array([robust(float(mb)) for mb in grid]).reshape(-1, 2)
    half_hat = grid * float(m_hat[0]) * steps
    table = pd.DataFrame({
        "mbar": grid, "lower": bounds[:, 0], "upper": bounds[:, 1],
        "id_lower": float(theta_hat[0]) - half_hat, "id_upper": float(theta_hat[0]) + half_hat,
    })

    def covers(mb: float) -> bool:
        lo, hi = robust(mb)
        return lo <= 0.0 <= hi

    # the interval widens monotonically in M-bar, so bisect for the breakdown value
    if covers(0.0):
        breakdown = float("nan")
    elif not covers(10.0):
        breakdown = float("inf")
    else:
        a, b = 0.0, 10.0
        while b - a > 4e-3:
            mid = (a + b) / 2
            a, b = (a, mid) if covers(mid) else (mid, b)
        breakdown = float(np.ceil(b * 100 - 1e-9) / 100)
    return table, breakdown


def honest_diagnostic(breakdown: float, estimate_label: str = "average post-period effect",
                      table: pd.DataFrame | None = None) -> Diagnostic:
    """A ``sensitivity`` diagnostic from the breakdown value (pass when it is at least 1).

    Pass the sensitivity ``table`` so that an empty one (no pre-period change to scale
    violations by) is reported as not applicable.

    Examples
    --------
    >>> honest_diagnostic(1.5).status
    'pass'
    """
    if table is not None and len(table) == 0:
        return Diagnostic(
            "honest_did", "not_applicable",
            "The sensitivity analysis needs at least one pre-treatment change and one post-treatment "
            "effect; add earlier periods to bound parallel-trends violations.",
            assumption="sensitivity",
        )
    if np.isnan(breakdown):
        return Diagnostic(
            "honest_did", "not_applicable",
            f"The {estimate_label} is not significant even under exact parallel trends, so there is "
            "no conclusion for a sensitivity analysis to overturn.",
            assumption="sensitivity",
        )
    shown = "more than 10" if np.isinf(breakdown) else f"{breakdown:.2f}"
    ok = breakdown >= 1.0
    msg = (
        f"The {estimate_label} stays significant unless post-treatment trend violations exceed "
        f"{shown} times the largest pre-treatment change (relative-magnitudes breakdown M-bar); "
        + ("the conclusion is robust to violations as large as those seen before treatment."
           if ok else "violations as large as those seen before treatment would overturn it, so "
           "report it with the sensitivity table.")
    )
    stat = 10.0 if np.isinf(breakdown) else breakdown
    return Diagnostic("honest_did", "pass" if ok else "warn", msg, statistic=stat, threshold=1.0,
                      assumption="sensitivity")
