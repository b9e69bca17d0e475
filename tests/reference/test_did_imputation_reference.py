"""Imputation (BJS) and two-stage (Gardner) DiD against diff-diff 3.13.0 on mpdta.

Reference values computed once with ``diff_diff`` 3.13.0 (``ImputationDiD()`` and
``TwoStageDiD()`` with default options, unit clustering, ``first_treat="first.treat"``;
event studies from ``results.aggregate("event_study")`` with ``pretrends=True``; the BJS
pre-trend test from ``results.pretrend_test()``) on the bundled mpdta panel.
"""

from __future__ import annotations

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.estimators.did_imputation import ImputationDiD
from causal_kit.estimators.did_two_stage import TwoStageDiD

SPEC = dict(name="mpdta", design="staggered_did", outcome="lemp", unit="countyreal", time="year",
            cohort="first.treat")

ATT = -0.04770991827781883
BJS_SE = 0.01322248865001637
TWO_STAGE_SE = 0.013478408807759122
POST = {0: -0.031066927192, 1: -0.052234856748, 2: -0.136078114440, 3: -0.104707471576}
BJS_POST_SE = {0: 0.013577249746, 1: 0.018812426823, 2: 0.035341972133, 3: 0.033765853358}
TWO_STAGE_POST_SE = {0: 0.013643066340, 1: 0.018963837533, 2: 0.035341972133, 3: 0.033765853358}
BJS_LEADS = {-4: -0.0013953502064717321, -3: 0.023841000404475753, -2: 0.02168227480877472}
BJS_LEAD_SE = {-4: 0.023196500765, -3: 0.018043536647, -2: 0.013641464466}
BJS_PRETREND_F, BJS_PRETREND_P = 1.838092218931581, 0.13926699327415723
TWO_STAGE_LEADS = {-4: -0.009849156906, -3: 0.009535789304, -2: 0.007643590191}
TWO_STAGE_LEAD_SE = {-4: 0.009000928578, -3: 0.006366901439, -2: 0.006017247882}


@pytest.fixture(scope="module")
def fits():
    data, spec = ck.datasets.load("mpdta"), ck.ExperimentSpec(**SPEC)
    return ImputationDiD().fit(data, spec), TwoStageDiD().fit(data, spec)


def _by_event(res, col):
    es = res.tables["event_study"]
    return dict(zip(es["event_time"], es[col]))


def test_headline_att_and_ses_match_diff_diff(fits):
    bjs, two = fits
    assert bjs.estimate == pytest.approx(ATT, abs=1e-9)
    assert two.estimate == pytest.approx(ATT, abs=1e-9)
    assert bjs.se == pytest.approx(BJS_SE, abs=1e-9)
    assert two.se == pytest.approx(TWO_STAGE_SE, abs=1e-9)


@pytest.mark.parametrize("which", [0, 1])
def test_event_studies_match_diff_diff(fits, which):
    res = fits[which]
    est, se = _by_event(res, "estimate"), _by_event(res, "se")
    leads = (BJS_LEADS, TWO_STAGE_LEADS)[which]
    ses = ({**BJS_POST_SE, **BJS_LEAD_SE}, {**TWO_STAGE_POST_SE, **TWO_STAGE_LEAD_SE})[which]
    for e, b in {**POST, **leads}.items():
        assert est[e] == pytest.approx(b, abs=1e-9)
        assert se[e] == pytest.approx(ses[e], abs=1e-9)


def test_bjs_pretrend_test_matches_diff_diff(fits):
    diag = {d.name: d for d in fits[0].diagnostics}["pre_trends"]
    assert diag.statistic == pytest.approx(BJS_PRETREND_F, abs=1e-8)
    assert diag.p_value == pytest.approx(BJS_PRETREND_P, abs=1e-8)
    assert np.isfinite(diag.statistic)
