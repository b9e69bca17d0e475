"""Surrogate index on the simulated GAIN Riverside data against the published replication values.

Source of every constant below: the public replication package of Athey, Chetty, Imbens and Kang
(2019), "The Surrogate Index" (simulated Riverside GAIN experiment, 5,445 people). Recipe of record
(the paper's validation exercise): OLS of the long-term outcome (mean employment over 36 quarters)
on the surrogates with an intercept in the treated arm (the "observational" sample), the index
predicted for everyone, then OLS of the index on treatment with the conventional SE.
Tolerance: 1e-6 relative for estimates, 1e-4 relative for standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import causal_kit as ck

RTOL, SE_RTOL = 1e-6, 1e-4

INDEX_6 = 0.07482348
INDEX_6_SE = 0.00693783  # conditional on the fitted index
NAIVE_6 = 0.13323602
NAIVE_6_SE = 0.01169365
EXPERIMENTAL = 0.06200389
EXPERIMENTAL_SE = 0.01059421
INDEX_Q = {1: 0.01547248, 4: 0.05793122, 8: 0.07634268, 12: 0.07885930}
PROJECTION = {12: 0.11321037, 24: 0.08915079}
PROJECTION_EXPERIMENTAL = {12: 0.11774389, 24: 0.08963036}
WEIGHTS = [0.129790, 0.075371, 0.017841, 0.081227, 0.060743, 0.097008, 0.227630]
BIAS_BOUND = {0.01: 0.05871517, 0.05: 0.13129112}


def _gain():
    df = ck.datasets.load("gain_riverside")
    emp = df[[f"emp{q}" for q in range(1, 37)]]
    return df.assign(
        emp_mean36=emp.mean(axis=1),
        emp_mean12=emp.iloc[:, :12].mean(axis=1),
        emp_mean24=emp.iloc[:, :24].mean(axis=1),
    )


def _fit(n_quarters: int, **options):
    df = _gain()
    spec = ck.ExperimentSpec(
        name="gain", design="surrogate", treatment="treatment",
        surrogates=[f"emp{q}" for q in range(1, n_quarters + 1)], long_term_outcome="emp_mean36",
    )
    return ck.estimate({"experiment": df, "observational": df[df["treatment"] == 1]}, spec, **options)


@pytest.fixture(scope="module")
def six():
    return _fit(6, horizons={12: "emp_mean12", 24: "emp_mean24"})


def test_index_six_quarters(six):
    assert six.estimate == pytest.approx(INDEX_6, rel=RTOL)
    inf = six.tables["inference"].set_index("se_type")["se"]
    assert inf["conditional on the index, classical OLS"] == pytest.approx(INDEX_6_SE, rel=SE_RTOL)
    # the headline SE accounts for the estimated index and says so
    assert six.se == pytest.approx(inf["accounting for the index: influence function"])
    assert "accounts for the estimated index" in six.inference


def test_naive_and_experimental(six):
    naive = six.tables["surrogate_effects"].set_index("surrogate").loc["mean of the surrogates"]
    assert naive["effect"] == pytest.approx(NAIVE_6, rel=RTOL)
    assert naive["se_classical"] == pytest.approx(NAIVE_6_SE, rel=SE_RTOL)
    val = six.tables["validation"].iloc[0]
    assert val["estimate"] == pytest.approx(EXPERIMENTAL, rel=RTOL)
    assert val["se_classical"] == pytest.approx(EXPERIMENTAL_SE, rel=SE_RTOL)
    diff = six.tables["validation"].iloc[2]
    assert diff["estimate"] == pytest.approx(INDEX_6 - EXPERIMENTAL, rel=1e-5)


def test_index_weights(six):
    w = six.tables["index_weights"]["weight"].to_numpy()
    np.testing.assert_allclose(w, WEIGHTS, atol=5e-7)  # published to 6 decimals


def test_projections(six):
    proj = six.tables["projections"].set_index("horizon")
    for h, value in PROJECTION.items():
        assert proj.loc[h, "estimate"] == pytest.approx(value, rel=RTOL)
        assert proj.loc[h, "experimental"] == pytest.approx(PROJECTION_EXPERIMENTAL[h], rel=RTOL)


def test_bias_bounds(six):
    bounds = six.tables["bias_bounds"].set_index("k")["bound"]
    for k, value in BIAS_BOUND.items():
        assert bounds[k] == pytest.approx(value, rel=RTOL)
    assert six.diagnostic("surrogacy_bias_bound_1pct").status == "pass"
    assert six.diagnostic("surrogacy_bias_bound_5pct").status == "warn"


def test_index_with_q_quarters():
    path = _fit(12).tables["surrogate_path"].set_index("q")["estimate"]
    for q, value in INDEX_Q.items():
        assert path[q] == pytest.approx(value, rel=RTOL)
    assert path[6] == pytest.approx(INDEX_6, rel=RTOL)


def test_bootstrap_se_near_influence_se(six):
    boot = _fit(6, se="bootstrap", n_boot=400)
    assert boot.estimate == pytest.approx(INDEX_6, rel=RTOL)
    # 400 draws: the bootstrap SE's own Monte Carlo error is about 3.5%
    assert boot.se == pytest.approx(six.se, rel=0.12)
    assert "bootstrap over both samples" in boot.inference
