"""DML: behaviour, named errors, options, heterogeneity, and simulations with known effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.errors import DataError, IdentificationError, SpecError
from causal_kit.estimators import _crossfit as cf
from causal_kit.estimators import _heterogeneity as het
from causal_kit.estimators.dml import DML

FAST = dict(learner_y="linear", learner_d="linear", refute=False)


def simulate(n=2000, seed=0, heterogeneous=True, continuous=False):
    """y = X0 + 0.5 X1 + tau(X) d + e with tau = 1 + X0 (or 1); logistic propensity."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    if continuous:
        d = 0.5 * X[:, 0] + rng.normal(size=n)
        tau = np.full(n, 2.0)
    else:
        m = 1 / (1 + np.exp(-(0.5 * X[:, 0] - 0.5 * X[:, 1])))
        d = (rng.random(n) < m).astype(float)
        tau = 1 + X[:, 0] if heterogeneous else np.ones(n)
    y = X[:, 0] + 0.5 * X[:, 1] + tau * d + rng.normal(size=n)
    df = pd.DataFrame(X, columns=["x0", "x1", "x2"])
    df["d"], df["y"] = d, y
    df["seg"] = (X[:, 0] > 0).astype(int)
    df["g"] = rng.integers(0, 40, n)
    return df


def spec_for(**kw):
    base = dict(name="sim", design="dml", outcome="y", treatment="d", covariates=["x0", "x1", "x2"])
    base.update(kw)
    return ck.ExperimentSpec(**base)


# ------------------------------------------------------------------ errors
def test_treatment_without_variation_is_named():
    df = simulate(300)
    df["d"] = 1.0
    with pytest.raises(DataError, match=r"'d' \(spec.treatment\) has no variation"):
        DML(**FAST).fit(df, spec_for())


def test_perfect_separation_is_named():
    df = simulate(600)
    df["seg"] = (np.arange(600) % 3 == 0).astype(int)
    df.loc[df.seg == 1, "d"] = 1.0
    with pytest.raises(IdentificationError, match=r"perfect separation: all 200 rows with seg=1"):
        DML(**FAST).fit(df, spec_for(covariates=["x0", "x1", "seg"]))


def test_non_numeric_feature_is_named():
    df = simulate(300)
    df["x2"] = np.where(df.x2 > 0, "high", "low")
    with pytest.raises(DataError, match=r"'x2' \(spec.covariates\[2\]\) must be numeric.*Encode it"):
        DML(**FAST).fit(df, spec_for())


def test_nan_in_features_is_named():
    df = simulate(300)
    df.loc[[3, 7], "x1"] = np.nan
    with pytest.raises(DataError, match=r"'x1' \(spec.covariates\[1\]\) has 2 missing values"):
        DML(**FAST).fit(df, spec_for())


def test_nan_dropped_on_request_is_counted():
    df = simulate(300)
    df.loc[[3, 7], "x1"] = np.nan
    with pytest.warns(ck.errors.RowsDroppedWarning, match="dropped 2 of 300"):
        r = DML(**FAST).fit(df, spec_for(na_action="drop"))
    assert r.n_dropped == 2 and r.n_obs == 298


@pytest.mark.parametrize(
    "kw, pattern",
    [
        (dict(model="ols"), r"'model' parameter of DML must be one of 'plr', 'irm'"),
        (dict(estimand="ATC"), r"'estimand' parameter of DML"),
        (dict(n_folds=1), r"'n_folds' parameter of DML must be an int >= 2"),
        (dict(trim=0.6), r"'trim' parameter of DML must be a float in \(0, 0.5\)"),
        (dict(cate="tree"), r"'cate' parameter of DML"),
        (dict(learner_y="xgb"), r"'learner_y' parameter of DML must be one of 'hgb', 'linear', 'forest'"),
        (dict(folds=[0, 1]), r"'folds' parameter of DML must be an array of 300"),
    ],
)
def test_bad_options(kw, pattern):
    with pytest.raises(SpecError, match=pattern):
        DML(**{**FAST, **kw}).fit(simulate(300), spec_for())


def test_irm_needs_binary_treatment():
    with pytest.raises(SpecError, match="model='irm' needs a binary 0/1 treatment"):
        DML(model="irm", **FAST).fit(simulate(300, continuous=True), spec_for())


# ------------------------------------------------------------------ behaviour
def test_continuous_treatment_defaults_to_plr():
    r = DML(**FAST).fit(simulate(3000, continuous=True), spec_for())
    assert r.details["model"] == "plr" and r.details["treatment_type"] == "continuous"
    assert abs(r.estimate - 2.0) < 4 * r.se
    assert r.diagnostic("treatment_model_fit").assumption == "fit"


