"""result.explain(): the plain-language paragraph is number-faithful and never reads a null as a win."""

from __future__ import annotations

import pytest
from _faithful import numbers_in, result_numbers, unmatched
from cases import CASES, case_spec

from causal_kit import Diagnostic, EffectEstimate, ExperimentSpec, estimate
from causal_kit.result import make_lineage


@pytest.mark.parametrize("method", ["ab", "did", "rdd", "synthetic_control"])
def test_every_number_in_the_text_is_one_of_the_results(method, load):
    spec = case_spec(method)
    (result,) = estimate(load(CASES[method][0]), spec)
    text = result.explain()
    assert len(numbers_in(text)) >= 4
    assert unmatched(text, result_numbers(result)) == []
    assert text.startswith("Tested:") and "How sure:" in text and "It rests on" in text


def _stand_in(ci, *, report=None, diagnostics=(), details=None, p=0.3):
    spec = ExperimentSpec(name="promo", design="did", outcome="orders", treatment="t", unit="geo", time="week",
                          question="Did the promo lift orders?", report=report or {})
    est = (ci[0] + ci[1]) / 2
    return EffectEstimate("did", "ATT", est, (ci[1] - ci[0]) / 3.92, ci, p, 0.05, 5200, outcome="orders",
                          design="did", n_units=40, diagnostics=diagnostics, baseline=250.0, exposure=480.0,
                          lineage=make_lineage(spec, "fp"), details=details or {}), spec


def test_a_null_result_never_reads_like_a_win():
    res, _ = _stand_in((-3.0, 9.0), diagnostics=(Diagnostic("pre_trends", "pass", "ok", assumption="parallel_trends"),))
    text = res.explain()
    assert "cannot tell" in text and "Inconclusive" in text
    assert "raised" not in text and "Robust" not in text and "supports an effect" not in text
    assert unmatched(text, result_numbers(res)) == []


def test_business_units_and_the_decision_are_number_faithful():
    res, spec = _stand_in((4.0, 12.0), p=0.0004, report={"currency": "USD", "outcome_is_currency": True,
                                                         "cost": 1500.0, "break_even": 0.02},
                          diagnostics=(Diagnostic("pre_trends", "warn", "slight", assumption="parallel_trends"),))
    text = res.explain(spec)
    assert "iROAS" in text and "break-even" in text and "Moderate" in text
    assert "parallel trends (is borderline)" in text
    assert unmatched(text, result_numbers(res, spec)) == []


def test_a_wrong_number_is_caught_by_the_checker():
    res, _ = _stand_in((4.0, 12.0))
    text = res.explain().replace("+4", "+5", 1)
    assert unmatched(text, result_numbers(res)) != []


def test_an_interim_sequential_look_is_not_a_win():
    res, _ = _stand_in((4.0, 12.0), p=0.001, details={"sequential": {"look": 2, "n_looks_planned": 4,
                                                                       "boundary_z": 2.8, "decision": "continue"}})
    text = res.explain()
    assert "interim" in text and "Robust" not in text
    assert unmatched(text, result_numbers(res)) == []


def test_no_checked_assumption_is_said_plainly():
    res, _ = _stand_in((4.0, 12.0), p=0.001)
    assert "none of which could be checked" in res.explain()


def test_the_effect_report_shows_the_same_paragraph(load):
    import html

    import causal_kit as ck

    spec = case_spec("ab")
    (result,) = estimate(load(CASES["ab"][0]), spec)
    page = ck.report.render(result)
    assert html.escape(result.explain(), quote=False) in page.replace("&#39;", "'").replace("&#34;", '"')
