"""IV estimator against published reference values (REFERENCES.md, "IV: Card (1995)").

Model: lwage ~ educ + exper + expersq + black + smsa + south + smsa66 + reg662..reg669, educ
instrumented by nearc4 (Wooldridge, Example 15.4), n = 3010; over-identified with nearc2 and
nearc4. Sources: linearmodels 7.1, R AER ``ivreg`` and R estimatr ``iv_robust``, which agree.
SE conventions are stated per value: "n" divides by n (linearmodels / Stata ``ivregress``
default, ``debiased=False``), "n - k" is AER / Stata ``small`` (``debiased=True``).
Tolerances: rtol 1e-4 for point estimates and test statistics, 1e-3 for SEs, unless stated.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import causal_kit as ck

CARD_X = ["exper", "expersq", "black", "smsa", "south", "smsa66"] + [f"reg66{i}" for i in range(2, 10)]
PT, SE = 1e-4, 1e-3


def _spec(instruments=("nearc4",)):
    return ck.ExperimentSpec(name="card", design="iv", outcome="lwage", endogenous=["educ"],
                             instruments=list(instruments), covariates=CARD_X)


@pytest.fixture(scope="module")
def card():
    return ck.datasets.load("card")


@pytest.fixture(scope="module")
def just(card):
    return ck.estimate(card, _spec(), vcov="unadjusted")


@pytest.fixture(scope="module")
def over(card):
    return ck.estimate(card, _spec(("nearc2", "nearc4")), vcov="unadjusted")


def test_just_identified_estimates(just, card):
    # REFERENCES.md Card table: 2SLS 0.131504, SE 0.054817 (unadjusted, n divisor)
    assert_allclose(just.estimate, 0.131504, rtol=PT)
    assert_allclose(just.se, 0.054817, rtol=SE)
    assert just.details["se_divisor"] == "n"
    # OLS 0.074693 (SE 0.003498) and first-stage nearc4 coefficient 0.319899
    assert_allclose(just.details["ols_estimate"], 0.074693, rtol=PT)
    assert_allclose(just.details["ols_se"], 0.003498, rtol=SE)
    assert_allclose(just.details["first_stage_coef"], 0.319899, rtol=PT)


def test_se_conventions(card):
    # HC0 0.054000 (robust, n divisor); Stata `small` / AER 0.054964 (unadjusted, n - k)
    robust = ck.estimate(card, _spec(), vcov="robust")
    assert_allclose(robust.se, 0.054000, rtol=SE)
    small = ck.estimate(card, _spec(), vcov="unadjusted", debiased=True)
    assert_allclose(small.se, 0.054964, rtol=SE)
    assert small.details["se_divisor"] == "n - k" and "n - k divisor" in small.inference


def test_first_stage_strength(just):
    d = just.details
    # first-stage F 13.3266 with the n divisor (linearmodels, labelled F(1, 2994)); the classical
    # n - k version is 13.3266 * 2994 / 3010 = 13.2558 (AER, Stata), REFERENCES.md pitfalls
    assert_allclose(d["first_stage_f_n"], 13.3266, rtol=PT)
    assert_allclose(d["first_stage_f"], 13.3266 * 2994 / 3010, rtol=PT)
    assert d["first_stage_df"] == [1, 2994]
    assert_allclose(d["partial_r2"], 0.004408, rtol=2e-4)  # 4 published digits
    # robust F (HC0 Wald chi2(1)) 14.2142 and Kleibergen-Paap rk F 14.1387
    assert_allclose(d["robust_f"], 14.2142, rtol=PT)
    assert_allclose(d["kp_f"], 14.1387, rtol=PT)
    # Montiel Olea-Pflueger: one instrument -> effective F = robust F, critical value 23.1 (tau=10%)
    assert_allclose(d["effective_f"], d["robust_f"], rtol=1e-12)
    assert_allclose(d["effective_f_crit"], 23.1085, rtol=PT)
    assert just.diagnostic("effective_f").status == "warn"
    assert just.diagnostic("overidentification").status == "not_applicable"


def test_endogeneity(just):
    # Wu-Hausman F = 1.167645 (p 0.279973); Durbin chi2 = 1.173820 (p 0.278618)
    t = just.tables["tests"].set_index("test")
    assert_allclose(t.loc["wu_hausman", ["statistic", "p_value"]].astype(float), [1.167645, 0.279973], rtol=PT)
    assert_allclose(t.loc["durbin", ["statistic", "p_value"]].astype(float), [1.173820, 0.278618], rtol=PT)


def test_anderson_rubin_sets(just, card):
    # Homoskedastic F version [0.024805, 0.284824]; HC0 Wald chi2 version [0.028485, 0.280505]
    assert just.details["ar_set_type"] == "bounded"
    assert_allclose(just.details["ar_intervals"][0], [0.024805, 0.284824], rtol=PT)
    robust = ck.estimate(card, _spec(), vcov="robust")
    assert robust.details["ar_kind"] == "chi2"
    assert_allclose(robust.details["ar_intervals"][0], [0.028485, 0.280505], rtol=PT)


def test_over_identified(over):
    # 2SLS 0.157059, SE 0.052438 (n); first-stage F 7.9379 (n) / 7.893096 on F(2, 2993) (n - k)
    d = over.details
    assert_allclose(over.estimate, 0.157059, rtol=PT)
    assert_allclose(over.se, 0.052438, rtol=SE)
    assert_allclose(d["first_stage_f_n"], 7.9379, rtol=PT)
    assert_allclose(d["first_stage_f"], 7.893096, rtol=PT)
    assert d["first_stage_df"] == [2, 2993]
    t = over.tables["tests"].set_index("test")
    # Wu-Hausman 2.925645 (p 0.087286); Sargan 1.248153 (p 0.263905); Basmann 1.241619;
    # robust score over-identification test 1.268911 (p 0.259971)
    assert_allclose(t.loc["wu_hausman", ["statistic", "p_value"]].astype(float), [2.925645, 0.087286], rtol=PT)
    assert_allclose(t.loc["sargan", ["statistic", "p_value"]].astype(float), [1.248153, 0.263905], rtol=PT)
    assert_allclose(t.loc["basmann", "statistic"], 1.241619, rtol=PT)
    assert_allclose(t.loc["overid_score_robust", ["statistic", "p_value"]].astype(float), [1.268911, 0.259971], rtol=PT)
    # Anderson-Rubin 95% CI [0.053600, 0.361981] (homoskedastic F)
    assert_allclose(d["ar_intervals"][0], [0.053600, 0.361981], rtol=PT)
    assert over.diagnostic("overidentification").status == "pass"


def test_over_identified_small_and_liml(card):
    # SE (n - k) 0.052578; LIML 0.164028 (SE 0.055347), kappa 1.00040943
    small = ck.estimate(card, _spec(("nearc2", "nearc4")), vcov="unadjusted", debiased=True)
    assert_allclose(small.se, 0.052578, rtol=SE)
    liml = ck.estimate(card, _spec(("nearc2", "nearc4")), vcov="unadjusted", method="liml")
    assert_allclose(liml.estimate, 0.164028, rtol=PT)
    assert_allclose(liml.se, 0.055347, rtol=SE)
    assert_allclose(liml.details["kappa"], 1.00040943, rtol=1e-7)


def test_diagnostics_match_linearmodels_and_statsmodels(card):
    """Our cross-product diagnostics equal linearmodels' tests and a statsmodels HC0 Wald test on Card."""
    import statsmodels.api as sm
    from linearmodels.iv import IV2SLS

    df = card.assign(const=1.0)
    res = IV2SLS(df["lwage"], df[["const", *CARD_X]], df[["educ"]], df[["nearc2", "nearc4"]]).fit(
        cov_type="unadjusted")
    ours = ck.estimate(card, _spec(("nearc2", "nearc4")), vcov="unadjusted")
    assert_allclose(ours.details["durbin"], res.durbin().stat, rtol=1e-8)
    assert_allclose(ours.details["wu_hausman"], res.wu_hausman().stat, rtol=1e-8)
    assert_allclose(ours.details["sargan"], res.sargan.stat, rtol=1e-8)
    assert_allclose(ours.details["basmann"], res.basmann.stat, rtol=1e-8)
    assert_allclose(ours.details["overid_score"], res.wooldridge_overid.stat, rtol=1e-8)
    # robust first-stage F: HC0 Wald chi2(2) of both instruments in the first stage, divided by 2
    # (linearmodels' robust "f.stat" column holds the undivided chi2, REFERENCES.md pitfall)
    fs = sm.OLS(df["educ"], df[["const", *CARD_X, "nearc2", "nearc4"]]).fit(cov_type="HC0")
    wald = float(np.squeeze(fs.wald_test("nearc2 = 0, nearc4 = 0", use_f=False, scalar=True).statistic))
    ours_r = ck.estimate(card, _spec(("nearc2", "nearc4")), vcov="robust")
    assert_allclose(ours_r.details["robust_f"] * 2, wald, rtol=1e-8)
    assert ours_r.details["kp_rk_df"] == 2
