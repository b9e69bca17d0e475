"""A/B estimator against published reference values (REFERENCES.md, "A/B analysis").

Sources: numpy/statsmodels and R estimatr ``lm_lin`` for the CUPED data; R estimatr ``lm_robust``
(weights = views, clustered by user) and a hand delta-method computation for the ratio data.
Tolerances: rtol 1e-4 for point estimates, 1e-3 for standard errors, unless stated.
"""

from __future__ import annotations

import pytest
from numpy.testing import assert_allclose

import causal_kit as ck
from causal_kit.estimators.ab import ABTest, cuped_theta, ratio_delta


@pytest.fixture(scope="module")
def cuped_data():
    return ck.datasets.load("ab_cuped_sim")


@pytest.fixture(scope="module")
def ratio_data():
    return ck.datasets.load("ab_ratio_sim")


def _spec(**kw):
    base = dict(name="ref", design="ab", treatment="treat")
    base.update(kw)
    return ck.ExperimentSpec(**base)


def test_raw_difference_welch(cuped_data):
    r = ABTest(adjustment="none").fit(cuped_data, _spec(outcome="y", pre_covariate="pre"))
    assert_allclose(r.estimate, 0.29807371, rtol=1e-6)
    assert_allclose(r.se, 0.15731178, rtol=1e-6)


def test_cuped_theta_difference_se_df(cuped_data):
    assert_allclose(cuped_theta(cuped_data["y"].to_numpy(), cuped_data["pre"].to_numpy()), 0.79690272, rtol=1e-6)
    r = ABTest(adjustment="cuped").fit(cuped_data, _spec(outcome="y", pre_covariate="pre"))
    assert_allclose(r.estimate, 0.25602567, rtol=1e-6)
    assert_allclose(r.se, 0.06009387, rtol=1e-6)
    assert_allclose(r.df_resid, 9991.964, rtol=1e-6)


def test_ancova_hc1(cuped_data):
    r = ABTest(adjustment="ancova").fit(cuped_data, _spec(outcome="y", pre_covariate="pre"))
    assert_allclose(r.estimate, 0.25602782, rtol=1e-6)
    assert_allclose(r.se, 0.06009532, rtol=1e-6)


def test_lin_interacted_hc2(cuped_data):
    # R estimatr lm_lin(y ~ t, covariates = ~x), HC2
    r = ABTest().fit(cuped_data, _spec(outcome="y", covariates=["pre"]))
    assert_allclose(r.estimate, 0.25605325, rtol=1e-6)
    assert_allclose(r.se, 0.06009612, rtol=1e-6)


@pytest.mark.parametrize(
    ("arm", "ratio", "se0", "se1"),
    [(0, 0.10205057, 0.00194300, 0.00194324), (1, 0.10900977, 0.00189576, 0.00189599)],
)
def test_ratio_per_arm_delta_se(ratio_data, arm, ratio, se0, se1):
    d = ratio_data[ratio_data["treat"] == arm]
    r_hat, s_ddof0 = ratio_delta(d["clicks"].to_numpy(float), d["views"].to_numpy(float), ddof=0)
    _, s_ddof1 = ratio_delta(d["clicks"].to_numpy(float), d["views"].to_numpy(float), ddof=1)
    assert_allclose(r_hat, ratio, rtol=1e-6)
    assert_allclose(s_ddof0, se0, rtol=1e-4)
    assert_allclose(s_ddof1, se1, rtol=1e-4)


def test_ratio_difference_and_lift(ratio_data):
    r = ck.estimate(ratio_data, _spec(numerator="clicks", denominator="views"))
    assert_allclose(r.estimate, 0.00695921, rtol=1e-5)
    assert_allclose(r.se, 0.00271495, rtol=1e-4)
    assert_allclose(r.estimate / r.se, 2.563288, rtol=1e-4)
    assert_allclose(r.p_value, 0.0103686, rtol=1e-4)
    comp = r.tables["comparisons"].iloc[0]
    assert_allclose(comp["relative_lift"], 0.06819373, rtol=1e-5)
    assert_allclose(comp["relative_se"], 0.02754837, rtol=1e-4)
    # estimatr's CR0 cluster SE (0.00271461) differs only by the ddof convention
    assert_allclose(r.se, 0.00271461, rtol=2e-4)
