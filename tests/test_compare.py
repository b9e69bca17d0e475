"""causal_kit.compare: the tidy table, the agreement verdict, the forest plot and the card."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

import causal_kit as ck
from causal_kit import Diagnostic, EffectEstimate
from causal_kit.compare import SPREAD_THRESHOLD, Comparison
from causal_kit.errors import SpecError


def _r(est, lo, hi, se=None, method="ab", label="", status="pass"):
    return EffectEstimate(method=method, estimand="ATT", estimate=est, se=se or (hi - lo) / 3.92, ci=(lo, hi),
                          p_value=0.01, alpha=0.05, n_obs=100, outcome="sales", label=label or method,
                          diagnostics=(Diagnostic("check", status, "A check.", assumption="fit"),))


def test_compare_is_exported_and_builds_tidy_table():
    cmp = ck.compare([_r(2.0, 1.0, 3.0, label="a"), _r(2.2, 1.1, 3.3, label="b")])
    assert isinstance(cmp, Comparison) and len(cmp) == 2
    t = cmp.tidy()
    assert list(t["label"]) == ["a", "b"]
    assert {"estimate", "se", "ci_low", "ci_high", "p_value", "worst_status", "agrees"} <= set(t.columns)
    t.loc[0, "estimate"] = 99.0
    assert cmp.table.loc[0, "estimate"] == 2.0  # tidy() is a copy


def test_agree():
    v = ck.compare([_r(2.0, 1.0, 3.0), _r(2.2, 1.1, 3.3), _r(1.9, 0.9, 2.9)]).verdict
    assert v.label == "agree" and v.n_agree == 3 and v.same_sign and v.overlap
    assert v.spread_ratio == pytest.approx(0.3 / 0.5102, rel=1e-3)
    assert str(v) == "3 of 3 methods reach the same conclusion: an increase."


def test_mixed_when_one_method_is_significant_and_the_others_null():
    # the intervals overlap, but c concludes "increase" where a and b find nothing
    v = ck.compare([_r(2.0, 0.0, 4.0, label="a"), _r(1.8, -0.2, 3.8, label="b"), _r(2.65, 2.6, 2.7, label="c")]).verdict
    assert v.label == "mixed" and v.n_agree == 2
    assert "c reaches a different conclusion" in v.message


def test_two_null_results_agree_on_their_conclusion_even_when_spread():
    # "agree" means the same conclusion (here: no detectable effect), not similar point estimates
    v = ck.compare([_r(1.0, -9.0, 11.0, se=0.4), _r(2.5, -7.5, 12.5, se=0.4)]).verdict
    assert v.spread_ratio > SPREAD_THRESHOLD and v.label == "agree"
    assert str(v) == "2 of 2 methods reach the same conclusion: no detectable effect."


def test_disagree_on_opposite_conclusions_and_mixed_on_disjoint_sizes():
    v = ck.compare([_r(2.0, 1.0, 3.0), _r(-2.0, -3.0, -1.0)]).verdict
    assert v.label == "disagree" and "significant decrease" in v.message
    v = ck.compare([_r(2.0, 1.5, 2.5), _r(4.0, 3.5, 4.5)]).verdict
    assert v.label == "mixed" and "differ on the size" in v.message


def test_single_result():
    v = ck.compare([_r(2.0, 1.0, 3.0)]).verdict
    assert v.label == "single" and v.n_methods == 1


def test_forest_plot_and_card():
    cmp = ck.compare([_r(2.0, 1.0, 3.0, label="<b>x</b>"), _r(2.2, 1.1, 3.3, label="y", status="fail")])
    fig = cmp.plot()
    assert isinstance(fig, go.Figure) and list(fig.data[0].y) == ["<b>x</b>", "y"]
    assert fig.layout.xaxis.title.text == "Effect on sales"
    card = cmp._repr_html_()
    assert "<b>x</b>" not in card and "&lt;b&gt;x&lt;/b&gt;" in card
    assert "2 methods" in card and "fail" in card
    with pytest.raises(SpecError, match="'kind' parameter of Comparison.plot"):
        cmp.plot("bars")


def test_bad_input():
    with pytest.raises(SpecError, match="at least one EffectEstimate"):
        ck.compare([])
    with pytest.raises(SpecError, match="takes EffectEstimate objects"):
        ck.compare([1.0, 2.0])


def test_comparison_renders_as_robustness_report():
    from causal_kit.report import render

    html = render(ck.compare([_r(2.0, 1.0, 3.0, label="a"), _r(2.2, 1.1, 3.3, label="b")]), plotlyjs="compressed")
    assert "Do the methods agree?" in html and "2 of 2 methods reach the same conclusion" in html
