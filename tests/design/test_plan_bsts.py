"""The planner ranks the structural time series (bsts) by its own readout on history."""

from __future__ import annotations

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_geo_panel
from causal_kit.design.simulation import readout_window_fit, simulate_readout
from causal_kit.errors import SpecError

ROLES = dict(outcome="kpi", unit="geo", time="date", treatment="treated")


def test_bsts_window_baseline_is_the_summed_series():
    # bsts reads the treated units' summed series, so a lift e moves its estimate by e times the
    # summed post-period mean: the simulation's baseline must be that sum, not the per-geo mean
    h = simulate_geo_panel(n_geos=10, n_days=90, seed=2)
    Y = h.pivot(index="geo", columns="date", values="kpi").to_numpy()
    design = np.array([1, 1, 1] + [0] * 7)
    spec = ck.ExperimentSpec(name="p", design="its", seed=3, **ROLES)
    kw = dict(units=[f"g{i}" for i in range(10)], times=list(range(90)), spec=spec, estimator="bsts",
              start=70, duration=14, pre_periods=56, options={"n_paths": 200})
    a = readout_window_fit(Y, design, **kw)
    b = readout_window_fit(Y, design, effect=0.05, **kw)
    m = Y[:3, 70:84].sum(axis=0).mean()
    assert b.estimate - a.estimate == pytest.approx(0.05 * m, rel=1e-6)
    sims = simulate_readout(Y, design[None, :], units=kw["units"], times=kw["times"], spec=spec,
                            estimators=["bsts"], durations=[14], pre_periods=56, n_windows=2)
    out = sims["bsts", 14]
    s = int(out.starts[-1])
    assert out.baseline[0, -1] == pytest.approx(Y[:3, s:s + 14].sum(axis=0).mean(), rel=1e-9)


@pytest.mark.slow
def test_plan_ranks_bsts_with_its_aa_rate():
    h = simulate_geo_panel(n_geos=20, n_days=150, seed=1)
    spec = ck.ExperimentSpec(name="p", design="its", **ROLES, plan={
        "n_windows": 4, "duration": 14, "n_candidates": 2, "candidate_estimators": ["did", "bsts"]})
    plan = ck.design.plan(h, spec, progress=False, aa_max_assignments=1)
    rank = plan.estimator_ranking.set_index("estimator")
    assert set(rank.index) == {"bsts", "did"} and plan.method in rank.index
    assert rank.loc["bsts", "inference"] == "readout" and rank.loc["bsts", "n_aa"] == 8
    assert np.isfinite(rank.loc["bsts", "aa_rate"])


def test_bsts_needs_readout_inference():
    h = simulate_geo_panel(n_geos=12, n_days=120, seed=1)
    spec = ck.ExperimentSpec(name="p", design="its", **ROLES, plan={"n_windows": 2, "duration": 14,
                                                                     "inference": "approximate"})
    with pytest.raises(SpecError, match="bsts needs plan.inference: readout"):
        ck.design.plan(h, spec, progress=False)
