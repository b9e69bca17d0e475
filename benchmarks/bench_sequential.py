"""Sequential A/B readout on 10M rows against the fixed-horizon readout of the same data.

The sequential readout adds the confidence sequence, the always-valid p-value, the
Dirichlet-multinomial sample-ratio check and the look bookkeeping to the fixed-horizon CUPED
readout. Goal: <= 1.2x the fixed-horizon readout. A second row times the same with Lan-DeMets
alpha spending (boundaries by recursive numerical integration at the third of four looks).
A third row times the group-sequential boundary calibration of a geo test on history: SDID
readouts (placebo inference) at 6 weekly looks of 20 windows of a 100-geo x 730-day panel, on
2 workers. Goal: < 60 s.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._harness import best_time, row


def run(quick: bool = False) -> list[dict]:
    import causal_kit as ck
    from causal_kit.inference.sequential import confidence_sequence

    n = 1_000_000 if quick else 10_000_000
    rng = np.random.default_rng(0)
    t = rng.integers(0, 2, n)
    x = rng.normal(10, 3, n)
    y = 0.8 * x + 0.05 * t + rng.normal(0, 1, n)
    df = pd.DataFrame({"treat": t, "pre": x, "y": y})
    fixed = ck.ExperimentSpec(name="bench", design="ab", outcome="y", treatment="treat", pre_covariate="pre")
    cs = fixed.update(sequential={"planned_n": n})
    spending = fixed.update(sequential={"method": "alpha_spending", "looks": [n // 4, n // 2, n, 2 * n]})
    fixed_s, ref = best_time(lambda: ck.estimate(df, fixed), repeat=3)
    seq_s, res = best_time(lambda: ck.estimate(df, cs), repeat=3)
    spend_s, _ = best_time(lambda: ck.estimate(df, spending), repeat=3)
    low, high = confidence_sequence(ref.estimate, ref.se, ref.n_obs, planned_n=n)
    match = math.isclose(res.ci[0], low, rel_tol=1e-12) and math.isclose(res.ci[1], high, rel_tol=1e-12)
    rows = [
        row(f"sequential A/B (confidence sequence), {n:,} rows", seq_s, "fixed-horizon readout", fixed_s,
            "<= 1.2x", match),
        row(f"sequential A/B (alpha spending, look 3 of 4), {n:,} rows", spend_s, "fixed-horizon readout", fixed_s,
            "<= 1.2x", True),
    ]
    rows.append(_calibration(quick))
    return rows


def _calibration(quick: bool) -> dict:
    import time

    import causal_kit as ck
    from causal_kit.datasets import simulate_geo_panel
    from causal_kit.design.sequential import plan_looks

    n_geos, n_days, n_windows = (30, 300, 5) if quick else (100, 730, 20)
    history = simulate_geo_panel(n_geos=n_geos, n_days=n_days, seed=5)
    spec = ck.ExperimentSpec(name="g", design="sdid", outcome="kpi", unit="geo", time="date", treatment="treated")
    geos = sorted(history["geo"].unique())
    t0 = time.perf_counter()
    out = plan_looks(history, spec, treated=geos[::5], look_every=7, n_looks=6, pre_periods=56,
                     n_windows=n_windows, n_jobs=2, progress=False)
    took = time.perf_counter() - t0
    return row(f"SDID boundary calibration, {n_geos} geos x {n_days} days, 6 looks x {n_windows} windows, 2 jobs",
               took, goal="< 60 s", match=bool(out.details["n_windows"] == n_windows))
