"""Group-sequential geo designs: boundaries calibrated on history, family-wise error, power, stopping."""

from __future__ import annotations

import math

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_geo_panel
from causal_kit.design.sequential import (
    calibrate_boundary,
    compare_boundaries,
    plan_looks,
    simulate_looks,
)
from causal_kit.errors import DataError, SpecError
from causal_kit.inference.alpha_spending import spending_boundaries


def _iid_panel(n_geos=30, n_periods=700, seed=0):
    rng = np.random.default_rng(seed)
    return 100 + rng.normal(0, 1, (n_geos, n_periods))


def test_calibrated_boundary_holds_family_wise_error_did_iid():
    Y = _iid_panel()
    design = np.array([1] * 10 + [0] * 20)
    sim = simulate_looks(Y, design, looks=[7, 14, 21, 28], pre_periods=28, estimator="did", n_windows=600,
                         inference="approximate")
    cal = calibrate_boundary(sim, 0.05)
    n = sim.tau0.shape[0]
    mcse = math.sqrt(0.05 * 0.95 / n)
    assert n >= 500 and cal.fwer_in_sample <= 0.05
    assert abs(cal.fwer_cross_validated - 0.05) <= 2 * mcse + 1 / n
    # on iid data the DiD z is Brownian-like: the calibrated constant is near Pocock's 2.36 for 4 looks
    assert cal.c == pytest.approx(2.36, abs=0.25)


def test_compare_boundaries_power_and_stopping():
    Y = _iid_panel(seed=1)
    sim = simulate_looks(Y, np.array([1] * 10 + [0] * 20), looks=[7, 14, 21, 28], pre_periods=28,
                         estimator="did", n_windows=300, inference="approximate")
    out = compare_boundaries(sim, 0.05, effects=[0.0, 0.003, 0.01])
    op = out.operating.set_index(["method", "effect"])
    for method in ("obrien_fleming", "pocock", "calibrated", "fixed_horizon"):
        assert op.loc[(method, 0.0), "power"] <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 300)
        assert op.loc[(method, 0.01), "power"] > 0.95
    # sequential designs stop early under a large effect; the fixed horizon never does
    assert op.loc[("pocock", 0.01), "expected_stop"] < 14
    assert op.loc[("fixed_horizon", 0.01), "expected_stop"] == 28
    assert list(out.boundaries["boundary_obrien_fleming"]) == pytest.approx(
        spending_boundaries([0.25, 0.5, 0.75, 1.0], 0.05, "obrien_fleming"))
    assert out.details["n_windows"] == 300 and "Brownian" in out.details["note"]


def test_readout_mode_runs_the_estimator_at_every_look():
    history = simulate_geo_panel(n_geos=12, n_days=150, seed=2)
    spec = ck.ExperimentSpec(name="g", design="did", outcome="kpi", unit="geo", time="date", treatment="treated")
    geos = sorted(history["geo"].unique())
    out = plan_looks(history, spec, treated=geos[:4], looks=[7, 14], pre_periods=28, n_windows=3)
    assert out.details["inference"].startswith("the readout estimator 'did'")
    assert out.boundaries["periods"].tolist() == [7, 14]
    from causal_kit.design.simulation import readout_window_fit

    wide = history.pivot(index="geo", columns="date", values="kpi").sort_index().sort_index(axis=1)
    design = np.where(np.isin(wide.index, geos[:4]), 1, 0)
    sim = simulate_looks(wide.to_numpy(), design, looks=[7, 14], pre_periods=28, estimator="did", n_windows=3,
                         spec=spec, units=wide.index.to_numpy(), times=wide.columns.to_numpy())
    direct = readout_window_fit(wide.to_numpy(), design, units=wide.index.to_numpy(), times=wide.columns.to_numpy(),
                                spec=spec, estimator="did", start=int(sim.starts[0]), duration=7, pre_periods=28)
    assert sim.tau0[0, 0] == pytest.approx(direct.estimate) and sim.se[0, 0] == pytest.approx(direct.se)


