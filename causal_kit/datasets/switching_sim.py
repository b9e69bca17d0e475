"""Simulated panel with a treatment that switches on and off (a promotion that stores start or stop).

Used by the de Chaisemartin-D'Haultfoeuille estimator's docs and tests: every unit starts
either without the promotion or with it; most switch once (on, or off), some never switch and,
optionally, some switch on and off again. The effect of the promotion grows with the number of
periods it has been running and differs across stores, so two-way fixed effects are biased
while parallel trends hold by construction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import SpecError

__all__ = ["simulate_switching_panel"]


def simulate_switching_panel(
    n_units: int = 300,
    n_periods: int = 8,
    effect: float = 1.0,
    dynamic: float = 0.5,
    start_treated_share: float = 0.35,
    switch_share: float = 0.7,
    on_off_share: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """A panel where a 0/1 treatment switches on (joiners) or off (leavers).

    A unit's effect when treated for ``k + 1`` consecutive periods is
    ``tau_g * (1 + dynamic * min(k, 3))`` with ``tau_g ~ effect * U(0.5, 1.5)``; units treated
    from the start are at the steady state ``tau_g * (1 + 3 * dynamic)``. Parallel trends hold.

    Parameters
    ----------
    n_units, n_periods : int
        Panel size (``n_periods >= 3``).
    effect : float
        Mean unit effect ``tau_g``.
    dynamic : float
        Growth of the effect per period of exposure (capped after 3 periods).
    start_treated_share : float
        Share of units treated in the first period.
    switch_share : float
        Share of units that switch once, at a period drawn uniformly from 2..n_periods.
    on_off_share : float
        Share of units that switch and then switch back two periods later.
    seed : int
        Seed of every draw.

    Returns
    -------
    DataFrame
        Columns ``unit``, ``period`` (1..n_periods), ``y``, ``promo`` (0/1 treatment) and
        ``true_effect``: the signed effect of the unit's first switch at that period,
        ``S_g * (Y_actual - Y_status_quo)`` (0 before the switch and for units that never switch).

    Examples
    --------
    >>> from causal_kit.datasets import simulate_switching_panel
    >>> df = simulate_switching_panel(n_units=20, n_periods=5, seed=1)
    >>> sorted(df["promo"].unique().tolist())
    [0, 1]
    """
    owner = "simulate_switching_panel"
    for name, value, lo in (("n_units", n_units, 2), ("n_periods", n_periods, 3)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
            raise SpecError(f"The {name!r} parameter of {owner} must be an int >= {lo}. Got {value!r} instead.")
    shares = {"start_treated_share": start_treated_share, "switch_share": switch_share, "on_off_share": on_off_share}
    for name, value in shares.items():
        if not 0.0 <= float(value) <= 1.0:
            raise SpecError(f"The {name!r} parameter of {owner} must be in [0, 1]. Got {value!r} instead.")
    if switch_share + on_off_share > 1.0:
        raise SpecError(f"{owner}: switch_share + on_off_share must be at most 1. Got {switch_share + on_off_share}.")
    rng = np.random.default_rng(seed)
    n, t = int(n_units), int(n_periods)
    base = (rng.random(n) < start_treated_share).astype(int)
    kind = rng.choice(3, size=n, p=[1 - switch_share - on_off_share, switch_share, on_off_share])
    first = rng.integers(1, t, size=n)  # column index of the first switch (period 2..t)
    cols = np.arange(t)[None, :]
    D = np.repeat(base[:, None], t, axis=1)
    switched = (kind > 0)[:, None] & (cols >= first[:, None])
    back = (kind == 2)[:, None] & (cols >= first[:, None] + 2)
    D = np.where(switched & ~back, 1 - D, D)
    tau = effect * rng.uniform(0.5, 1.5, n)
    # exposure: consecutive treated periods so far (units treated at the start: steady state)
    run = np.zeros((n, t))
    for c in range(t):
        prev = run[:, c - 1] if c else np.where(base == 1, 3.0, -1.0)
        run[:, c] = np.where(D[:, c] == 1, prev + 1, -1.0)
    gain = np.where(D == 1, tau[:, None] * (1 + dynamic * np.minimum(np.maximum(run, 0), 3)), 0.0)
    # status quo path: the baseline treatment kept (steady state if treated from the start)
    steady = tau * (1 + 3 * dynamic)
    sq_gain = np.where(base[:, None] == 1, steady[:, None], 0.0)
    sign = np.where(base == 1, -1.0, 1.0)[:, None]
    true_effect = np.where((kind > 0)[:, None] & (cols >= first[:, None]), sign * (gain - sq_gain), 0.0)
    y = (rng.normal(0, 1, n)[:, None] + np.cumsum(rng.normal(0.2, 0.3, t))[None, :] + gain
         + rng.normal(0, 1, (n, t)))
    return pd.DataFrame({
        "unit": np.repeat(np.arange(1, n + 1), t),
        "period": np.tile(np.arange(1, t + 1), n),
        "y": y.ravel(),
        "promo": D.ravel().astype(int),
        "true_effect": true_effect.ravel(),
    })
