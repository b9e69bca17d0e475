"""HTML reports: content generated from numbers, escaping, self-containment, every template."""

from __future__ import annotations

import html as html_lib
import re

import pandas as pd
import pytest

from causal_kit import Diagnostic, EffectEstimate, ExperimentSpec
from causal_kit.errors import SpecError
from causal_kit.estimators import ESTIMATORS
from causal_kit.report import render, render_history, save_html
from causal_kit.report.html import PLOTLY_BUDGET, environment, template_dirs
from causal_kit.result import make_lineage

try:
    from ._stand_ins import stand_in_design
    from .conftest import render_case
except ImportError:  # tests/report is not a package
    from _stand_ins import stand_in_design
    from conftest import render_case

XSS = "<script>alert(1)</script>"
FIVE_MB = 5_000_000


def make_result(estimate=2.0, ci=(1.0, 3.0), p=0.001, diagnostics=None, spec=None, **kw) -> EffectEstimate:
    spec = spec or ExperimentSpec(name="promo", design="ab", outcome="orders", treatment="arm",
                                  question="Did the promo raise orders?")
    base = dict(
        method="ab", estimand="ATE", estimate=estimate, se=(ci[1] - ci[0]) / 3.92, ci=ci, p_value=p,
        alpha=0.05, n_obs=1000, n_units=1000, outcome=spec.outcome or "", baseline=40.0, exposure=500.0,
        diagnostics=diagnostics if diagnostics is not None else (
            Diagnostic("sample_ratio_mismatch", "pass", "Arm sizes match the plan.", 0.1, 0.7, 0.001, "randomization"),
        ),
        tables={"arms": pd.DataFrame({"arm": ["0", "1"], "n": [500, 500], "mean": [40.0, 42.0], "sd": [5.0, 5.0]})},
        lineage=make_lineage(spec, "f00d", seed=0), inference="Welch SE, t-based CI", label="A/B: 1 vs 0",
    )
    base.update(kw)
    return EffectEstimate(**base)


def _text(html: str) -> str:
    body = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


# ---------------------------------------------------------------------- basics
def test_templates_are_found():
    names = set(environment().list_templates())
    assert {"base.html", "effect_report.html", "robustness_report.html", "design_report.html",
            "portfolio_report.html", "history_report.html", "_methods.html"} <= names
    assert template_dirs()


def test_environment_is_strict_and_escaping():
    import jinja2

    env = environment()
    assert env.autoescape is True
    assert env.undefined is jinja2.StrictUndefined


def test_effect_report_summary_is_generated_from_numbers():
    spec = ExperimentSpec(name="promo", design="ab", outcome="orders", treatment="arm",
                          question="Did the promo raise orders?",
                          report={"cost": 1000.0, "currency": "USD", "outcome_label": "orders", "owner": "Growth",
                                  "outcome_kind": "count", "unit_label": "orders", "per": "per user"})
    html = render(make_result(spec=spec))
    text = _text(html)
    assert "Did the promo raise orders?" in text
    # effect 2 orders per user; 2 / 40 = 5.0% lift of the baseline 40, CI 1/40 .. 3/40 = 2.5% .. 7.5%
    assert ("The treatment raised orders by 2.00 orders per user (95% CI +1.00 to +3.00 orders); that is +5.0% "
            "of the counterfactual mean 40.0 orders.") in text
    # 2 * 500 = 1,000 incremental orders; cost 1000 / 1000 = $1 per order, CI 1000/1500 .. 1000/500
    assert "that is +1,000 orders (95% CI 500 to 1,500)" in text
    assert "cost $1.00 ($0.667 to $2.00" in text.replace("95% CI ", "")
    assert "Robust" in text and "randomization checks pass" in text
    assert "owner: Growth" in text
    assert "A/B test." in text  # method paragraph from _methods.html
    assert "name: promo" in text  # spec as YAML
    assert "f00d" in text  # data fingerprint in the lineage