def test_binary_defaults_to_irm_with_diagnostics():
    df = simulate(2000)
    before = df.copy()
    r = DML(learner_y="linear", learner_d="linear").fit(df, spec_for())
    pd.testing.assert_frame_equal(df, before)
    assert r.details["model"] == "irm" and r.estimand == "ATE"
    names = {d.name for d in r.diagnostics}
    assert {"overlap", "balance", "outcome_model_fit", "treatment_model_fit", "omitted_variable_bias",
            "refute_placebo_treatment", "refute_random_common_cause", "refute_data_subset"} <= names
    assert r.diagnostic("overlap").assumption == "overlap"
    assert r.diagnostic("balance").assumption == "balance"
    assert r.diagnostic("omitted_variable_bias").assumption == "sensitivity"
    placebo = r.tables["refutation"].iloc[0]
    assert placebo["refuter"] == "placebo_treatment"
    assert abs(placebo["new_estimate"] / placebo["new_se"]) < 3
    assert "trimmed" in r.diagnostic("overlap").message


def test_trimming_is_reported():
    df = simulate(1000)
    df["x0"] = df["x0"] * 6  # strong selection -> extreme propensities
    df["d"] = (np.random.default_rng(3).random(1000) < 1 / (1 + np.exp(-df.x0))).astype(float)
    r = DML(**FAST).fit(df, spec_for())
    assert r.details["n_trimmed"] > 0
    assert f"{r.details['n_trimmed']} of 1000 rows" in r.diagnostic("overlap").message
    assert r.diagnostic("overlap").status in ("warn", "fail")


def test_repetitions_use_median_rule():
    r = DML(n_rep=3, **FAST).fit(simulate(800), spec_for())
    reps = r.tables["repetitions"]
    assert len(reps) == 3
    theta, se = cf.aggregate_repetitions(reps["estimate"], reps["se"])
    assert r.estimate == pytest.approx(theta) and r.se == pytest.approx(se)
    assert r.estimate == pytest.approx(np.median(reps["estimate"]))


def test_aggregate_repetitions_formula():
    theta, se = cf.aggregate_repetitions(np.array([1.0, 2.0, 4.0]), np.array([1.0, 1.0, 1.0]))
    assert theta == 2.0
    assert se == pytest.approx((np.median([2.96, 3.96, 5.96]) - 2.0) / 1.96)


def test_cluster_robust_se_and_folds_keep_clusters():
    # treatment assigned by cluster and a cluster shock in the outcome: iid SEs are too small
    df = simulate(2000)
    rng = np.random.default_rng(5)
    shock, arm = rng.normal(size=40), rng.random(40) < 0.5
    df["d"] = arm[df["g"]].astype(float)
    df["y"] = df["x0"] + df["d"] + 2 * shock[df["g"]] + rng.normal(size=2000)
    plain = DML(**FAST).fit(df, spec_for())
    clus = DML(**FAST).fit(df, spec_for(cluster="g"))
    assert clus.se > 2 * plain.se
    assert clus.n_units == 40 and "cluster-robust" in clus.inference
    folds = cf.make_folds(len(df), 5, np.random.default_rng(0), df["g"].to_numpy())
    assert pd.Series(folds).groupby(df["g"]).nunique().max() == 1


def test_integer_weights_equal_duplicated_rows():
    df = simulate(500)
    base_folds = np.arange(500) % 5
    df["w"] = np.where(np.arange(500) < 100, 2.0, 1.0)
    weighted = DML(model="plr", folds=base_folds, **FAST).fit(df, spec_for(weights="w"))
    dup = pd.concat([df, df.iloc[:100]], ignore_index=True)
    dup_folds = np.concatenate([base_folds, base_folds[:100]])
    duplicated = DML(model="plr", folds=dup_folds, **FAST).fit(dup, spec_for())
    assert weighted.estimate == pytest.approx(duplicated.estimate, rel=1e-8)


def test_sklearn_estimators_as_learners():
    from sklearn.linear_model import LinearRegression, LogisticRegression

    df = simulate(800)
    r = DML(learner_y=LinearRegression(), learner_d=LogisticRegression(), refute=False).fit(df, spec_for())
    assert r.details["learner_y"] == "LinearRegression" and abs(r.estimate - 1.0) < 4 * r.se


