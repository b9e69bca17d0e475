"""A small simulated delivery log for the metric-movement examples, with a known story.

Weeks of packages over route types, carriers and stations. In the last week more packages go
to rural routes (mix) and rural routes get slower (rate), so the on-time rate falls for both
reasons. The costs follow a KPI tree: cost per package = labour cost / packages, packages =
stops x packages per stop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["simulate_deliveries", "simulate_kpi_history"]


def simulate_deliveries(n: int = 20_000, *, weeks: int = 2, seed: int = 0) -> pd.DataFrame:
    """Package-level delivery log over ``weeks`` weeks; the last week is the one that moved.

    Columns: ``week``, ``route_type`` (urban / suburban / rural), ``carrier`` (A / B / C),
    ``station`` (S1..S6), ``on_time`` (0/1), ``cost`` (per package) and ``weight_kg``.

    Examples
    --------
    >>> from causal_kit.explain import simulate_deliveries
    >>> simulate_deliveries(1000, seed=0).shape
    (1000, 7)
    """
    rng = np.random.default_rng(seed)
    week = rng.integers(1, weeks + 1, n)
    last = week == weeks
    rural_share = np.where(last, 0.32, 0.20)
    u = rng.random(n)
    route = np.where(u < rural_share, "rural", np.where(u < rural_share + 0.35, "suburban", "urban"))
    carrier = rng.choice(np.array(["A", "B", "C"]), n, p=[0.5, 0.3, 0.2])
    station = rng.choice(np.array([f"S{i}" for i in range(1, 7)]), n)
    base = {"urban": 0.95, "suburban": 0.92, "rural": 0.86}
    p = np.vectorize(base.get)(route) - np.where((route == "rural") & last, 0.05, 0.0)
    p = p - np.where(carrier == "C", 0.02, 0.0)
    on_time = (rng.random(n) < p).astype(int)
    cost = np.round(np.where(route == "rural", 6.0, 3.5) + rng.gamma(2.0, 0.5, n), 2)
    weight = np.round(rng.gamma(2.0, 1.5, n), 2)
    return pd.DataFrame({"week": week, "route_type": route, "carrier": carrier, "station": station,
                         "on_time": on_time, "cost": cost, "weight_kg": weight})


def simulate_kpi_history(n_weeks: int = 60, *, stations: int = 8, seed: int = 0) -> pd.DataFrame:
    """Weekly per-station history of on-time rate with a yearly-ish seasonal wave and one shock.

    Columns: ``station``, ``week`` (1..n_weeks), ``packages``, ``on_time`` (count),
    ``on_time_rate``. Station ``S3`` drops by 10 points in the last week.

    Examples
    --------
    >>> from causal_kit.explain import simulate_kpi_history
    >>> simulate_kpi_history(10, stations=2).shape
    (20, 5)
    """
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(1, stations + 1):
        level = 0.9 + 0.01 * rng.standard_normal()
        for w in range(1, n_weeks + 1):
            season = 0.015 * np.sin(2 * np.pi * w / 52)
            rate = level + season + 0.006 * rng.standard_normal()
            if s == 3 and w == n_weeks:
                rate -= 0.10
            pk = int(rng.integers(800, 1200))
            ot = int(rng.binomial(pk, float(np.clip(rate, 0, 1))))
            rows.append((f"S{s}", w, pk, ot, ot / pk))
    return pd.DataFrame(rows, columns=["station", "week", "packages", "on_time", "on_time_rate"])
