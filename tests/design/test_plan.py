"""End-to-end planning: DesignResult fields, round trip, plots, cells, cost and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_geo_panel
from causal_kit.design import DesignResult, plan
from causal_kit.errors import DataError, SpecError

FAST = dict(n_windows=8, n_candidates=3, candidate_estimators=("did", "time_regression"))


@pytest.fixture(scope="module")
def history():
    return simulate_geo_panel(n_geos=30, n_days=240, seed=5)


@pytest.fixture(scope="module")
def spec():
    return ck.ExperimentSpec(
        name="geo_test", design="did", outcome="kpi", unit="geo", time="date", treatment="treated",
        report={"currency": "USD"},
        plan={"n_treated": 8, "duration": [21, 14, 28], "cost_column": "cost", "kpi_value": 2.0,
              "must_treat": ["geo_004"], "exclude": ["geo_030"]},
    )


@pytest.fixture(scope="module")
def design(history, spec):
    return plan(history, spec, **FAST)


def test_fields_the_report_relies_on(design, spec):
    assert isinstance(design, DesignResult)
    assert design.spec_hash == spec.spec_hash and design.spec == spec
    assert set(design.assignment.columns) >= {"unit", "cell", "kpi", "kpi_share", "cost"}
    assert set(design.power_curve.columns) >= {"estimator", "duration", "effect", "power", "power_se", "bias", "coverage"}
    assert set(design.duration_table.columns) >= {"duration", "mde", "mde_absolute"}
    assert set(design.estimator_ranking.columns) >= {"estimator", "bias", "rmse", "coverage", "type1_error", "mde", "recommended"}
    assert design.estimator_ranking["recommended"].sum() == 1
    assert design.method in {"did", "time_regression"}
    assert design.recommended_duration == 21 and design.currency == "USD"
    assert 0 < design.mde < 1 and design.mde_absolute > 0
    assert design.cost > 0 and design.iroas_mde > 0
    assert "pre_period_fit" in design.tables and "candidates" in design.tables
    assert design.lineage.spec_hash == spec.spec_hash


def test_constraints_are_honoured(design):
    a = design.assignment
    assert "geo_004" in design.treated_units
    assert "geo_030" not in set(a["unit"])
    assert (a["cell"] == "treatment").sum() == 8


def test_iroas_mde_definition(design):
    row = design.duration_table.set_index("duration").loc[21]
    assert design.iroas_mde == pytest.approx(row["mde_absolute"] * 21 * 2.0 / row["cost"])


def test_json_round_trip_and_plots(design):
    back = DesignResult.from_json(design.to_json())
    assert back.summary() == design.summary()
    assert back.spec_hash == design.spec_hash
    for kind in back.plot_kinds():
        fig = back.plot(kind)
        assert fig.data, kind
    with pytest.raises(SpecError, match="'kind' parameter of DesignResult.plot"):
        back.plot("pie")
    assert "<" in design._repr_html_()


def test_seeded_and_overrides(history, spec):
    a = plan(history, spec, **FAST)
    b = plan(history, spec, **FAST)
    assert a.assignment.equals(b.assignment) and a.mde == b.mde
    c = plan(history, spec, assignment="matched_pairs", **FAST)
    assert "pair" in c.assignment.columns


def test_two_cells_and_expected_lift(history, spec):
    d = plan(history, spec, cells=2, n_treated=6, must_treat=(), expected_lift=0.5, **FAST)
    assert set(d.assignment["cell"]) == {"treatment", "treatment_2", "control"}
    assert set(d.power_curve["cell"]) == {"treatment", "treatment_2"}
    assert d.recommended_duration == 14  # the shortest duration whose MDE is below 50%
    assert {x.name: x.status for x in d.diagnostics}["expected_lift"] == "pass"


def test_aa_type1_of_recommended_estimator(history, spec):
    d = plan(history, spec, n_windows=20, n_candidates=1, duration=14,
             candidate_estimators=("did", "time_regression", "synthetic_control", "sdid"))
    rec = d.estimator_ranking[d.estimator_ranking["recommended"]].iloc[0]
    n = int(rec["n_simulations"])
    assert rec["type1_error"] <= d.alpha + 2 * math.sqrt(d.alpha * (1 - d.alpha) / n)
    assert d.method == rec["estimator"]
    assert {x.name: x.status for x in d.diagnostics}["aa_type1_error"] == "pass"


@pytest.mark.parametrize(
    "override, error, match",
    [
        (dict(duration=400), DataError, "the history has 240 periods, too few"),
        (dict(duration=21, pre_periods=230), DataError, "fewer than pre_periods \\+ duration = 230 \\+ 21"),
        (dict(must_treat=("geo_001",), exclude=("geo_001",)), SpecError, "both in plan.must_treat and plan.exclude"),
        (dict(n_treated=30), SpecError, "leave no control geo"),
        (dict(budget=1.0), SpecError, "no design meets plan.budget"),
        (dict(candidate_estimators=("ols",)), SpecError, "cannot be simulated"),
        (dict(n_treated=0), SpecError, "plan.n_treated"),
    ],
)
def test_named_errors(history, spec, override, error, match):
    with pytest.raises(error, match=match):
        plan(history, spec, **{**FAST, **override})


def test_non_positive_kpi(history, spec):
    bad = history.copy()
    bad.loc[3, "kpi"] = 0.0
    with pytest.raises(DataError, match="non-positive values"):
        plan(bad, spec, **FAST)
    assert (history["kpi"] > 0).all()  # the caller's frame is untouched


def test_missing_roles_and_unbalanced(history):
    spec = ck.ExperimentSpec(name="x", design="ab", outcome="kpi", treatment="treated")
    with pytest.raises(SpecError, match="planning needs spec.unit"):
        plan(history, spec)
    spec = ck.ExperimentSpec(name="x", design="did", outcome="kpi", unit="geo", time="date", treatment="treated")
    with pytest.raises(DataError, match="unbalanced"):
        plan(history.iloc[1:], spec, **FAST)


def test_plan_block_in_yaml_round_trips(spec):
    again = ck.ExperimentSpec.from_yaml(spec.to_yaml())
    assert again == spec and again.plan.duration == (21, 14, 28)
    with pytest.raises(SpecError, match="plan.bogus"):
        ck.ExperimentSpec(name="x", design="did", outcome="kpi", unit="geo", time="date", treatment="t",
                          plan={"bogus": 1})


def test_no_nan_in_headline(design):
    assert np.isfinite([design.mde, design.mde_absolute, design.type1_error]).all()


def test_final_design_uses_readout_inference(design):
    # did has a readout estimator (simulated with causal_kit.estimate's DiD and its wild cluster
    # bootstrap); time_regression has none and keeps the approximate t-test, flagged as such
    rank = design.estimator_ranking.set_index("estimator")
    assert rank.loc["did", "inference"] == "readout"
    assert rank.loc["time_regression", "inference"] == "approximate"
    assert design.method == "did"
    assert design.details["inference_by_estimator"] == {"did": "readout", "time_regression": "approximate"}
    assert "candidate search ranks assignments with the approximate t-tests" in design.details["inference"]


def test_approximate_mode_is_still_available(history, spec):
    d = plan(history, spec, inference="approximate", **FAST)
    assert set(d.estimator_ranking["inference"]) == {"approximate"}
    assert "readout inference" not in d.details["inference"]
    with pytest.raises(SpecError, match="plan.inference"):
        plan(history, spec, inference="exact", **FAST)
