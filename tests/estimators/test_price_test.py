"""Price-test readout: an independent OLS, simulation coverage of the elasticity, convergence of
the recommended price to the oracle, and named errors."""

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_price_test
from causal_kit.datasets.price_test_sim import price_test_arrays
from causal_kit.errors import DataError, IdentificationError, SpecError
from causal_kit.estimators._price_core import best_relative_price, loglog_elasticity_batch
from causal_kit.estimators.price_test import PriceTest

SPEC = ck.ExperimentSpec(name="price", design="price_test", outcome="units", treatment="price", unit="product",
                         time="week")


def test_matches_statsmodels_dummy_ols_with_cluster_se():
    """Point estimate equals OLS with product and week dummies; statsmodels' CRV1 counts every
    dummy in k, fixest (and we) count only the non-nested week effects: the SEs differ by exactly
    sqrt((n - k_ours) / (n - k_statsmodels))."""
    import statsmodels.formula.api as smf

    df = simulate_price_test(n_products=40, n_periods=6, design="switch", seed=5)
    res = ck.estimate(df, SPEC)
    d = df.assign(lq=np.log(df.units), lp=np.log(df.price))
    ols = smf.ols("lq ~ lp + C(product) + C(week)", data=d).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["product"])[0]})
    assert res.estimate == pytest.approx(ols.params["lp"], abs=1e-10)
    n, k_sm, k_ours = len(d), len(ols.params), 1 + 5
    assert res.se == pytest.approx(ols.bse["lp"] * np.sqrt((n - k_sm) / (n - k_ours)), rel=1e-8)


def test_batch_core_equals_the_estimator():
    sims = price_test_arrays(n_products=30, n_periods=6, n_draws=2, seed=2)
    beta, se = loglog_elasticity_batch(np.log(sims["units"]), np.log(sims["price"]))
    for i in range(2):
        df = pd.DataFrame({"product": np.repeat(np.arange(30), 6), "week": np.tile(np.arange(6), 30),
                           "price": sims["price"][i].ravel(), "units": sims["units"][i].ravel()})
        res = PriceTest().fit(df, SPEC)
        assert res.estimate == pytest.approx(beta[i], abs=1e-10)
        assert res.se == pytest.approx(se[i], rel=1e-10)


@pytest.mark.parametrize("design", ["product", "switch"])
def test_elasticity_interval_covers_the_truth(design):
    """2,000 seeded tests of 50 products x 8 weeks with elasticity -1.8 (log-normal noise): the 95%
    t(G-1) interval covers -1.8 in 93.5-96.5% of them (MCSE 0.5 points); bias under 1% of the truth."""
    from scipy.stats import t

    reps, n = 2000, 50
    sims = price_test_arrays(n_products=n, n_periods=8, elasticity=-1.8, design=design, noise="lognormal",
                             sigma=0.2, n_draws=reps, seed=17)
    beta, se = loglog_elasticity_batch(np.log(sims["units"]), np.log(sims["price"]))
    crit = t.ppf(0.975, n - 1)
    cover = np.mean(np.abs(beta + 1.8) <= crit * se)
    assert 0.935 <= cover <= 0.965, cover
    assert abs(beta.mean() + 1.8) < 0.018


def test_recommended_price_converges_to_the_oracle():
    """Elasticity -2.5 and unit cost 63% of the base price: the oracle relative price is
    0.63 * 2.5 / 1.5 = 1.05, inside the tested 0.85-1.15. The recommendation's error shrinks with
    the number of products, and its interval (the image of the elasticity interval) covers the
    oracle in 93.5-96.5% of 1,000 seeded tests."""
    oracle = 0.63 * 2.5 / 1.5
    errors = []
    for n in (40, 2000):
        df = simulate_price_test(n_products=n, n_periods=8, elasticity=-2.5, arms=(0.85, 0.95, 1.05, 1.15),
                                 design="switch", noise="lognormal", seed=4)
        res = PriceTest(cost_share=0.63, reference="median").fit(df, SPEC)
        d = res.details
        lo, hi = d["recommended_relative_price_ci"]
        assert lo <= d["recommended_relative_price"] <= hi
        errors.append(abs(d["recommended_relative_price"] - oracle))
    assert errors[1] < 0.01 and errors[1] < errors[0] + 1e-9
    # and on average over many seeded tests (the batched core)
    from scipy.stats import t

    sims = price_test_arrays(n_products=200, n_periods=8, elasticity=-2.5, arms=(0.85, 0.95, 1.05, 1.15),
                             design="switch", noise="lognormal", n_draws=1000, seed=8)
    beta, se = loglog_elasticity_batch(np.log(sims["units"]), np.log(sims["price"]))
    crit = t.ppf(0.975, 199)
    args = (0.85, 1.15, sims["base_units"], sims["base_price"], 0.63 * sims["base_price"])
    rec = best_relative_price(beta, *args, n_grid=601)
    lo, hi = best_relative_price(beta - crit * se, *args, n_grid=601), best_relative_price(beta + crit * se, *args,
                                                                                          n_grid=601)
    assert abs(np.median(rec) - oracle) < 0.005
    cover = np.mean((lo <= oracle + 1e-9) & (oracle - 1e-9 <= hi))  # the oracle lies on the grid
    assert 0.935 <= cover <= 0.965, cover


