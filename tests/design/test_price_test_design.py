"""Price-test design: stratified assignment, switching schedule and power by simulation on history."""

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_price_test
from causal_kit.design.price_test import assign_price_test, plan_price_test, switch_schedule
from causal_kit.errors import DataError, SpecError

SPEC = ck.ExperimentSpec(name="p", design="price_test", outcome="units", treatment="price", unit="product",
                         time="week")


@pytest.fixture(scope="module")
def history():
    # 20 weeks of sales at the base price (every arm 1.0: no test yet)
    return simulate_price_test(n_products=45, n_periods=20, arms=(1.0, 1.0001), design="switch", sigma=0.2,
                               seed=2)


def test_assignment_is_stratified_by_category_and_demand():
    rng = np.random.default_rng(0)
    products = pd.DataFrame({"sku": [f"s{i}" for i in range(30)], "cat": np.repeat(["a", "b"], 15),
                             "demand": rng.lognormal(3, 1, 30)})
    plan = assign_price_test(products, product="sku", category="cat", baseline="demand", seed=4)
    assert len(plan) == 30 and set(plan["relative_price"]) == {0.9, 1.0, 1.1}
    # each full block of three products of similar demand in one category gets all three arms
    for _, block in plan.groupby("stratum"):
        assert block["cat"].nunique() == 1
        assert block["arm"].nunique() == len(block)
    again = assign_price_test(products, product="sku", category="cat", baseline="demand", seed=4)
    pd.testing.assert_frame_equal(plan, again)
    assert not plan["arm"].equals(assign_price_test(products, product="sku", category="cat", baseline="demand",
                                                    seed=5)["arm"])


def test_switch_schedule_balances_arms_and_flags_burn_in():
    s = switch_schedule([f"p{i}" for i in range(9)], n_periods=8, block=2, burn_in=1, seed=1)
    counts = s.groupby(["period", "relative_price"]).size().unstack()
    assert (counts == 3).all().all()  # every period: 3 products on each arm
    assert s.loc[s.period.isin([0, 2, 4, 6]), "burn_in"].all() and not s.loc[s.period == 1, "burn_in"].any()
    first = s[s["product"] == "p0"].sort_values("period")["relative_price"].to_numpy()
    assert first[0] == first[1] and first[1] != first[2]


def test_power_grows_with_elasticity_and_duration_and_size_holds(history):
    plan = plan_price_test(history, SPEC, design="switch", durations=(4, 12), n_sims=300, seed=1,
                           elasticities=(0.0, -0.1, -0.3, -0.6))
    c = plan.power_curve.set_index(["duration", "effect"])["power"]
    assert c[(12, -0.6)] >= c[(12, -0.3)] >= c[(12, -0.1)]
    assert c[(12, -0.3)] > c[(4, -0.3)]
    # size: rejection rate under no effect within 3 Monte Carlo SEs of alpha
    for d in (4, 12):
        assert abs(c[(d, 0.0)] - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 300)
    cov = plan.power_curve["coverage"]
    assert cov.between(0.91, 0.99).all()
    assert plan.details["effect_kind"] == "elasticity"
    assert plan.duration_table.set_index("duration")["mde"].is_monotonic_decreasing


def test_product_design_with_burn_in_free_pre_period(history):
    plan = plan_price_test(history, SPEC, design="product", durations=(6,), pre_periods=6, n_sims=120, seed=3,
                           category="category", elasticities=(0.0, -0.5, -1.5), expected_elasticity=-1.5)
    assert plan.recommended_duration == 6
    assert set(plan.assignment["relative_price"]) == {0.9, 1.0, 1.1}
    assert plan.power_curve.set_index("effect").loc[-1.5, "power"] > 0.8


def test_named_errors(history):
    with pytest.raises(SpecError, match="at least 2 relative prices"):
        plan_price_test(history, SPEC, arms=(1.0,))
    with pytest.raises(DataError, match="must fit inside it"):
        plan_price_test(history, SPEC, durations=(30,))
    with pytest.raises(DataError, match="missing product-periods"):
        plan_price_test(history.iloc[1:], SPEC)
    with pytest.raises(DataError, match="no sales"):
        plan_price_test(history.assign(units=history.units.where(history.index != 0, 0)), SPEC)
    with pytest.raises(SpecError, match="burn_in < block"):
        switch_schedule(["a", "b"], n_periods=6, block=2, burn_in=2)
    with pytest.raises(DataError, match="column 'sku' \\(product\\)"):
        assign_price_test(pd.DataFrame({"x": [1]}), product="sku")


def test_design_result_speaks_of_elasticity_and_round_trips(history):
    from causal_kit.design import DesignResult

    plan = plan_price_test(history, SPEC, design="switch", durations=(6,), n_sims=60, seed=2, block=2, burn_in=1)
    text = plan.summary()
    assert "smallest detectable elasticity" in text and "lift" not in text
    back = DesignResult.from_json(plan.to_json())
    assert back.mde == plan.mde and back.details["effect_kind"] == "elasticity"
    sched = plan.tables["schedule"]
    assert sched["burn_in"].sum() == len(sched) // 2


def test_design_plan_dispatches_price_tests(history):
    spec = SPEC.update(plan={"duration": [4, 8]})
    plan = ck.design.plan(history, spec, design="switch", n_sims=60, elasticities=(0.0, -1.0))
    assert plan.details["effect_kind"] == "elasticity"
    assert sorted(plan.duration_table["duration"]) == [4, 8]
    with pytest.raises(SpecError, match="do not apply to a price test"):
        ck.design.plan(history, SPEC, n_treated=4)