def test_iroas_when_outcome_is_money():
    spec = ExperimentSpec(name="rev", design="ab", outcome="revenue", treatment="arm",
                          report={"cost": 250.0, "currency": "EUR", "outcome_is_currency": True, "outcome_kind": "amount"})
    text = _text(render(make_result(spec=spec)))
    # iROAS = 2 * 500 / 250 = 4.00, CI 500/250 .. 1500/250
    assert "(iROAS) is 4.00 (95% CI 2.00 to 6.00)" in text


def test_inconclusive_and_fragile_wording():
    diags = (Diagnostic("pre_fit", "fail", "The pre-period RMSPE is large.", assumption="fit"),)
    text = _text(render(make_result(estimate=0.5, ci=(-1.0, 2.0), p=0.5, diagnostics=diags)))
    assert "The data cannot tell whether the treatment changed orders" in text
    assert "Fragile" in text and "the pre-period fit is poor; treat as directional" in text
    assert "do not read a direction into it" in text


def test_diagnostics_grouped_with_plain_names_and_all_statuses():
    diags = (
        Diagnostic("pre_trends", "pass", "Pre-trends are flat.", 1.0, 0.4, 0.05, "parallel_trends"),
        Diagnostic("weak_iv", "warn", "First-stage F is 12.", 12.0, None, 10.0, "instrument_strength"),
        Diagnostic("density", "fail", "Density jumps at the cutoff.", assumption="manipulation"),
        Diagnostic("placebo", "not_applicable", "Needs more controls.", assumption="inference"),
    )
    text = _text(render(make_result(diagnostics=diags)))
    for label in ("Parallel trends:", "Instrument strength:", "Manipulation:"):
        assert label in text
    assert "Inference:" not in text  # a group where nothing applies is left out
    for status in ("pass", "warn", "fail"):
        assert status in text
    assert text.index("Manipulation:") < text.index("Parallel trends:")  # worst group first


def test_user_strings_are_escaped_everywhere():
    spec = ExperimentSpec(name=XSS, design="ab", outcome="orders", treatment="arm", question=XSS,
                          report={"title": XSS, "owner": XSS, "outcome_label": XSS})
    diags = (Diagnostic("srm", "warn", XSS, assumption="randomization"),)
    result = make_result(spec=spec, diagnostics=diags, label=XSS, inference=XSS, outcome="</script>" + XSS)
    for html in (render(result, title=XSS), render([result, make_result(spec=spec)]), render([result], title=XSS)):
        assert XSS not in html
        assert "</script><script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_plotly_inlined_once_and_no_external_resources():
    from plotly.offline import get_plotlyjs

    html = render(make_result())
    assert html.count(get_plotlyjs()[:300]) == 1
    page = html.replace(get_plotlyjs().replace("</script", "<\\/script"), "")
    assert len(page) < len(html) - 1_000_000
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "cdn.plot.ly" not in page
    assert len(html.encode()) < FIVE_MB


def test_large_reports_compress_plotly_and_stay_under_5mb():
    many = [make_result(estimate=1.0 + i / 10, label=f"m{i}") for i in range(6)]
    big = make_result(tables={"arms": pd.DataFrame({"arm": ["0", "1"], "n": [5, 5], "mean": [1.0, 2.0], "sd": [1.0, 1.0]})})
    html = render(many)
    assert len(html.encode()) < FIVE_MB
    packed = render(big, plotlyjs="compressed")
    assert 'id="ck-plotlyjs-gz"' in packed and len(packed.encode()) < 2_500_000
    assert PLOTLY_BUDGET < FIVE_MB
    with pytest.raises(SpecError, match="'plotlyjs' parameter"):
        render(big, plotlyjs="cdn")


def test_save_html_and_custom_template(tmp_path):
    result = make_result()
    out = save_html(result, tmp_path / "sub" / "report.html", title="Weekly readout")
    assert out.exists() and "Weekly readout" in out.read_text()
    custom = tmp_path / "mine.html"
    custom.write_text('{% extends "base.html" %}{% block content %}<p id="mine">{{ summary.answer }}</p>{% endblock %}')
    html = render(result, template=custom)
    assert '<p id="mine">The treatment raised orders' in html
    with pytest.raises(SpecError, match="'template' parameter"):
        render(result, template="nope.html")


