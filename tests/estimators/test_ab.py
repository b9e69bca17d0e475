"""Behaviour, errors and simulation checks of the A/B estimator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import causal_kit as ck
from causal_kit.errors import DataError, SpecError
from causal_kit.estimators.ab import ABTest, cuped_theta, welch


def _spec(**kw):
    base = dict(name="ab", design="ab", outcome="y", treatment="arm")
    base.update(kw)
    return ck.ExperimentSpec(**base)


def _frame(n=600, arms=(0, 1), effect=0.5, seed=1):
    rng = np.random.default_rng(seed)
    arm = rng.choice(arms, size=n)
    x = rng.normal(10, 2, n)
    y = 1 + 0.8 * x + effect * (arm != arms[0]) + rng.normal(0, 1, n)
    return pd.DataFrame({"arm": arm, "y": y, "x": x, "g": rng.integers(0, 40, n)})


def test_multi_arm_holm_and_headline():
    df = _frame(arms=("control", "a", "b"))
    r = ABTest(control="control", arm="b").fit(df, _spec())
    comp = r.tables["comparisons"]
    assert list(comp["arm"]) == ["a", "b"]
    p = comp["p_value"].to_numpy()
    expected = np.minimum(1, np.maximum.accumulate(np.sort(p) * np.array([2, 1])))
    assert np.allclose(np.sort(comp["p_holm"].to_numpy()), expected)
    assert r.details["arm"] == "b" and r.details["n_arms"] == 3
    assert r.diagnostic("multiple_arms").status == "pass"


def test_unknown_control_is_named():
    with pytest.raises(SpecError, match="'control' parameter of ABTest"):
        ABTest(control="zzz").fit(_frame(), _spec())


def test_bad_adjustment_option():
    with pytest.raises(SpecError, match="'adjustment' parameter of ABTest must be one of"):
        ABTest(adjustment="magic").fit(_frame(), _spec())


def test_cuped_needs_pre_covariate():
    with pytest.raises(SpecError, match="needs spec.pre_covariate"):
        ABTest(adjustment="cuped").fit(_frame(), _spec())


def test_constant_pre_covariate():
    df = _frame().assign(x=1.0)
    with pytest.raises(DataError, match="'x' .*constant"):
        ABTest().fit(df, _spec(pre_covariate="x"))


def test_single_arm_rejected():
    df = _frame().assign(arm=0)
    with pytest.raises(DataError, match="single arm"):
        ABTest().fit(df, _spec())


def test_sample_ratio_mismatch_fails():
    df = _frame(n=2000)
    df = pd.concat([df, df[df["arm"] == 1].iloc[:300]], ignore_index=True)
    r = ABTest().fit(df, _spec())
    assert r.diagnostic("sample_ratio_mismatch").status == "fail"


def test_expected_split_respected():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"arm": rng.choice([0, 1], size=4000, p=[0.2, 0.8]), "y": rng.normal(size=4000)})
    assert ABTest().fit(df, _spec()).diagnostic("sample_ratio_mismatch").status == "fail"
    ok = ABTest(expected_split={0: 0.2, 1: 0.8}).fit(df, _spec())
    assert ok.diagnostic("sample_ratio_mismatch").status == "pass"


def test_cluster_robust_se_is_larger_with_clustered_noise():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(60), 20)
    arm = np.repeat(rng.integers(0, 2, 60), 20)
    y = 0.3 * arm + np.repeat(rng.normal(0, 1, 60), 20) + rng.normal(0, 1, g.size)
    df = pd.DataFrame({"arm": arm, "y": y, "g": g})
    plain = ABTest().fit(df, _spec())
    clus = ABTest().fit(df, _spec(cluster="g"))
    assert clus.se > 1.5 * plain.se
    assert "cluster" in clus.inference


def test_nan_outcome_raises_then_drop_warns():
    df = _frame()
    df.loc[[3, 7], "y"] = np.nan
    with pytest.raises(DataError, match=r"'y' \(spec.outcome\) has 2 missing values \(rows 3, 7\)"):
        ABTest().fit(df, _spec())
    with pytest.warns(ck.errors.RowsDroppedWarning, match="dropped 2 of 600 rows"):
        r = ABTest().fit(df, _spec(na_action="drop"))
    assert r.n_dropped == 2 and r.n_obs == 598 and r.dropped_reasons == {"missing y": 2}


def test_relative_lift_delta_method_matches_simulation_scale():
    df = _frame(n=4000, effect=1.0)
    r = ABTest(adjustment="none").fit(df, _spec())
    lo, hi = r.relative_lift_ci
    assert lo < r.relative_lift < hi
    assert r.baseline == pytest.approx(df.loc[df.arm == 0, "y"].mean())


def test_welch_batched_equals_scalar():
    rng = np.random.default_rng(0)
    y1, y0 = rng.normal(size=(5, 30)), rng.normal(size=(5, 40))
    est, se, df = welch(y1, y0)
    for i in range(5):
        e, s, d = welch(y1[i], y0[i])
        assert est[i] == pytest.approx(e) and se[i] == pytest.approx(s) and df[i] == pytest.approx(d)


def _coverage_draws(n_sims, n, effect, seed):
    rng = np.random.default_rng(seed)
    treat = rng.integers(0, 2, size=(n_sims, n)).astype(bool)
    x = rng.normal(0, 2, size=(n_sims, n))
    y = 0.9 * x + effect * treat + rng.standard_t(5, size=(n_sims, n))
    return treat, x, y


@pytest.mark.parametrize("adjust", ["none", "cuped"])
def test_ci_coverage_2000_simulations(adjust):
    """95% CI covers the true effect in 93.5-96.5% of 2,000 seeded simulations.

    The draws are batched through the estimator's own ``welch`` / ``cuped_theta`` (shared code
    path); a smaller full-estimator run below ties the two together.
    """
    effect, n_sims, n = 0.3, 2000, 200
    treat, x, y = _coverage_draws(n_sims, n, effect, seed=2024)
    if adjust == "cuped":
        y = y - cuped_theta(y, x)[:, None] * (x - x.mean(axis=1, keepdims=True))
    est, se, df = np.empty(n_sims), np.empty(n_sims), np.empty(n_sims)
    for i in range(n_sims):  # arm sizes differ per draw, so welch runs per draw
        est[i], se[i], df[i] = welch(y[i][treat[i]], y[i][~treat[i]])
    covered = np.abs(est - effect) <= stats.t.ppf(0.975, df) * se
    rate = covered.mean()
    assert 0.935 <= rate <= 0.965, rate


def test_full_estimator_coverage_and_type1():
    """200 full-estimator fits: coverage near 95% (MCSE 1.5%) and A/A rejection near 5%."""
    n_sims = 200
    treat, x, y = _coverage_draws(n_sims, 120, 0.3, seed=7)
    spec = ck.ExperimentSpec(name="sim", design="ab", outcome="y", treatment="t", pre_covariate="x")
    est = ABTest()
    cover = reject_null = 0
    for i in range(n_sims):
        df = pd.DataFrame({"t": treat[i].astype(int), "x": x[i], "y": y[i]})
        r = est.fit(df, spec)
        cover += r.ci[0] <= 0.3 <= r.ci[1]
        aa = est.fit(df.assign(y=y[i] - 0.3 * treat[i]), spec)
        reject_null += aa.p_value < 0.05
    assert 0.90 <= cover / n_sims <= 0.99
    assert reject_null / n_sims <= 0.09
