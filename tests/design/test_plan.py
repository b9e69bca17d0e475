"""End-to-end planning: DesignResult fields, round trip, plots, cells, cost and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_geo_panel
from causal_kit.design import DesignResult, plan
from causal_kit.errors import DataError, SpecError

FAST = dict(n_windows=8, n_candidates=3, candidate_estimators=("did", "time_regression"), aa_target_mcse=None)


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


def test_aa_rate_comes_with_its_mcse_from_placebo_assignments(history, spec):
    # 8 windows of the chosen design alone give an A/A MCSE of about 7.7 points at 5%; the
    # planner adds placebo assignments (random treated sets of the same size) on every window
    # until the MCSE at alpha is at most 1.5 points: 0.05 * 0.95 / 0.015**2 -> 212 tests.
    d = plan(history, spec, n_windows=8, n_candidates=1, duration=21, candidate_estimators=("did",),
             aa_target_mcse=0.015, aa_max_assignments=30)
    row = d.estimator_ranking.set_index("estimator").loc["did"]
    assert row["n_aa"] >= 212 and row["n_windows"] == 8 and row["n_assignments"] == 1 + d.details["aa_assignments"]
    assert math.sqrt(0.05 * 0.95 / row["n_aa"]) <= 0.015
    assert row["aa_ci_low"] <= row["aa_rate"] <= row["aa_ci_high"]
    assert row["aa_precise"] and row["aa_rate"] == d.type1_error
    # DiD reads out with randomisation inference here, which holds its size
    assert row["aa_rate"] <= row["aa_limit"] and row["calibrated"]
    assert d.details["aa_by_estimator"]["did"]["n_aa"] == row["n_aa"]
    assert "random placebo assignments" in d.details["aa_note"]
    assert "MCSE" in next(x for x in d.diagnostics if x.name == "aa_type1_error").message


def test_never_recommends_a_method_above_alpha_plus_two_mcse():
    from causal_kit.design.planner import _rank
    from causal_kit.design.simulation import ReadoutSimOutput

    def sim(reject_share, W=400, seed=0):
        rng = np.random.default_rng(seed)
        tau0 = rng.normal(0, 1, (1, W))
        half = np.full((1, W), 1.96)
        n_bad = int(reject_share * W)
        half[0, :n_bad] = np.abs(tau0[0, :n_bad]) * 0.5  # these intervals exclude 0
        half[0, n_bad:] = np.maximum(half[0, n_bad:], np.abs(tau0[0, n_bad:]) * 1.01)
        return ReadoutSimOutput(estimator="x", tau0=tau0, baseline=np.full((1, W), 100.0), ci_low=tau0 - half,
                                ci_high=tau0 + half, se0=half / 1.96, starts=np.arange(W), duration=7,
                                pre_periods=28, alpha=0.05)

    # "narrow" has the smaller MDE but a 12% A/A rate; "honest" holds 4%
    sims = {("narrow", 7): sim(0.12), ("honest", 7): sim(0.04, seed=1)}
    sims["honest", 7] = ReadoutSimOutput(**{**sims["honest", 7].__dict__, "ci_low": sims["honest", 7].ci_low * 1.5,
                                            "ci_high": sims["honest", 7].ci_high * 1.5})
    rank = _rank(sims, ["narrow", "honest"], [7], 7, np.array([0.0, 0.05]), 0.8, 0.05,
                 {"narrow": "readout", "honest": "readout"}).set_index("estimator")
    assert rank.loc["narrow", "aa_rate"] > rank.loc["narrow", "aa_limit"]
    assert not rank.loc["narrow", "recommended"] and not rank.loc["narrow", "calibrated"]
    assert rank.loc["honest", "aa_mcse"] == pytest.approx(math.sqrt(0.04 * 0.96 / 400), rel=0.05)
