"""Price-test and bandit-simulation reports: the decision line, the price section, the bandit page."""

import re

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.bandits.demand import DemandModel
from causal_kit.bandits.simulate import simulate_bandit
from causal_kit.estimators.price_test import PriceTest
from causal_kit.report.pricing import price_decision, render_bandit

SPEC = ck.ExperimentSpec(name="price", design="price_test", outcome="units", treatment="price", unit="product",
                         time="week", question="Which price maximises margin?")


def marked(html, key):
    return [re.sub(r"<[^>]+>", "", m).strip() for m in re.findall(rf'data-ck="{key}"[^>]*>(.*?)</', html, re.S)]


@pytest.fixture(scope="module")
def price_result():
    return PriceTest(cost_share=0.6).fit(ck.datasets.load("price_test_sim"), SPEC)


def test_price_report_has_the_decision_the_price_section_and_elasticity_tiles(price_result):
    html = ck.report.render(price_result)
    decision = marked(html, "decision")
    assert decision and decision[0].startswith(("Ship", "Stop", "Extend"))
    assert "Price decision" in html and 'data-ck="price-arms"' in html
    assert marked(html, "tile-effect")[0] == marked(html, "table-effect")[0] == ck.report.fmt.num(price_result.estimate, 2)
    assert "The treatment" not in html  # an elasticity is not read as an effect in units


def test_price_decision_follows_the_verdict_rule(price_result):
    d = price_result.details
    lo, hi = d["profit_gain_at_recommended_ci"]
    dec, text = price_decision(price_result, {"report": {}})
    assert dec.action == ("ship" if lo > 0 else "stop" if hi < 0 else "extend")
    # a break-even above the whole interval means stop
    dec, text = price_decision(price_result, {"report": {"break_even": hi + 0.05}})
    assert dec.action == "stop" and text.startswith("Stop: keep the current price")


def test_bandit_report_renders_offline_with_consistent_numbers():
    d = DemandModel(scale=0.05, elasticity=-2.5, ref_price=10.0)
    sim = simulate_bandit(d, [7, 8, 9, 10, 11], unit_cost=5.0, horizon=40, n_reps=30,
                          policies=["thompson_gaussian", "fixed_ab"], seed=1)
    html = render_bandit(sim)
    assert ck.report.render(sim) == html  # the one entry point renders simulations too
    assert "<script src=" not in html and "http://" not in html.split("<script")[0]
    assert marked(html, "tile-oracle")[0] == ck.report.fmt.num(8.0)
    best = sim.summary.set_index("policy").loc["thompson_gaussian"]
    assert marked(html, "tile-regret")[0] == ck.report.fmt.pct(best["regret_share"], 1)
    assert html.count('class="ck-plot"') == 4  # regret, profit and one allocation chart per policy
    assert np.isfinite(sim.summary["total_regret"]).all()


def test_price_design_report_reads_elasticities():
    from causal_kit.design import plan_price_test

    hist = ck.datasets.load("price_test_sim").query("week <= 4")
    plan = plan_price_test(hist, SPEC, design="switch", durations=(2, 4), n_sims=60, seed=1)
    html = ck.report.render(plan)
    assert "detects an own-price elasticity of" in html and "Minimum detectable lift" not in html
    assert plan.plot_kinds() == ("power_curve", "mde_by_duration")
    assert ck.report.fmt.num(plan.mde) in html
