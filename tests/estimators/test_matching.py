"""IPW and propensity-score matching: hand computations, simulations and named errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from _fixed_learners import FixedPropensity

import causal_kit as ck
from causal_kit.errors import SpecError
from causal_kit.estimators.matching import IPW, PropensityMatching

X401 = ["age", "inc", "educ", "fsize", "marr", "twoearn", "db", "pira", "hown"]


def simulate(n=3000, seed=0, effect=2.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    m = 1 / (1 + np.exp(-(0.8 * X[:, 0] - 0.4 * X[:, 1])))
    d = (rng.random(n) < m).astype(float)
    y = X[:, 0] + X[:, 1] + effect * d + rng.normal(size=n)
    return pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "d": d, "y": y})


def spec_for(**kw):
    base = dict(name="m", design="dml", outcome="y", treatment="d", covariates=["x0", "x1"])
    base.update(kw)
    return ck.ExperimentSpec(**base)


@pytest.fixture(scope="module")
def sipp():
    return ck.datasets.load("sipp401k")


def test_hajek_ipw_matches_statsmodels_logit(sipp):
    # independent computation: statsmodels' unpenalised Logit MLE, then Hajek weighted means
    spec = ck.ExperimentSpec(name="x", design="dml", outcome="net_tfa", treatment="e401", covariates=X401)
    r = IPW(trim=0.01).fit(sipp, spec)
    A = sm.add_constant(sipp[X401].to_numpy(float))
    m = np.clip(sm.Logit(sipp.e401.to_numpy(), A).fit(disp=0, method="newton", tol=1e-12).predict(A), 0.01, 0.99)
    d, y = sipp.e401.to_numpy(float), sipp.net_tfa.to_numpy(float)
    expected = np.sum(d * y / m) / np.sum(d / m) - np.sum((1 - d) * y / (1 - m)) / np.sum((1 - d) / (1 - m))
    assert r.estimate == pytest.approx(expected, rel=1e-6)
    att = IPW(estimand="ATT").fit(sipp, spec)
    w0 = (1 - d) * m / (1 - m)
    assert att.estimate == pytest.approx(y[d == 1].mean() - np.sum(w0 * y) / np.sum(w0), rel=1e-6)


@pytest.mark.parametrize("normalize", [True, False])
def test_ipw_recovers_known_effect(normalize):
    r = IPW(normalize=normalize).fit(simulate(), spec_for())
    assert abs(r.estimate - 2.0) < 4 * r.se
    assert r.diagnostic("overlap").assumption == "overlap"
    assert r.diagnostic("balance").status == "pass"


def test_matching_by_hand():
    # propensities given directly; 1-NN on the logit with replacement, no caliper
    df = pd.DataFrame({"p": [0.2, 0.6, 0.21, 0.55, 0.9], "d": [1, 1, 0, 0, 0], "y": [5.0, 9.0, 1.0, 4.0, 100.0]})
    spec = ck.ExperimentSpec(name="h", design="dml", outcome="y", treatment="d", covariates=["p"])
    r = PropensityMatching(propensity=FixedPropensity(), caliper=None).fit(df, spec)
    assert r.estimate == pytest.approx(((5 - 1) + (9 - 4)) / 2)
    assert r.details["n_matched"] == 2 and r.details["n_unmatched"] == 0


def test_caliper_excludes_and_reports():
    df = pd.DataFrame({"p": [0.2, 0.95, 0.21, 0.3, 0.25], "d": [1, 1, 0, 0, 0], "y": [5.0, 9.0, 1.0, 4.0, 2.0]})
    spec = ck.ExperimentSpec(name="h", design="dml", outcome="y", treatment="d", covariates=["p"])
    r = PropensityMatching(propensity=FixedPropensity(), caliper=0.2).fit(df, spec)
    assert r.details["n_unmatched"] == 1
    assert r.estimate == pytest.approx(4.0)
    assert "1 of 2 units" in r.diagnostic("caliper_unmatched").message


@pytest.mark.parametrize("estimand", ["ATT", "ATE"])
def test_matching_recovers_known_effect(estimand):
    r = PropensityMatching(estimand=estimand, n_neighbors=2).fit(simulate(seed=3), spec_for())
    assert abs(r.estimate - 2.0) < 4 * r.se
    assert 0.02 < r.se < 0.2


def test_named_errors():
    df = simulate(400)
    df["dc"] = df["d"] + 0.5 * df["x0"]
    with pytest.raises(SpecError, match="IPW needs a binary 0/1 treatment"):
        IPW().fit(df, spec_for(treatment="dc"))
    with pytest.raises(SpecError, match="'caliper' parameter of PropensityMatching must be a positive"):
        PropensityMatching(caliper=-1).fit(df, spec_for())
    with pytest.raises(SpecError, match="'estimand' parameter of IPW"):
        IPW(estimand="LATE").fit(df, spec_for())
    df["w"] = 1.0
    with pytest.raises(SpecError, match="does not support spec.weights"):
        PropensityMatching().fit(df, spec_for(weights="w"))