def test_arm_effects_and_profit_curve():
    df = simulate_price_test(n_products=60, n_periods=8, elasticity=-1.8, seed=3)
    res = PriceTest(cost_share=0.6).fit(df, SPEC)
    arms = res.tables["arms"].set_index("relative_price")
    assert list(arms.index) == [0.9, 1.0, 1.1]
    # units fall with price; the modelled change at the reference arm is zero
    assert arms.loc[1.0, "units_change"] == 0
    assert arms.loc[1.1, "units_change_pct"] == pytest.approx(1.1 ** res.estimate - 1)
    assert arms.loc[0.9, "units_change_lo"] <= arms.loc[0.9, "units_change"] <= arms.loc[0.9, "units_change_hi"]
    curve = res.tables["profit_curve"]
    assert ((curve.profit_lo <= curve.profit + 1e-9) & (curve.profit <= curve.profit_hi + 1e-9)).all()
    assert {d.name for d in res.diagnostics} >= {"price_variation", "clusters", "optimum_inside_range"}
    # 0.6 * 1.8 / 0.8 = 1.35 lies above the tested range: flagged
    assert res.details["recommended_at_boundary"]
    diag = {d.name: d.status for d in res.diagnostics}
    assert diag["optimum_inside_range"] == "warn"


def test_named_errors():
    df = simulate_price_test(n_products=10, n_periods=6, seed=1)
    with pytest.raises(DataError, match="prices <= 0"):
        PriceTest().fit(df.assign(price=df.price.where(df.index != 3, 0.0)), SPEC)
    with pytest.raises(DataError, match="single price arm"):
        PriceTest().fit(df.assign(price=9.99), SPEC)
    with pytest.raises(DataError, match="units <= 0"):
        PriceTest().fit(df.assign(units=df.units.where(df.index != 5, 0.0)), SPEC)
    with pytest.raises(DataError, match="repeat a \\(product, week\\) pair"):
        PriceTest().fit(pd.concat([df, df.iloc[:2]], ignore_index=True), SPEC)
    const = df.assign(price=df.groupby("product")["price"].transform("first"))
    with pytest.raises(IdentificationError, match="no product's price changes"):
        PriceTest().fit(const, SPEC)
    with pytest.raises(SpecError, match="'unit_cost' or 'cost_share', not both"):
        PriceTest(unit_cost=1.0, cost_share=0.5).fit(df, SPEC)
    with pytest.raises(SpecError, match="'reference' parameter"):
        PriceTest(reference="last").fit(df, SPEC)
    with pytest.raises(DataError, match="column 'qty'"):
        ck.estimate(df, SPEC.update(outcome="qty"))
    with pytest.raises(SpecError, match="needs the role"):
        ck.ExperimentSpec(name="p", design="price_test", outcome="units", treatment="price", unit="product")


@pytest.mark.slow
def test_dml_robustness_recovers_the_elasticity_when_prices_track_a_covariate():
    """Prices were raised where a demand driver x was high (not randomised): the fixed-effects
    log-log estimate is biased; DML with x as a control recovers -2 within its interval."""
    rng = np.random.default_rng(11)
    n, t = 150, 10
    x = rng.normal(size=(n, t))
    log_p = np.log(20) + 0.08 * np.tanh(2 * x) + 0.04 * rng.normal(size=(n, t))
    log_q = 5 - 2.0 * (log_p - np.log(20)) + 0.3 * np.sin(2 * x) + 0.1 * rng.normal(size=(n, t))
    df = pd.DataFrame({"product": np.repeat(np.arange(n), t), "week": np.tile(np.arange(t), n),
                       "price": np.exp(log_p).ravel(), "units": np.exp(log_q).ravel(), "x": x.ravel()})
    spec = SPEC.update(covariates=["x"])
    res = PriceTest(dml=True).fit(df, spec)
    lo, hi = res.details["dml_elasticity_ci"]
    assert lo <= -2.0 <= hi
    assert not res.ci[0] <= -2.0 <= res.ci[1]  # the plain fixed-effects interval misses it
    assert {d.name: d.status for d in res.diagnostics}["dml_agreement"] == "warn"
    with pytest.raises(SpecError, match="needs spec.covariates"):
        PriceTest(dml=True).fit(df, SPEC)