@pytest.mark.slow
def test_sdid_six_weekly_looks_on_geo_history():
    """SDID, 6 weekly looks, >= 500 historical windows: calibrated family-wise error within alpha +/- 2 MCSE."""
    history = simulate_geo_panel(n_geos=30, n_days=700, seed=5)
    spec = ck.ExperimentSpec(name="g", design="sdid", outcome="kpi", unit="geo", time="date", treatment="treated")
    geos = sorted(history["geo"].unique())
    out = plan_looks(history, spec, treated=geos[:6], look_every=7, n_looks=6, pre_periods=56, n_windows=560,
                     inference="approximate")
    n = out.details["n_windows"]
    mcse = math.sqrt(0.05 * 0.95 / n)
    assert n >= 500
    assert abs(out.details["calibrated_fwer_cross_validated"] - 0.05) <= 2 * mcse + 1 / n
    aa = out.operating[out.operating["effect"] == 0.0].set_index("method")["power"]
    assert aa["calibrated"] <= 0.05
    assert {"obrien_fleming", "pocock", "fixed_horizon"} <= set(aa.index)  # reported, whatever they are


def test_named_errors():
    Y = _iid_panel(n_periods=120)
    with pytest.raises(SpecError, match="strictly increasing"):
        simulate_looks(Y, np.array([1] * 10 + [0] * 20), looks=[14, 7], pre_periods=28, inference="approximate")
    with pytest.raises(SpecError, match="needs spec, units and times"):
        simulate_looks(Y, np.array([1] * 10 + [0] * 20), looks=[7], pre_periods=28, estimator="did")
    history = simulate_geo_panel(n_geos=8, n_days=100, seed=1)
    spec = ck.ExperimentSpec(name="g", design="did", outcome="kpi", unit="geo", time="date", treatment="treated")
    with pytest.raises(DataError, match=r"treated geo\(s\) \['nowhere'\] are not in the history"):
        plan_looks(history, spec, treated=["nowhere"], looks=[7], inference="approximate")
    with pytest.raises(SpecError, match="needs 'looks', or 'look_every' with 'n_looks'"):
        plan_looks(history, spec, treated=[], inference="approximate")
    ab = ck.ExperimentSpec(name="a", design="ab", outcome="kpi", treatment="treated")
    with pytest.raises(SpecError, match="plans did, synthetic_control or sdid readouts"):
        plan_looks(history, ab, treated=[], looks=[7])


def test_plan_with_look_every_adds_sequential_tables_and_round_trips():
    history = simulate_geo_panel(n_geos=20, n_days=240, seed=3)
    spec = ck.ExperimentSpec(name="geo", design="did", outcome="kpi", unit="geo", time="date", treatment="treated",
                             plan={"n_treated": 6, "duration": 28, "n_candidates": 1, "n_windows": 8,
                                   "candidate_estimators": ["did"], "look_every": 10})
    design = ck.design.plan(history, spec, progress=False)
    bounds = design.tables["sequential_boundaries"]
    assert bounds["periods"].tolist() == [10, 20, 28]  # the planned duration is always the last look
    assert design.details["sequential"]["inference"].startswith("the readout estimator 'did'")
    op = design.tables["sequential_operating"]
    assert set(op["method"]) == {"obrien_fleming", "pocock", "calibrated", "fixed_horizon"}
    diag = next(d for d in design.diagnostics if d.name == "sequential_calibration")
    assert diag.status == "warn" and "Only 8 historical windows" in diag.message
    back = type(design).from_json(design.to_json())
    assert back.tables["sequential_operating"].shape == op.shape


def test_calibration_on_one_window_is_a_named_error():
    sim = simulate_looks(_iid_panel(n_periods=100), np.array([1] * 10 + [0] * 20), looks=[7, 14], pre_periods=28,
                         estimator="did", n_windows=1, inference="approximate")
    assert sim.tau0.shape == (1, 2)
    with pytest.raises(DataError, match="at least 2 historical windows.*got 1"):
        calibrate_boundary(sim, 0.05)
