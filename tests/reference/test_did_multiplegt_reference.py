"""de Chaisemartin-D'Haultfoeuille switching DiD against diff-diff 3.13.0.

Reference values computed once with ``diff_diff.ChaisemartinDHaultfoeuille`` 3.13.0 (default
options: units switching more than once dropped, analytic cohort-recentred SEs) with
``L_max=3`` on the bundled ``switching_promo_sim`` panel; the script is
``make_did_multiplegt_reference.py`` beside this file. diff-diff's overall SE for ``L_max > 1``
treats the horizons as independent; causal_kit uses the authors' joint influence function, so
only the overall point estimate is compared.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.errors import RowsDroppedWarning
from causal_kit.estimators.did_multiplegt import SwitchingDiD

SPEC = dict(name="promo", design="staggered_did", outcome="y", unit="unit", time="period", treatment="promo",
            estimators=["did_multiplegt"])
# horizon -> (estimate, analytic SE, switchers)
EFFECTS = {1: (1.4114452339969346, 0.10738399817183127, 227),
           2: (1.7922577184549278, 0.1253060023049853, 189),
           3: (2.230602930175458, 0.14554769437651466, 144)}
PLACEBOS = {1: (-0.12952041983295526, 0.11414196740144086, 200),
            2: (-0.07736262297414344, 0.13735117144952527, 135),
            3: (0.30112550725855874, 0.24324567851145107, 57)}
OVERALL_L3 = 1.7506099979474135  # cost-benefit delta = average total effect per switch
TOL = 1e-9


@pytest.fixture(scope="module")
def fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RowsDroppedWarning)
        return SwitchingDiD(effects=3, placebos=3).fit(ck.datasets.load("switching_promo_sim"),
                                                       ck.ExperimentSpec(**SPEC))


def test_dynamic_effects_and_ses_match_diff_diff(fit):
    es = fit.tables["event_study"].set_index("event_time")
    for lag, (est, se, n) in EFFECTS.items():
        row = es.loc[lag - 1]
        assert row["estimate"] == pytest.approx(est, abs=TOL)
        assert row["se"] == pytest.approx(se, abs=TOL)
        assert row["n_switchers"] == n


def test_placebos_and_ses_match_diff_diff(fit):
    es = fit.tables["event_study"].set_index("event_time")
    for lag, (est, se, n) in PLACEBOS.items():
        row = es.loc[-1 - lag]
        assert row["estimate"] == pytest.approx(est, abs=TOL)
        assert row["se"] == pytest.approx(se, abs=TOL)
        assert row["n_switchers"] == n


def test_average_total_effect_matches_diff_diff_delta(fit):
    assert fit.estimate == pytest.approx(OVERALL_L3, abs=TOL)
    # the joint-influence SE is at least the independent-horizons one when horizons co-move
    w = np.array([n for _, _, n in EFFECTS.values()], float)
    w /= w.sum()
    independent = float(np.sqrt(sum((wi * se) ** 2 for wi, (_, se, _) in zip(w, EFFECTS.values()))))
    assert fit.se > independent


def test_one_effect_headline_is_did_1(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RowsDroppedWarning)
        one = SwitchingDiD(effects=1, placebos=1).fit(ck.datasets.load("switching_promo_sim"), ck.ExperimentSpec(**SPEC))
    assert one.estimate == pytest.approx(EFFECTS[1][0], abs=TOL)
    assert one.se == pytest.approx(EFFECTS[1][1], abs=TOL)
    assert fit.n_dropped == 8 * fit.details["n_multi_switch_dropped"]
