"""Switchback design: schedule, power by simulation on history, and its checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.design import plan_switchback, switchback_schedule
from causal_kit.errors import DataError, SpecError


def _spec(**sb):
    return ck.ExperimentSpec(name="sb", design="switchback", outcome="orders", unit="city", time="hour",
                             treatment="policy", switchback={"period_length": 6, "carryover": 1, **sb})


def _history():
    return ck.datasets.load("switchback_sim").drop(columns=["policy", "in_force"])


def test_schedule_shape_and_balance():
    s = switchback_schedule([f"b{i}" for i in range(50)], 40, 6, p=0.5, seed=2)
    assert len(s) == 2000 and set(s["first_step"].unique()) == set(range(0, 240, 6))
    assert abs(s["treated"].mean() - 0.5) < 0.05


def test_power_matches_a_direct_replay_of_the_readout():
    """The shortcut (shift the null estimates by the lift) equals injecting the lift and re-estimating."""
    from scipy import stats

    from causal_kit.inference.switchback import burn_in_mask, dim_draws, draw_schedules, period_sums

    hist = _history()
    design = plan_switchback(hist, _spec(), n_draws=300, lifts=(0.03,), seed=5)
    Y = hist.pivot(index="city", columns="hour", values="orders").to_numpy()
    W = draw_schedules(300, np.arange(10), 40, 0.5, 5 + 40)
    lift = 0.03 * Y.mean()
    keep = burn_in_mask(240, 6, 1)
    crit = stats.t.ppf(0.975, 39)
    hits = 0
    for w in W:
        y = Y + lift * np.repeat(w, 6, axis=1) * keep[None, :]
        S, C = period_sums(y, keep, 6)
        est, se = dim_draws(S, C, w[None])
        hits += abs(est[0]) > crit * se[0]
    curve = design.power_curve.query("duration == 40 and effect == 0.03")
    assert curve["power"].item() == pytest.approx(hits / 300, abs=1e-12)


def test_design_result_round_trips_and_reports_the_schedule():
    d = plan_switchback(_history(), _spec(), n_draws=200)
    assert d.recommended_duration == 40 and 0 < d.mde < 0.2
    assert set(d.duration_table["duration"]) == {10, 20, 40}
    assert d.duration_table.sort_values("duration")["mde"].is_monotonic_decreasing
    back = ck.design.DesignResult.from_json(d.to_json())
    pd.testing.assert_frame_equal(back.tables["schedule"], d.tables["schedule"], check_dtype=False)
    assert back.plot_kinds()[0] == "schedule"
    assert len(d.plot("schedule").data) == 1


def test_aa_rate_is_near_alpha():
    d = plan_switchback(_history(), _spec(), n_draws=2000)
    assert abs(d.type1_error - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 2000) + 0.01


def test_named_errors():
    with pytest.raises(DataError, match="needs 80 \\(spec.switchback.n_periods\\)"):
        plan_switchback(_history(), _spec(n_periods=80), n_draws=200)
    with pytest.raises(DataError, match="'orders' \\(spec.outcome\\) is not in the history"):
        plan_switchback(_history().rename(columns={"orders": "o"}), _spec(), n_draws=200)
    with pytest.raises(DataError, match="unbalanced"):
        plan_switchback(_history().iloc[1:], _spec(), n_draws=200)
    with pytest.raises(SpecError, match="'n_draws' parameter of plan_switchback"):
        plan_switchback(_history(), _spec(), n_draws=10)


def test_design_plan_dispatches_switchback_specs():
    d = ck.design.plan(_history(), _spec())
    assert d.method == "switchback" and "schedule" in d.tables and d.details["n_draws"] == 1000


def test_summary_speaks_of_the_schedule():
    text = plan_switchback(_history(), _spec(), n_draws=200).summary()
    assert text.startswith("Switchback design: sb") and "periods of 6 steps, first 1 dropped as burn-in" in text
    assert "per unit and time step" in text and "treated KPI share" not in text
