"""Interference: exposure mapping over 10,000 geo units and switchback power by simulation.

* ``exposure_10k``: 10,000 units with random coordinates over the contiguous US, 2,000 treated,
  rings at 10 / 25 / 50 km (nearest treated unit from a k-d tree) plus the adjacency of every pair
  within 25 km. Goal: under 1 s.
* ``switchback_power`` (added with the switchback design): 100 units x 365 days, 1,000 draws.
"""

from __future__ import annotations

import numpy as np

from ._harness import best_time, row


def _exposure(n: int = 10_000) -> int:
    from causal_kit.inference.exposure import exposure_rings, pairs_within_km

    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(25, 49, n), rng.uniform(-124, -67, n)
    treated = np.zeros(n, bool)
    treated[rng.choice(n, n // 5, replace=False)] = True
    ring, _ = exposure_rings(treated, lat=lat, lon=lon, bands_km=(10.0, 25.0, 50.0))
    A = pairs_within_km(lat, lon, 25.0)
    return int((ring > 0).sum() + A.nnz)


def run(quick: bool) -> list[dict]:
    rows = []
    t, _ = best_time(_exposure, repeat=1 if quick else 3)
    rows.append(row("exposure_10k", t, goal="< 1 s"))
    try:
        from causal_kit.design.switchback import switchback_power_benchmark
    except ImportError:
        return rows
    t, _ = best_time(switchback_power_benchmark, repeat=1)
    rows.append(row("switchback_power_100x365x1000", t, goal="< 30 s on 2 cores"))
    return rows