def test_dr_learner_heterogeneity_segments_and_plots():
    df = simulate(3000)
    r = DML(cate="dr_learner", segments=["seg"], **FAST).fit(df, spec_for())
    blp = r.tables["blp"]
    assert blp.loc[1, "estimate"] == pytest.approx(1.0, abs=0.35) and blp.loc[1, "p_value"] < 0.01
    gates = r.tables["gates"]
    assert list(gates["group"]) == [1, 2, 3, 4, 5]
    assert gates["estimate"].iloc[-1] > gates["estimate"].iloc[0]
    seg = r.tables["segments"]
    hi, lo = seg.loc[seg.level == "1", "estimate"].item(), seg.loc[seg.level == "0", "estimate"].item()
    assert hi - lo > 1.0  # E[tau | x0 > 0] - E[tau | x0 < 0] = 2 * 0.798
    assert r.diagnostic("heterogeneity").p_value < 0.01
    again = ck.EffectEstimate.from_json(r.to_json())
    for kind in r.plot_kinds():
        assert len(again.plot(kind).data) > 0


def test_segments_on_continuous_treatment_are_not_applicable():
    r = DML(segments=["seg"], **FAST).fit(simulate(500, continuous=True), spec_for())
    assert r.diagnostic("heterogeneity").status == "not_applicable"


@pytest.mark.slow
def test_causal_forest_cate():
    df = simulate(1000)
    r = DML(cate="causal_forest", **FAST).fit(df, spec_for())
    assert r.details["cate_model"] == "causal_forest"
    assert abs(r.details["causal_forest_ate"] - 1.0) < 0.3
    assert 0 < r.details["causal_forest_ate_se"] < 0.5
    assert np.corrcoef(r.tables["cate"]["cate"], r.tables["cate"]["x0"])[0, 1] > 0.5


# ------------------------------------------------------------------ simulations
def _draw(rng, n, heterogeneous):
    X = rng.normal(size=(n, 2))
    m = 1 / (1 + np.exp(-(0.5 * X[:, 0] - 0.5 * X[:, 1])))
    d = (rng.random(n) < m).astype(float)
    tau = 1 + X[:, 0] if heterogeneous else np.ones(n)
    return X, X[:, 0] + 0.5 * X[:, 1] + tau * d + rng.normal(size=n), d


LIN_Y = cf.resolve_learner("linear", False, 0, "DML", "learner_y")
LIN_D = cf.resolve_learner("linear", True, 0, "DML", "learner_d")


def _irm_core(X, y, d, folds):
    nuis = cf.fit_nuisances(X, y, d, folds, 5, LIN_Y, LIN_D, binary=True, need=("m", "g0", "g1"))
    m = np.clip(nuis["m"], 0.01, 0.99)
    return cf.solve_score(*cf.irm_score(y, d, nuis, m, "ATE")), nuis, m


def test_ate_ci_coverage_with_heterogeneous_effect():
    # 1,000 draws of n = 400 with correctly specified (linear / logistic) nuisances through the
    # estimator's own core; true ATE = 1. Binomial MCSE of the coverage is 0.69 points, so the
    # 93.5-96.5% band is about +-2.2 MCSE around 95%.
    rng = np.random.default_rng(20240601)
    hits = []
    for _ in range(1000):
        X, y, d = _draw(rng, 400, heterogeneous=True)
        fit, _, _ = _irm_core(X, y, d, cf.make_folds(400, 5, rng))
        hits.append(abs(fit.theta - 1.0) <= 1.959964 * fit.se)
    assert 0.935 <= np.mean(hits) <= 0.965


def _blp_pvalue(rng, heterogeneous, n=600):
    X, y, d = _draw(rng, n, heterogeneous)
    phi, S, half, _ = het.split_proxy(X, y, d, LIN_Y, LIN_D, 5, 0.01, rng, "dr_learner", 0)
    S = S - np.where(half == 0, S[half == 0].mean(), S[half == 1].mean())
    b = het.blp(phi, S)
    return b.loc[1, "p_value"], b.loc[1, "estimate"]


def test_blp_test_holds_size_without_heterogeneity():
    # 300 draws under a constant effect: the two-sided 5% test of beta2 = 0 should reject about
    # 5% of the time; MCSE 1.26 points, so we allow up to 9% (3 MCSE).
    rng = np.random.default_rng(7)
    rejections = [_blp_pvalue(rng, heterogeneous=False)[0] < 0.05 for _ in range(300)]
    assert np.mean(rejections) <= 0.09


def test_blp_test_rejects_with_heterogeneity():
    rng = np.random.default_rng(8)
    results = [_blp_pvalue(rng, heterogeneous=True) for _ in range(60)]
    assert np.mean([p < 0.05 and b > 0 for p, b in results]) >= 0.9


def test_n_jobs_does_not_change_results():
    df = simulate(600)
    one = DML(learner_y="hgb", learner_d="hgb", refute=False, n_folds=3).fit(df, spec_for())
    two = DML(learner_y="hgb", learner_d="hgb", refute=False, n_folds=3, n_jobs=2).fit(df, spec_for())
    assert one.estimate == two.estimate and one.se == two.se
