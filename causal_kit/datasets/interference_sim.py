"""Simulators with known interference: a geo panel with spillover onto nearby untreated geos,
and a switchback panel whose policy carries over into the next period.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import SpecError

__all__ = ["simulate_spillover_panel", "simulate_switchback"]


def _positive_int(value: object, name: str, owner: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise SpecError(f"The {name!r} parameter of {owner} must be an int >= {minimum}. Got {value!r} instead.")
    return int(value)


def spillover_layout(n_units: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit coordinates: clustered towns over a 4 x 5 degree region around (40N, 95W)."""
    rng = np.random.default_rng(seed)
    n_towns = max(n_units // 8, 1)
    town_lat, town_lon = rng.uniform(38, 42, n_towns), rng.uniform(-97.5, -92.5, n_towns)
    town = rng.integers(0, n_towns, n_units)
    return town_lat[town] + rng.normal(0, 0.12, n_units), town_lon[town] + rng.normal(0, 0.15, n_units)


def simulate_spillover_panel(n_units: int = 200, n_periods: int = 10, treat_period: int = 6,
                             treated_share: float = 0.2, direct: float = 2.0,
                             spillover: Sequence[float] = (1.0, 0.0), bands_km: Sequence[float] = (15.0, 30.0),
                             noise: float = 1.0, level: float = 20.0, seed: int = 0) -> pd.DataFrame:
    """A geo panel where treatment spills over onto untreated units near treated ones.

    ``y[i, t] = level + unit[i] + period[t] + direct * D[i, t] + spillover[b - 1] * post[t] * ring_b[i]
    + noise * e[i, t]``: units sit in clustered towns (so many untreated units have a treated
    neighbour), a random ``treated_share`` is treated from ``treat_period`` (1-based) on, and an
    untreated unit whose nearest treated unit lies in ring ``b`` (``(bands_km[b-1], bands_km[b]]``,
    the first from 0) gains ``spillover[b - 1]`` after the start. Units beyond the last band are
    untouched. The true direct effect is ``direct``; the true spillover in ring ``b`` is
    ``spillover[b - 1]``.

    Returns
    -------
    DataFrame
        Columns ``geo``, ``period`` (1..n_periods), ``lat``, ``lon``, ``treated`` (1 when treated
        in that period), ``y``, and ``ring`` (the true ring: -1 treated, 0 far, b ring b).

    Examples
    --------
    >>> from causal_kit.datasets import simulate_spillover_panel
    >>> d = simulate_spillover_panel(n_units=40, n_periods=4, treat_period=3, seed=1)
    >>> d.shape
    (160, 7)
    """
    from ..inference.exposure import exposure_rings

    owner = "simulate_spillover_panel"
    n = _positive_int(n_units, "n_units", owner, 4)
    t = _positive_int(n_periods, "n_periods", owner, 2)
    start = _positive_int(treat_period, "treat_period", owner, 2)
    if start > t:
        raise SpecError(f"The 'treat_period' parameter of {owner} must be <= n_periods ({t}). Got {start} instead.")
    if len(spillover) != len(bands_km):
        raise SpecError(f"{owner}: 'spillover' needs one effect per band ({len(bands_km)}); got {len(spillover)}.")
    rng = np.random.default_rng(seed)
    lat, lon = spillover_layout(n, seed)
    treated = np.zeros(n, bool)
    treated[rng.choice(n, max(int(round(treated_share * n)), 1), replace=False)] = True
    ring, _ = exposure_rings(treated, lat=lat, lon=lon, bands_km=tuple(float(b) for b in bands_km))
    post = np.arange(1, t + 1) >= start
    spill = np.concatenate([[0.0], np.asarray(spillover, float)])[np.maximum(ring, 0)]
    y = (level + rng.normal(0, 2, n)[:, None] + rng.normal(0, 1, t)[None, :] + direct * np.outer(treated, post)
         + np.outer(spill, post) + noise * rng.normal(size=(n, t)))
    return pd.DataFrame({
        "geo": np.repeat([f"g{i:04d}" for i in range(n)], t),
        "period": np.tile(np.arange(1, t + 1), n),
        "lat": np.repeat(lat, t), "lon": np.repeat(lon, t),
        "treated": np.outer(treated, post).astype(int).ravel(),
        "y": y.ravel(), "ring": np.repeat(ring, t),
    })


def simulate_switchback(n_units: int = 10, n_periods: int = 40, period_length: int = 6, carryover: int = 1,
                        effect: float = 1.0, p: float = 0.5, noise: float = 1.0, rho: float = 0.5,
                        seed: int = 0) -> pd.DataFrame:
    """A switchback panel whose policy lingers ``carryover`` steps into the next period.

    Each unit (city) draws a policy per period of ``period_length`` steps (Bernoulli ``p``). The
    outcome is ``city level + daily cycle + common shock + AR(1) noise + effect * policy in
    force``, where the policy in force during the first ``carryover`` steps of a period is the
    *previous* period's (carryover of order ``carryover`` in the sense of Bojinov, Simchi-Levi and
    Zhao 2023). The true effect of switching the policy on is ``effect``.

    Returns
    -------
    DataFrame
        Columns ``city``, ``hour`` (0..n_periods * period_length - 1), ``policy`` (assigned, 0/1),
        ``in_force`` (policy acting, 0/1), ``orders``.

    Examples
    --------
    >>> from causal_kit.datasets import simulate_switchback
    >>> simulate_switchback(n_units=2, n_periods=4, period_length=3).shape
    (24, 5)
    """
    owner = "simulate_switchback"
    n = _positive_int(n_units, "n_units", owner)
    k = _positive_int(n_periods, "n_periods", owner, 2)
    L = _positive_int(period_length, "period_length", owner)
    m = _positive_int(carryover, "carryover", owner, 0)
    if m >= L:
        raise SpecError(f"{owner}: period_length ({L}) must be longer than carryover ({m}).")
    rng = np.random.default_rng(seed)
    levels = rng.normal(10, 1, n)
    W = (rng.random((n, k)) < p).astype(float)
    prev = np.concatenate([np.zeros((n, 1)), W[:, :-1]], axis=1)
    in_force = np.repeat(W, L, axis=1)
    burn = (np.arange(k * L) % L) < m
    in_force[:, burn] = np.repeat(prev, L, axis=1)[:, burn]
    t = k * L
    e = rng.normal(size=(n, t))
    ar = np.zeros((n, t))
    for s in range(t):
        ar[:, s] = (rho * ar[:, s - 1] if s else 0.0) + e[:, s]
    y = (levels[:, None] + np.sin(2 * np.pi * np.arange(t) / max(L * 4, 2))[None, :]
         + rng.normal(0, 0.5, t)[None, :] + noise * ar + effect * in_force)
    return pd.DataFrame({
        "city": np.repeat([f"city_{i:02d}" for i in range(n)], t), "hour": np.tile(np.arange(t), n),
        "policy": np.repeat(W, L, axis=1).astype(int).ravel(), "in_force": in_force.astype(int).ravel(),
        "orders": y.ravel(),
    })
