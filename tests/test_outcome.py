"""causal_kit.outcome: the outcome model and the one business translation of an effect."""

from __future__ import annotations

import math

import pytest

from causal_kit import EffectEstimate, ExperimentSpec
from causal_kit.outcome import business_impact, outcome_model
from causal_kit.result import make_lineage


def _result(design="sdid", report=None, outcome="kpi", method=None, **kw):
    spec = ExperimentSpec(name="s", design=design, outcome=outcome, unit="geo", time="t", treatment="d",
                          **({"running": "x", "cutoff": 0.0} if design == "rdd" else {}),
                          report=report) if design != "ab" else ExperimentSpec(
        name="s", design="ab", outcome=outcome, treatment="d", report=report)
    base = dict(method=method or design, estimand="ATT", estimate=2.0, se=0.5, ci=(1.0, 3.0), p_value=0.001,
                alpha=0.05, n_obs=100, outcome=outcome, baseline=40.0, exposure=300.0, lineage=make_lineage(spec, "x"))
    base.update(kw)
    return EffectEstimate(**base)


@pytest.mark.parametrize("design, report, kind, summable", [
    ("sdid", {"outcome_label": "orders"}, "count", True),
    ("sdid", {"outcome_label": "packs per capita"}, "mean", False),
    ("sdid", {"outcome_label": "conversion rate"}, "rate", False),
    ("ab", None, "mean", False),
    ("ab", {"outcome_kind": "amount", "currency": "USD"}, "amount", True),
    ("sdid", {"outcome_scale": "log"}, "index", False),
])
def test_kind_inference(design, report, kind, summable):
    m = outcome_model(result=_result(design, report))
    assert (m.kind, m.summable) == (kind, summable)


def test_log_effect_converted_once():
    imp = business_impact(_result(report={"outcome_scale": "log"}, estimate=-0.0714, ci=(-0.107, -0.0358)))
    assert imp.effect == pytest.approx(math.expm1(-0.0714)) and imp.lift == imp.effect
    assert imp.effect_ci == pytest.approx((math.expm1(-0.107), math.expm1(-0.0358)))
    assert imp.effect_is_relative and imp.incremental is None


def test_local_effects_and_totals():
    rd = outcome_model(result=_result("rdd", {"outcome_kind": "rate", "unit_label": "points"}))
    assert rd.local == "at the cutoff" and not rd.summable
    imp = business_impact(_result(report={"outcome_label": "orders", "cost": 600.0}))
    assert imp.incremental == 600.0 and imp.incremental_ci == (300.0, 900.0)
    assert imp.cost_per_unit == 1.0 and imp.cost_per_unit_ci == pytest.approx((600 / 900, 2.0))


def test_money_is_greyed_when_the_total_includes_zero():
    imp = business_impact(_result(report={"outcome_kind": "amount", "currency": "USD", "outcome_is_currency": True,
                                          "cost": 300.0}, ci=(-1.0, 5.0), p_value=0.2))
    assert imp.iroas == pytest.approx(2.0) and imp.iroas_ci == pytest.approx((-1.0, 5.0))
    assert not imp.money_established and imp.cost_per_unit is None
