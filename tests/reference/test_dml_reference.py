"""DML against published reference values on the 401(k) data (REFERENCES.md, "Double ML").

Deterministic check (folds i mod 5, linear-regression nuisances, unpenalised logistic
propensity, trimming at 0.01): values computed with DoubleML, econml and by hand, which agree.
Random-forest range: Chernozhukov et al. (2018), 401(k) application, PLR 8,600-9,300.
Tolerances: rtol 1e-4 for estimates, 1e-3 for standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import causal_kit as ck
from causal_kit.estimators.dml import DML

X401 = ["age", "inc", "educ", "fsize", "marr", "twoearn", "db", "pira", "hown"]


@pytest.fixture(scope="module")
def data():
    return ck.datasets.load("sipp401k")


@pytest.fixture(scope="module")
def spec():
    return ck.ExperimentSpec(name="401k", design="dml", outcome="net_tfa", treatment="e401", covariates=X401)


def _fixed(data, **kw):
    folds = np.arange(len(data)) % 5
    return DML(learner_y="linear", learner_d="linear", refute=False, folds=folds, trim=0.01, **kw)


def test_plr_linear_nuisances(data, spec):
    # REFERENCES.md: PLR theta 5923.358031, SE 1531.008850
    r = _fixed(data, model="plr").fit(data, spec)
    assert_allclose(r.estimate, 5923.358031, rtol=1e-4)
    assert_allclose(r.se, 1531.008850, rtol=1e-3)
    assert r.estimand == "ATE"


def test_irm_ate_linear_nuisances(data, spec):
    # REFERENCES.md: IRM ATE 1734.55, SE 3809.09
    r = _fixed(data, model="irm").fit(data, spec)
    assert_allclose(r.estimate, 1734.55, rtol=1e-4)
    assert_allclose(r.se, 3809.09, rtol=1e-3)


def test_irm_att_linear_nuisances(data, spec):
    # REFERENCES.md: IRM ATT -1401.92
    r = _fixed(data, model="irm", estimand="ATT").fit(data, spec)
    assert_allclose(r.estimate, -1401.92, rtol=1e-4)
    assert r.estimand == "ATT"


def test_econml_lineardml_se_convention(data, spec):
    # REFERENCES.md pitfalls: econml's LinearDML SE = DoubleML's x sqrt(n / (n - 1)) = 1531.086
    r = _fixed(data, model="plr").fit(data, spec)
    n = len(data)
    assert_allclose(r.se * np.sqrt(n / (n - 1)), 1531.086, rtol=1e-5)


def test_naive_difference_in_means(data):
    # REFERENCES.md: naive difference 19,559.34; DML must move far away from it
    diff = data.loc[data.e401 == 1, "net_tfa"].mean() - data.loc[data.e401 == 0, "net_tfa"].mean()
    assert_allclose(diff, 19559.34, rtol=1e-6)


@pytest.mark.slow
def test_plr_random_forest_range(data, spec):
    # Chernozhukov et al. (2018): PLR with random forests lands in 8,600-9,300 (SE about 1,300).
    # 100 trees (min 5 rows per leaf, sqrt features) keep the test fast; seed 1 gives about 8,790.
    from sklearn.ensemble import RandomForestRegressor

    rf = RandomForestRegressor(n_estimators=100, min_samples_leaf=5, max_features="sqrt", random_state=1, n_jobs=2)
    r = DML(model="plr", learner_y=rf, learner_d=rf, refute=False).fit(data, spec.update(seed=1))
    assert 8600 <= r.estimate <= 9300
    assert 1100 <= r.se <= 1500


def test_plr_matches_econml_lineardml_on_same_folds(data, spec):
    # independent implementation: econml LinearDML with the same folds and OLS first stages
    # gives the same theta and DoubleML's SE x sqrt(n / (n - 1)) (REFERENCES.md pitfalls)
    from econml.dml import LinearDML
    from sklearn.linear_model import LinearRegression

    n = len(data)
    folds = np.arange(n) % 5
    smpls = [(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in range(5)]
    est = LinearDML(model_y=LinearRegression(), model_t=LinearRegression(), cv=smpls, random_state=0)
    est.fit(data["net_tfa"].to_numpy(float), data["e401"].to_numpy(float), X=None, W=data[X401].to_numpy(float))
    ours = _fixed(data, model="plr").fit(data, spec)
    assert_allclose(ours.estimate, float(np.ravel(est.intercept_)[0]), rtol=1e-8)
    se_econml = float(np.ravel(est.const_marginal_effect_inference().stderr)[0])
    assert_allclose(ours.se * np.sqrt(n / (n - 1)), se_econml, rtol=1e-6)
