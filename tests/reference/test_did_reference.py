"""DiD family against published and independently computed values on mpdta.

Sources (see the reference notes shipped with the test data):

* ATT(g,t) and aggregations: R did 2.5.1 README and ``aggte`` reference page (estimates to 4
  decimals); the 6-decimal estimates and analytic influence-function SEs are the common
  values of the Python ports csdid, moderndid, differences and diff-diff, which agree with
  each other to 1e-6. Settings: yname = lemp, no covariates, never-treated controls, DR,
  varying base period.
* TWFE ``lemp ~ treat_post | county + year`` and its event study (reference -1): pyfixest,
  CRV1 clustered by county (fixest small-sample factor).
* 2x2 subset (g = 2007 vs never treated, 2006-2007): pyfixest CRV1.
* Sun-Abraham overall: the peer value -0.039951 (SE 0.011796).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal_kit import ExperimentSpec
from causal_kit.estimators.did import DiD, EventStudy
from causal_kit.estimators.staggered import CallawaySantAnna
from causal_kit.estimators.sun_abraham import SunAbraham

ROLES = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")

# ATT(g,t): (group, time) -> (estimate, analytic SE), R did 2.5.1 / peers
ATT_GT = {
    (2004, 2004): (-0.010503, 0.0233), (2004, 2005): (-0.070423, 0.0310),
    (2004, 2006): (-0.137259, 0.0364), (2004, 2007): (-0.100811, 0.0344),
    (2006, 2004): (0.006520, 0.0233), (2006, 2005): (-0.002751, 0.0196),
    (2006, 2006): (-0.004595, 0.0178), (2006, 2007): (-0.041224, 0.0202),
    (2007, 2004): (0.030507, 0.0150), (2007, 2005): (-0.002726, 0.0164),
    (2007, 2006): (-0.031087, 0.0179), (2007, 2007): (-0.026054, 0.0167),
}


@pytest.fixture(scope="module")
def mpdta():
    from causal_kit import datasets

    return datasets.load("mpdta")


@pytest.fixture(scope="module")
def cs(mpdta):
    spec = ExperimentSpec(name="mpdta", design="staggered_did", **ROLES)
    return CallawaySantAnna(n_boot=0).fit(mpdta, spec)


def test_att_gt(cs):
    tab = cs.tables["att_gt"].set_index(["group", "time"])
    assert len(tab) == 12
    for key, (est, se) in ATT_GT.items():
        assert tab.loc[key, "estimate"] == pytest.approx(est, abs=1e-6)
        # SEs published to 3-4 significant digits
        assert tab.loc[key, "se"] == pytest.approx(se, abs=6e-5)


def test_aggregations_points_and_analytic_ses(cs):
    agg = cs.tables["aggregations"].set_index("aggregation")
    # peer analytic values (csdid / differences / diff-diff agree to 1e-6)
    expected = {"simple": (-0.039951, 0.012034), "group": (-0.031018, 0.012446),
                "dynamic": (-0.077240, 0.019965), "calendar": (-0.041700, 0.015972)}
    for name, (est, se) in expected.items():
        assert agg.loc[name, "estimate"] == pytest.approx(est, abs=1e-6), name
        assert agg.loc[name, "se"] == pytest.approx(se, rel=1e-3), name
    assert cs.estimate == pytest.approx(-0.039951, abs=1e-6)
    assert cs.se == pytest.approx(0.012034, rel=1e-3)


def test_group_dynamic_calendar_components(cs):
    grp = cs.tables["group_effects"].set_index("group")
    np.testing.assert_allclose(grp.loc[[2004, 2006, 2007], "estimate"], [-0.079749, -0.022910, -0.026054], atol=1e-6)
    np.testing.assert_allclose(grp.loc[[2004, 2006, 2007], "se"], [0.0264, 0.0167, 0.0167], atol=6e-5)
    dyn = cs.tables["event_study"].set_index("event_time")
    np.testing.assert_allclose(dyn.loc[range(-3, 4), "estimate"],
                               [0.0305, -0.0006, -0.0245, -0.0199, -0.0510, -0.1373, -0.1008], atol=5e-5)
    np.testing.assert_allclose(dyn.loc[range(-3, 4), "se"],
                               [.0150, .0133, .0142, .0118, .0169, .0364, .0344], atol=6e-5)
    cal = cs.tables["calendar_effects"].set_index("time")
    np.testing.assert_allclose(cal.loc[[2004, 2005, 2006, 2007], "estimate"],
                               [-0.0105, -0.0704, -0.0488, -0.0371], atol=5e-5)


def test_dynamic_balance_e(mpdta):
    spec = ExperimentSpec(name="mpdta", design="staggered_did", **ROLES)
    res = CallawaySantAnna(n_boot=0, balance_e=1, aggregation="dynamic").fit(mpdta, spec)
    assert res.estimate == pytest.approx(-0.028761, abs=1e-6)
    assert res.se == pytest.approx(0.013686, rel=1e-3)


def test_est_methods_agree_without_covariates(mpdta, cs):
    spec = ExperimentSpec(name="mpdta", design="staggered_did", **ROLES)
    for method in ("ipw", "reg"):
        other = CallawaySantAnna(n_boot=0, est_method=method).fit(mpdta, spec)
        pd.testing.assert_frame_equal(other.tables["att_gt"][["estimate", "se"]],
                                      cs.tables["att_gt"][["estimate", "se"]], atol=1e-10)


def test_twfe_coefficient_and_crv1(mpdta):
    spec = ExperimentSpec(name="mpdta", design="did", **ROLES)
    res = DiD().fit(mpdta, spec)
    assert res.estimate == pytest.approx(-0.0365489, abs=1e-7)
    # pyfixest CRV1 (fixest ssc: unit FE nested in the county clusters counts once)
    assert res.se == pytest.approx(0.013265, rel=1e-4)
    assert res.details["wild_bootstrap"] is False


def test_twfe_event_study(mpdta):
    spec = ExperimentSpec(name="mpdta", design="event_study", **ROLES)
    es = EventStudy().fit(mpdta, spec).tables["event_study"].set_index("event_time")
    # pyfixest, reference period -1, CRV1 by county
    expected = {-4: (0.00355, 0.02283), -3: (0.02462, 0.01768), -2: (0.02335, 0.01344),
                0: (-0.01814, 0.01098), 1: (-0.04347, 0.01758), 2: (-0.13179, 0.02884), 3: (-0.09225, 0.03234)}
    for e, (b, se) in expected.items():
        assert es.loc[e, "estimate"] == pytest.approx(b, abs=6e-6)
        assert es.loc[e, "se"] == pytest.approx(se, abs=6e-6)
    assert es.loc[-1, "estimate"] == 0.0 and bool(es.loc[-1, "reference"])


def test_two_by_two_subset(mpdta):
    sub = mpdta[mpdta["first.treat"].isin([0, 2007]) & mpdta["year"].isin([2006, 2007])]
    spec = ExperimentSpec(name="2x2", design="did", **ROLES)
    res = DiD(inference="cluster").fit(sub, spec)
    assert res.estimate == pytest.approx(-0.026054, abs=1e-6)
    assert res.se == pytest.approx(0.016693, rel=1e-4)


def test_sun_abraham(mpdta, cs):
    spec = ExperimentSpec(name="mpdta", design="staggered_did", **ROLES)
    res = SunAbraham().fit(mpdta, spec)
    assert res.estimate == pytest.approx(-0.039951, abs=1e-6)
    assert res.se == pytest.approx(0.011796, rel=1e-3)
    sa = res.tables["event_study"].set_index("event_time")
    dyn = cs.tables["event_study"].set_index("event_time")
    np.testing.assert_allclose(sa.loc[range(0, 4), "estimate"], dyn.loc[range(0, 4), "estimate"], atol=1e-10)


def test_bacon_weights_recover_twfe(mpdta):
    spec = ExperimentSpec(name="mpdta", design="did", **ROLES)
    res = DiD().fit(mpdta, spec)
    bacon = res.tables["bacon"]
    assert bacon["weight"].sum() == pytest.approx(1.0, abs=1e-10)
    assert (bacon["weight"] * bacon["estimate"]).sum() == pytest.approx(res.estimate, abs=1e-10)
    # cohort 2004 has one pre-period (2003), so its treated-vs-never 2x2 equals its CS group ATT
    row = bacon.set_index(["type", "treated"]).loc[("treated_vs_never", "cohort 2004")]
    assert row["estimate"] == pytest.approx(-0.079749, abs=1e-6)


def test_doubly_robust_with_covariates_matches_csdid(mpdta):
    # csdid 0.4.3 (drdid 1.1.7, Python port of R did/DRDID): xformla = ~lpop, DR,
    # never-treated controls, varying base, analytic SEs (bstrap=False)
    spec = ExperimentSpec(name="mpdta", design="staggered_did", covariates=["lpop"], **ROLES)
    res = CallawaySantAnna(n_boot=0).fit(mpdta, spec)
    att = [-0.01452967, -0.07642188, -0.14044834, -0.1069039, -0.00047215, -0.00620252,
           0.00096057, -0.04129387, 0.0267278, -0.00457657, -0.02844749, -0.02878136]
    se = [0.02212916, 0.02867131, 0.03537815, 0.03288649, 0.02222344, 0.0184957,
          0.0194002, 0.01972114, 0.01406566, 0.01571776, 0.01818088, 0.01623895]
    tab = res.tables["att_gt"]
    np.testing.assert_allclose(tab["estimate"], att, atol=1e-8)
    np.testing.assert_allclose(tab["se"], se, atol=1e-8)
    assert res.estimate == pytest.approx(-0.04175177, abs=1e-8)
    assert res.se == pytest.approx(0.01150284, abs=1e-8)
