"""causal_kit.verdict: conclusions, agreement on conclusions, the verdict and the decision line."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from causal_kit import Diagnostic
from causal_kit.verdict import agreement, conclusion, decision, prob_above, verdict_from

OK = Diagnostic("pre", "pass", "ok", assumption="parallel_trends")
FAIL = Diagnostic("fit", "fail", "bad", assumption="fit")


@pytest.mark.parametrize("ci, expected", [((0.1, 2.0), "positive"), ((-2.0, -0.1), "negative"), ((-1.0, 1.0), "null"),
                                          ((0.0, 1.0), "null")])
def test_conclusion(ci, expected):
    assert conclusion(ci) == expected


def test_green_only_when_the_interval_excludes_zero():
    assert verdict_from([OK], (0.5, 1.5)).status == "pass"
    v = verdict_from([OK], (-0.5, 1.5))
    assert (v.label, v.status) == ("Inconclusive", "not_applicable")
    assert verdict_from([OK, FAIL], (-0.5, 1.5)).label == "Fragile"


def test_agreement_is_about_conclusions():
    assert agreement([(-41.4, 1.9), (-34.0, 2.8), (-30.0, 5.0)]).label == "agree"  # all null
    assert agreement([(1.0, 3.0), (-1.0, 4.0)]).label == "mixed"  # significant vs null
    assert agreement([(1.0, 3.0), (-4.0, -2.0)]).label == "disagree"
    assert agreement([(1.0, 1.5), (3.0, 4.0)]).label == "mixed"  # same direction, sizes differ
    # an agreeing comparison cannot lift a null headline to green
    v = verdict_from([OK], (-1.0, 1.0), agreement([(-1.0, 1.0), (-2.0, 2.0)]))
    assert v.status != "pass"


def test_prob_above_matches_the_normal_cdf():
    for est, se, be in [(0.05, 0.02, 0.02), (0.01, 0.03, 0.02), (-1.0, 2.0, 0.5)]:
        assert prob_above(est, se, be) == pytest.approx(stats.norm.sf(be, loc=est, scale=se), rel=1e-12)
    assert math.isnan(prob_above(1.0, 0.0, 0.5))


def test_decision_ship_stop_extend():
    assert decision(0.05, (0.03, 0.07), 0.02).action == "ship"
    assert decision(0.0, (-0.02, 0.01), 0.02).action == "stop"
    d = decision(0.03, (-0.01, 0.07), 0.02)
    se = 0.08 / (2 * stats.norm.ppf(0.975))
    assert d.action == "extend" and d.prob_above == pytest.approx(stats.norm.sf(0.02, 0.03, se))
    # the interval clears 0.02 when z*se' < 0.01: se' = se * sqrt(1/f)  ->  f = (z*se/0.01)^2
    assert d.extend_factor == pytest.approx((stats.norm.ppf(0.975) * se / 0.01) ** 2)
    table = pd.DataFrame({"duration": [14, 21, 28, 42], "mde": [0.05, 0.03, 0.012, 0.008]})
    d = decision(0.035, (0.01, 0.06), 0.02, duration_table=table, duration=14)
    assert d.action == "extend" and d.extend_to == 28  # first duration whose MDE is below the 1.5-point gap
    # far below break-even with a wide interval: more data would not help
    assert decision(-0.05, (-0.2, 0.1), 0.05).action == "stop"


def test_sequential_decision_is_never_an_interim_win():
    # regression: an interval excluding zero at a "continue" look must not read as a final, green win
    cont = {"decision": "continue", "look": 3, "n_looks_planned": 6}
    v = verdict_from([OK], (0.5, 1.5), sequential=cont)
    assert (v.label, v.status) == ("Inconclusive", "not_applicable")
    assert "interim result" in v.reason and "look 3 of 6" in v.reason
    assert verdict_from([OK, FAIL], (0.5, 1.5), sequential=cont).label == "Fragile"
    fut = verdict_from([OK], (-0.1, 0.1), sequential={"decision": "stop_futility", "look": 2})
    assert fut.label == "Inconclusive" and "stopped for futility (look 2)" in fut.reason
    eff = verdict_from([OK], (0.5, 1.5), sequential={"decision": "stop_efficacy", "look": 4, "n_looks_planned": 6})
    assert (eff.label, eff.status, eff.conclusion) == ("Robust", "pass", "positive")
    assert eff.reason.startswith("stopped for efficacy (look 4 of 6)")
    # the final look is judged like a fixed-horizon result
    assert verdict_from([OK], (0.5, 1.5), sequential={"decision": "final", "look": 6}).label == "Robust"
    assert verdict_from([OK], (-0.5, 1.5), sequential={"decision": "final", "look": 6}).label == "Inconclusive"
