"""Structural time-series (bsts) benchmark: 3 years of daily data, 1 treated series, 20 controls.

Goal (issue "geo measurement"): the full readout (ridge combination, MLE fit with a weekly
seasonal, 1,000 simulated counterfactual paths, bands) under 5 s.
"""

from __future__ import annotations

from ._harness import best_time, row


def run(quick: bool = False) -> list[dict]:
    """Time the readout on 3 years x 21 daily series (1 year with ``quick``)."""
    import numpy as np

    from causal_kit import ExperimentSpec
    from causal_kit.datasets import simulate_geo_panel
    from causal_kit.estimators.its import StructuralTimeSeries

    days = 365 if quick else 3 * 365
    panel = simulate_geo_panel(n_geos=21, n_days=days, treated=1, effect=0.05, seed=0)
    spec = ExperimentSpec(name="bench", design="its", outcome="kpi", unit="geo", time="date", treatment="treated")
    est = StructuralTimeSeries(seasonal=7, scale="log")
    seconds, res = best_time(lambda: est.fit(panel, spec), repeat=1 if quick else 3)
    covered = bool(res.ci[0] <= np.log(1.05) <= res.ci[1])
    return [row(f"bsts, {days} days x 20 controls, weekly seasonal, log scale", seconds, goal="< 5 s",
                match=seconds < 5.0, note=f"effect {res.estimate:.4f} (truth {np.log(1.05):.4f}), CI covers: {covered}")]
