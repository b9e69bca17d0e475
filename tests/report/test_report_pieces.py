"""Formatting, business translation, confidence verdicts and Jupyter cards."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from causal_kit import Diagnostic, EffectEstimate, ExperimentSpec
from causal_kit.report import fmt
from causal_kit.report.business import business_impact
from causal_kit.report.html import _placeholder_text
from causal_kit.report.notebook import result_card, results_card
from causal_kit.report.summary import confidence, executive_summary
from causal_kit.result import make_lineage

try:
    from ._stand_ins import stand_in_design
except ImportError:  # tests/report is not a package
    from _stand_ins import stand_in_design


def _result(estimate=2.0, ci=(1.0, 3.0), p=0.001, report=None, diagnostics=(), **kw):
    spec = ExperimentSpec(name="s", design="ab", outcome="orders", treatment="arm", report=report)
    base = dict(method="ab", estimand="ATE", estimate=estimate, se=0.5, ci=ci, p_value=p, alpha=0.05, n_obs=10,
                outcome="orders", baseline=40.0, exposure=500.0, diagnostics=diagnostics,
                lineage=make_lineage(spec, "x"))
    base.update(kw)
    return EffectEstimate(**base)


@pytest.mark.parametrize("fn, value, expected", [
    (fmt.num, 0.0412345, "0.0412"), (fmt.num, 1234567.8, "1,234,568"), (fmt.num, float("nan"), "n/a"),
    (fmt.pct, 0.041, "4.1%"), (fmt.pvalue, 0.0004, "< 0.001"), (fmt.pvalue, 0.0431, "0.043"),
    (fmt.pvalue, 0.000000, "< 0.001"), (fmt.pvalue, 0.644, "0.64"), (fmt.compact, 28243551, "28.2M"),
    (fmt.compact, 999_999, "1.00M"), (fmt.compact, 7209, "7,209"), (fmt.period, 2003.0, "2003"),
    (fmt.period, 2003, "2003"), (fmt.date, "2024-03-13T00:00:00.000000", "2024-03-13"),
    (fmt.date, "2024-03-13T09:30:00", "2024-03-13 09:30"), (fmt.period, "2024-04-30T00:00:00.000000", "2024-04-30"),
    (fmt.level, 0.05, "95%"), (fmt.level, 0.1, "90%"), (fmt.count, 12345, "12,345"), (fmt.ratio, 2.345, "2.35"),
    (fmt.plain, 12.0, "12"), (fmt.plain, 0.123456, "0.1235"), (fmt.plain, None, "n/a"), (fmt.plain, True, "True"),
])
def test_fmt(fn, value, expected):
    assert fn(value) == expected


def test_fmt_money_and_amount():
    assert fmt.money(-1234.4, "USD") == "-$1,234"
    assert fmt.money(28_243_551, "USD") == "$28.2M"
    assert fmt.money(123_456, "CHF") == "123K CHF"
    assert fmt.money(3.5, "$") == "$3.50"
    assert fmt.amount(3.5, "EUR", is_money=False) == "3.50"
    assert fmt.pct(0.02, sign=True) == "+2.0%"


def test_business_impact_cost_per_unit_and_open_interval():
    imp = business_impact(_result(report={"cost": 1000.0, "outcome_kind": "count"}))
    assert imp.incremental == 1000.0 and imp.incremental_ci == (500.0, 1500.0)
    assert imp.cost_per_unit == 1.0 and imp.cost_per_unit_ci == pytest.approx((1000 / 1500, 2.0))
    assert imp.iroas is None
    # the incremental interval includes zero: no cost per unit at all, and a reason
    imp = business_impact(_result(ci=(-1.0, 5.0), p=0.2, report={"cost": 1000.0, "outcome_kind": "count"}))
    assert imp.cost_per_unit is None and imp.cost_per_unit_ci is None
    assert "includes zero" in imp.cost_note and not imp.money_established


def test_means_per_unit_have_no_total_without_a_stated_exposure():
    imp = business_impact(_result(report={"cost": 1000.0}))  # an A/B outcome is a mean per user
    assert imp.model.kind == "mean" and imp.incremental is None and "report.exposure" in imp.cost_note
    imp = business_impact(_result(report={"cost": 1000.0, "exposure": 2000.0, "per": "per user-week"}))
    assert imp.incremental == 4000.0 and imp.cost_per_unit == pytest.approx(0.25)


def test_business_impact_cost_column_total_comes_from_details():
    imp = business_impact(_result(report={"cost_column": "spend", "currency": "USD", "outcome_is_currency": True,
                                          "outcome_kind": "amount"}, details={"cost": 250.0}))
    assert imp.cost == 250.0 and imp.iroas == pytest.approx(4.0) and imp.currency == "USD"


def test_business_without_exposure_or_baseline():
    imp = business_impact(_result(exposure=None, baseline=None, report={"cost": 10.0}))
    assert imp.incremental is None and imp.lift is None and imp.cost_per_unit is None
    s = executive_summary(_result(exposure=None, baseline=None, report={"cost": 10.0}))
    assert s.answer == "The treatment raised orders by 2.00 (95% CI +1.00 to +3.00)."
    assert any("cost per incremental unit is not shown" in line for line in s.business)


def test_confidence_levels():
    ok = Diagnostic("pre", "pass", "ok", assumption="parallel_trends")
    warn = Diagnostic("bal", "warn", "meh", assumption="balance")
    fail = Diagnostic("fit", "fail", "bad", assumption="fit")
    na = Diagnostic("x", "not_applicable", "n/a", assumption="other")
    assert confidence([_result(diagnostics=(ok, na))]).sentence == "Robust: pre-trends pass."
    c = confidence([_result(diagnostics=(ok, warn))])
    assert c.label == "Moderate" and "some covariates are imbalanced" in c.reason
    c = confidence([_result(diagnostics=(ok, warn, fail))])
    assert c.label == "Fragile" and c.reason.startswith("the pre-period fit is poor")
    assert c.reason.endswith("treat as directional")
    assert confidence([_result(diagnostics=(na,))]).label == "Moderate"
    # No green badge on an interval that includes zero, however clean the checks.
    c = confidence([_result(ci=(-0.5, 3.0), p=0.2, diagnostics=(ok,))])
    assert c.label == "Inconclusive" and c.status == "not_applicable"


def test_robust_sentence_with_methods():
    from causal_kit import compare

    ok = Diagnostic("pre", "pass", "ok", assumption="parallel_trends")
    rs = [_result(diagnostics=(ok,)), _result(estimate=2.1, diagnostics=(ok,)), _result(estimate=1.9, diagnostics=(ok,))]
    assert confidence(rs, compare(rs)).sentence == "Robust: all 3 methods agree on the conclusion, pre-trends pass."


def test_result_card_is_light_escaped_and_has_expandable_diagnostics():
    xss = "<img src=x onerror=alert(1)>"
    r = _result(diagnostics=(Diagnostic("srm", "fail", xss, assumption="randomization"),), label=xss)
    card = r._repr_html_()
    assert card == result_card(r)
    assert xss not in card and "&lt;img" in card
    assert "<details" in card and "1 diagnostics" in card and "Fragile" in card
    assert len(card) < 20_000 and "<script" not in card


def test_results_card_lists_methods():
    rs = [_result(label="first"), _result(estimate=2.1, label="second")]
    card = results_card(rs)
    assert "first" in card and "second" in card and "2 of 2 methods reach the same conclusion" in card


def test_design_card_summary_without_duration():
    from causal_kit.report.notebook import design_card

    card = design_card(stand_in_design(recommended_duration=None, cost=None))
    assert "No tested duration reaches 80% power" in card


def test_placeholder_figures_become_notes():
    fig = go.Figure(go.Scatter(x=[0], y=[0], mode="text", text=["Run with cate='x' to get this figure."]))
    assert _placeholder_text(fig) == "Run with cate='x' to get this figure."
    assert _placeholder_text(go.Figure(go.Scatter(x=[0, 1], y=[1, 2]))) is None


def test_design_false_positive_rate_reads_the_planner_interval_when_present():
    import pandas as pd

    from causal_kit.report.design import aa_rate, design_summary

    ranking = pd.DataFrame({
        "estimator": ["geo_matched_pairs", "sdid"], "bias": [0.0, 0.01], "rmse": [0.1, 0.12],
        "coverage": [0.95, 0.93], "type1_error": [0.0, 0.06], "mde": [0.05, 0.06], "recommended": [True, False],
        "aa_rate": [0.0, 0.06], "aa_mcse": [0.0, 0.017], "aa_ci_low": [0.0, 0.03], "aa_ci_high": [0.091, 0.1],
        "aa_windows": [40, 40]})
    d = stand_in_design(estimator_ranking=ranking, type1_error=0.0)
    aa = aa_rate(d)
    assert (aa["low"], aa["high"], aa["n"]) == (0.0, 0.091, 40)
    tile = {t["label"]: t for t in design_summary(d)["tiles"]}["False-positive rate"]
    assert tile["value"] == "0.0%" and tile["sub"] == "95% CI 0.0% to 9.1%; 40 historical windows"
    # Without the planner's columns: a Wilson interval from the number of windows, never a bare "0.0%".
    fallback = aa_rate(stand_in_design(type1_error=0.0, tables={"windows": pd.DataFrame({"start": range(10)})}))
    assert fallback["n"] == 10 and fallback["low"] == 0.0 and fallback["high"] == pytest.approx(0.2775, abs=1e-3)
