"""Oaxaca-Blinder: statsmodels to 1e-10, Stata's printed output, delta-method coverage, bootstrap, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal_kit.errors import DataError, SpecError
from causal_kit.explain import UnknownColumnError, oaxaca_blinder

COVS = ["AGE", "INCOME", "INCOMESQ"]


@pytest.fixture(scope="module")
def ccard():
    # Greene's credit-card expenditure data, bundled with statsmodels (a core dependency)
    from statsmodels.datasets.ccard.data import load_pandas

    return load_pandas()


def _sm(ccard, **kw):
    from statsmodels.stats.oaxaca import OaxacaBlinder
    from statsmodels.tools.tools import add_constant

    return OaxacaBlinder(ccard.endog, add_constant(ccard.exog, prepend=False), "OWNRENT", **kw)


def test_threefold_and_twofold_match_statsmodels(ccard):
    # statsmodels swaps so that its group A has the higher mean: owners (OWNRENT = 1)
    sm = _sm(ccard)
    e, c, i, gap = sm.three_fold().params
    d3 = oaxaca_blinder(ccard.data, outcome="AVGEXP", group="OWNRENT", covariates=COVS, before=0, after=1,
                        kind="threefold")
    np.testing.assert_allclose(d3.components["value"], [e, c, i], rtol=1e-10)
    assert d3.change == pytest.approx(gap, rel=1e-10)
    for ours, theirs in [("pooled", "pooled"), ("neumark", "nuemark"), ("reimers", "reimers")]:
        unexp, exp, _ = sm.two_fold(two_fold_type=theirs).params
        d2 = oaxaca_blinder(ccard.data, outcome="AVGEXP", group="OWNRENT", covariates=COVS, before=0, after=1,
                            reference=ours)
        np.testing.assert_allclose(d2.components["value"], [exp, unexp], rtol=1e-10)


def test_cotton_matches_statsmodels_without_swap(ccard):
    # statsmodels computes Cotton's group-size weights before its swap, so compare unswapped
    unexp, exp, _ = _sm(ccard, swap=False).two_fold(two_fold_type="cotton").params
    d = oaxaca_blinder(ccard.data, outcome="AVGEXP", group="OWNRENT", covariates=COVS, before=1, after=0,
                       reference="cotton")
    np.testing.assert_allclose(d.components["value"], [exp, unexp], rtol=1e-10)


def test_matches_stata_oaxaca_printed_output(ccard):
    # Stata `oaxaca` (Jann 2008) on the same data, as printed in statsmodels' test suite
    # (statsmodels/stats/tests/test_oaxaca.py): gap 158.7504; threefold 321.7482, 75.45371,
    # -238.4515; pooled twofold explained 130.8095, unexplained 27.94091. Tolerance: half a
    # unit in the last printed digit.
    d3 = oaxaca_blinder(ccard.data, outcome="AVGEXP", group="OWNRENT", covariates=COVS, before=0, after=1,
                        kind="threefold")
    d2 = oaxaca_blinder(ccard.data, outcome="AVGEXP", group="OWNRENT", covariates=COVS, before=0, after=1)
    assert d3.change == pytest.approx(158.7504, abs=5e-5)
    assert d3.value("endowments") == pytest.approx(321.7482, abs=5e-5)
    assert d3.value("coefficients") == pytest.approx(75.45371, abs=5e-6)
    assert d3.value("interaction") == pytest.approx(-238.4515, abs=5e-5)
    assert d2.value("explained") == pytest.approx(130.8095, abs=5e-5)
    assert d2.value("unexplained") == pytest.approx(27.94091, abs=5e-6)


def test_detail_rows_add_to_components_and_gap_is_exact(ccard):
    d = oaxaca_blinder(ccard.data, outcome="AVGEXP", group="OWNRENT", covariates=COVS, kind="threefold")
    for comp in ("endowments", "coefficients", "interaction"):
        assert d.tables["detail"][comp].sum() == pytest.approx(d.value(comp), rel=1e-12)
    assert d.residual() == pytest.approx(0.0, abs=1e-9)


def _simulate(rng, n):
    bA, bB = np.array([1.0, 0.5, 2.0]), np.array([0.5, 0.8, 1.0])
    mA, mB = np.array([1.0, 0.0]), np.array([0.5, 0.5])
    xa, xb = rng.normal(mA, 1, (n, 2)), rng.normal(mB, 1, (n, 2))
    ya = np.c_[xa, np.ones(n)] @ bA + rng.normal(size=n) * (1 + 0.5 * np.abs(xa[:, 0]))
    yb = np.c_[xb, np.ones(n)] @ bB + rng.normal(size=n)
    df = pd.DataFrame(np.r_[np.c_[xa, ya, np.ones(n)], np.c_[xb, yb, np.zeros(n)]], columns=["x1", "x2", "y", "g"])
    xa1, xb1 = np.r_[mA, 1.0], np.r_[mB, 1.0]
    truth = np.array([(xa1 - xb1) @ bB, xb1 @ (bA - bB), (xa1 - xb1) @ (bA - bB)])
    return df, truth


@pytest.mark.slow
def test_delta_method_intervals_cover_the_population_components():
    # 1,000 replications, n = 400 per group, heteroskedastic errors in group A.
    # MCSE of a 95% coverage at R = 1000 is 0.69 points.
    rng = np.random.default_rng(20)
    reps, hits, bias = 1000, np.zeros(3), np.zeros(3)
    for _ in range(reps):
        df, truth = _simulate(rng, 400)
        c = oaxaca_blinder(df, outcome="y", group="g", covariates=["x1", "x2"], kind="threefold").components
        hits += ((c["ci_low"] <= truth) & (truth <= c["ci_high"])).to_numpy()
        bias += (c["value"].to_numpy() - truth) / reps
    coverage = hits / reps
    assert np.all((coverage >= 0.935) & (coverage <= 0.965)), coverage
    assert np.all(np.abs(bias) < 0.02), bias


def test_bootstrap_and_delta_standard_errors_agree_in_a_large_sample():
    df, _ = _simulate(np.random.default_rng(5), 1500)
    delta = oaxaca_blinder(df, outcome="y", group="g", covariates=["x1", "x2"], kind="threefold")
    boot = oaxaca_blinder(df, outcome="y", group="g", covariates=["x1", "x2"], kind="threefold", se="bootstrap",
                          n_boot=300, seed=3)
    np.testing.assert_allclose(boot.components["value"], delta.components["value"], rtol=1e-12)
    np.testing.assert_allclose(boot.components["se"], delta.components["se"], rtol=0.15)
    again = oaxaca_blinder(df, outcome="y", group="g", covariates=["x1", "x2"], kind="threefold", se="bootstrap",
                           n_boot=300, seed=3)
    pd.testing.assert_frame_equal(again.components, boot.components)


def test_bad_inputs_are_named(ccard):
    df = ccard.data.assign(AGE2=lambda d: d.AGE * 2)
    with pytest.raises(DataError, match=r"covariates are collinear"):
        oaxaca_blinder(df, outcome="AVGEXP", group="OWNRENT", covariates=["AGE", "AGE2"])
    with pytest.raises(UnknownColumnError, match=r"not in the data: 'EDUC'"):
        oaxaca_blinder(df, outcome="AVGEXP", group="OWNRENT", covariates=["AGE", "EDUC"])
    with pytest.raises(DataError, match=r"column 'lab' must be numeric .*get_dummies"):
        oaxaca_blinder(df.assign(lab="x"), outcome="AVGEXP", group="OWNRENT", covariates=["lab"])
    with pytest.raises(SpecError, match=r"'reference' parameter .* Got 'oaxaca'"):
        oaxaca_blinder(df, outcome="AVGEXP", group="OWNRENT", covariates=["AGE"], reference="oaxaca")
    with pytest.raises(DataError, match=r"1 row\(s\) of group .* missing"):
        oaxaca_blinder(df.assign(AGE=df.AGE.where(df.index != 0)), outcome="AVGEXP", group="OWNRENT",
                       covariates=["AGE"])


def test_pooled_explained_part_is_gelbachs_decomposition_of_the_group_coefficient(ccard):
    # Gelbach (2016): adding X to y ~ 1 + g moves the coefficient on g by sum_k Gamma_k beta_k, where
    # Gamma_k is the coefficient on g in X_k ~ 1 + g (the mean difference) and beta_k is X_k's coefficient
    # in the full model. With a group dummy this is the pooled twofold's explained part, term by term.
    import statsmodels.api as sm

    df = ccard.data
    g = df["OWNRENT"].to_numpy()
    y = df["AVGEXP"].to_numpy()
    base = np.asarray(sm.OLS(y, sm.add_constant(g)).fit().params)[1]
    full = np.asarray(sm.OLS(y, sm.add_constant(np.column_stack([g, df[COVS].to_numpy()]))).fit().params)
    gamma = np.array([np.asarray(sm.OLS(df[c].to_numpy(), sm.add_constant(g)).fit().params)[1] for c in COVS])
    d = oaxaca_blinder(df, outcome="AVGEXP", group="OWNRENT", covariates=COVS, before=0, after=1)
    assert d.value("explained") == pytest.approx(base - full[1], rel=1e-10)
    detail = d.tables["detail"].set_index("covariate")["explained"]
    np.testing.assert_allclose(detail[COVS].to_numpy(), gamma * full[2:], rtol=1e-10)
