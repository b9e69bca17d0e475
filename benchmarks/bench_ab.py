"""CUPED on 10M rows: causal_kit's full A/B readout against a plain numpy floor.

The floor computes only the CUPED difference and its Welch SE; causal_kit also validates the
data, copies it, fingerprints it, runs the sample-ratio and balance checks and builds tables.
Goal: <= 1.5x the floor. Medians of interleaved runs, with default threading and with one
core kept busy; the note gives the validation share of our time.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._harness import interleaved, modes, row, validation_share


def _numpy_floor(t: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    xc = x - x.mean()
    theta = np.dot(xc, y - y.mean()) / np.dot(xc, xc)
    ya = y - theta * xc
    a, b = ya[t == 1], ya[t == 0]
    return float(a.mean() - b.mean()), math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)


def run(quick: bool = False) -> list[dict]:
    import causal_kit as ck

    n = 1_000_000 if quick else 10_000_000
    rng = np.random.default_rng(0)
    t = rng.integers(0, 2, n)
    x = rng.normal(10, 3, n)
    y = 0.8 * x + 0.05 * t + rng.normal(0, 1, n)
    df = pd.DataFrame({"treat": t, "pre": x, "y": y})
    spec = ck.ExperimentSpec(name="bench", design="ab", outcome="y", treatment="treat", pre_covariate="pre")
    rows = []
    for mode, ctx in modes():
        with ctx():
            timed = interleaved({"ours": lambda: ck.estimate(df, spec), "floor": lambda: _numpy_floor(t, x, y)},
                                repeat=3)
            (ours_s, res), (floor_s, (est, se)) = timed["ours"], timed["floor"]
            share = validation_share(df, spec, ours_s)
        match = math.isclose(res.estimate, est, rel_tol=1e-9) and math.isclose(res.se, se, rel_tol=1e-9)
        rows.append(row(f"CUPED A/B, {n:,} rows [{mode}]", ours_s, "numpy floor", floor_s, "<= 1.5x", match,
                        note=f"validation {share:.0%} of ours"))
    return rows