def test_render_rejects_bad_input():
    with pytest.raises(SpecError, match="empty list"):
        render([])
    with pytest.raises(SpecError, match="Got dict"):
        render({"estimate": 1})


def test_every_registered_method_has_a_plain_language_paragraph():
    module = environment().get_template("_methods.html").make_module()
    for method in ESTIMATORS:
        paragraph = str(module.describe(method))
        assert "registered by an extension" not in paragraph, method
        assert "assum" in paragraph, method


# ---------------------------------------------------------------------- report kinds
def test_robustness_report_shows_comparison_and_verdict():
    spec = ExperimentSpec(name="promo", design="ab", outcome="orders", treatment="arm", question="Q?")
    results = [make_result(spec=spec, label=m, estimate=e, ci=(e - 1, e + 1))
               for m, e in (("plain", 2.0), ("adjusted", 2.2), ("weighted", 1.9))]
    text = _text(render(results))
    assert "Do the methods agree?" in text
    assert "3 of 3 methods reach the same conclusion: an increase." in text
    assert text.count("3 of 3 methods") == 1  # each sentence once
    assert "Robust" in text
    assert "plain" in text and "adjusted" in text and "weighted" in text


def test_portfolio_report_lists_every_study():
    a = make_result()
    spec_b = ExperimentSpec(name="banner", design="ab", outcome="clicks", treatment="arm", question="Banner?")
    b = [make_result(spec=spec_b, outcome="clicks"), make_result(spec=spec_b, outcome="clicks", estimate=2.5)]
    text = _text(render([a, b], title="Q3 portfolio"))
    assert "Q3 portfolio" in text and "2 studies at a glance" in text
    assert "promo" in text and "banner" in text and "Banner?" in text


def test_history_report_with_ribbon():
    runs = pd.DataFrame({
        "run_id": ["r1", "r2", "r3"], "timestamp": ["2024-01-01T00:00:00", "2024-01-08T00:00:00", "2024-01-15T00:00:00"],
        "name": "promo", "method": "ab", "estimate": [1.0, 1.5, 1.4], "ci_low": [0.2, 0.8, 0.9],
        "ci_high": [1.8, 2.2, 1.9], "p_value": [0.02, 0.001, 0.0001], "worst_status": ["pass", "warn", "pass"],
    })
    html = render_history(runs, XSS)
    assert XSS not in html and "r3" in html and '"fill":"toself"' in html
    with pytest.raises(SpecError, match="needs the column"):
        render_history(runs.drop(columns="ci_low"), "x")


def test_design_report_and_card():
    from causal_kit.report.notebook import design_card

    design = stand_in_design()
    text = _text(render(design))
    assert "How long should the geo test run?" in text
    assert "Run the test for 6 periods: it can then detect a lift of 5.0% (0.500 sales per period across the treated units) with 80% power" in text
    assert "$190" in text and "1.70" in text
    assert "recommended readout method is Difference-in-differences" in text
    assert "treatment" in text and "control" in text
    card = design_card(stand_in_design(question=XSS))
    assert XSS not in card and "&lt;script&gt;" in card


# ---------------------------------------------------------------------- every method on bundled data
@pytest.mark.parametrize("method", sorted(ESTIMATORS))
def test_effect_report_for_every_registered_method(method, fitted):
    result = fitted(method)
    html = render_case(method)
    assert len(html.encode()) < FIVE_MB
    n_figures = html.count('data-ck-fig="')
    assert 1 <= n_figures <= len(result.plot_kinds())
    text = _text(html)
    assert result.method in text or (result.label and result.label in text)
    for d in result.diagnostics:
        assert d.message.split()[0] in text
    again = EffectEstimate.from_json(result.to_json())
    assert render(again).count('data-ck-fig="') == n_figures


def test_auto_mode_switches_to_compressed_above_budget(monkeypatch):
    import causal_kit.report.html as report_html

    plain = render(make_result())
    assert 'id="ck-plotlyjs-gz"' not in plain
    monkeypatch.setattr(report_html, "PLOTLY_BUDGET", len(plain.encode()) - 1)
    packed = render(make_result())
    assert 'id="ck-plotlyjs-gz"' in packed and len(packed) < len(plain) // 2
