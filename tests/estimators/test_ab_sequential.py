"""A/B readouts with a ``sequential:`` block: always-valid numbers, looks, decisions, named errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.errors import DataError, SpecError
from causal_kit.estimators.ab import ABTest
from causal_kit.inference.alpha_spending import spending_boundaries
from causal_kit.inference.sequential import confidence_sequence, cs_rho


@pytest.fixture(scope="module")
def data():
    return ck.datasets.load("ab_cuped_sim")


def _spec(**seq):
    return ck.ExperimentSpec(name="seq", design="ab", outcome="y", treatment="treat", pre_covariate="pre",
                             sequential=seq)


def _binary(n=6000, p0=0.10, p1=0.13, seed=1):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    return pd.DataFrame({"treat": t, "y": (rng.random(n) < np.where(t == 1, p1, p0)).astype(int),
                         "day": rng.integers(1, 29, n)})


def test_confidence_sequence_readout(data):
    before = data.copy()
    fixed = ck.estimate(data, _spec(planned_n=20_000).update(sequential=None))
    res = ck.estimate(data, _spec(planned_n=20_000))
    pd.testing.assert_frame_equal(data, before)  # the caller's frame is untouched
    seq = res.details["sequential"]
    assert res.estimate == fixed.estimate and res.se == fixed.se
    assert res.ci[0] < fixed.ci[0] and res.ci[1] > fixed.ci[1]  # wider: valid at any look
    assert res.ci == pytest.approx(confidence_sequence(fixed.estimate, fixed.se, res.n_obs, rho=cs_rho(20_000)))
    assert seq["rho"] == pytest.approx(cs_rho(20_000)) and seq["planned_n"] == 20_000
    assert seq["decision"] == "stop_efficacy" and seq["look"] == 1 and seq["n_looks_planned"] is None
    assert seq["fixed_horizon_ci"] == list(fixed.ci) and seq["p_value_running_min"] == res.p_value
    assert "valid at any look" in res.inference
    table = res.tables["sequential"]
    assert list(table["look"]) == [1] and table["decision"].iloc[0] == "stop_efficacy"
    comp = res.tables["comparisons"].iloc[0]
    assert (comp["ci_low"], comp["ci_high"], comp["p_value"]) == (res.ci[0], res.ci[1], res.p_value)
    assert (comp["fixed_ci_low"], comp["fixed_ci_high"]) == fixed.ci
    srm = next(d for d in res.diagnostics if d.name == "sample_ratio_mismatch")
    assert "always-valid" in srm.message and srm.status == "pass"
    assert ck.EffectEstimate.from_json(res.to_json()).details["sequential"]["decision"] == "stop_efficacy"


def test_plain_and_relative_sequence_continue_when_unclear(data):
    spec = ck.ExperimentSpec(name="seq", design="ab", outcome="y", treatment="treat",
                             sequential={"rho": 0.05, "looks": [2500, 5000, 10_000, 20_000]})
    res = ABTest(adjustment="none").fit(data, spec)
    seq = res.details["sequential"]
    assert seq["rho"] == 0.05 and seq["planned_n"] is None
    assert seq["decision"] == "continue" and res.ci[0] < 0 < res.ci[1]
    assert seq["look"] == 3 and seq["n_looks_planned"] == 4 and not seq["unplanned_look"]
    assert res.relative_ci[0] < 0 < res.relative_ci[1]


def test_planned_look_numbering_and_final(data):
    spec = _spec(planned_n=10_000, looks=[2500, 5000, 10_000])
    res = ck.estimate(data, spec)
    seq = res.details["sequential"]
    assert seq["look"] == 3 and seq["planned_look_index"] == 3 and seq["final_look"]
    assert seq["decision"] == "stop_efficacy"  # efficacy wins over "final" when the interval excludes 0
    diag = next(d for d in res.diagnostics if d.name == "sequential_look")
    assert diag.status == "pass" and "final look" in diag.message
    spec = ck.ExperimentSpec(name="seq", design="ab", outcome="y", treatment="treat",
                             sequential={"planned_n": 10_000, "looks": [2500, 5000, 10_000]})
    assert ck.estimate(data, spec).details["sequential"]["decision"] == "final"


def test_unplanned_look_is_flagged(data):
    res = ck.estimate(data.iloc[:7000], _spec(planned_n=10_000, looks=[2500, 5000, 10_000]))
    seq = res.details["sequential"]
    assert seq["unplanned_look"] and seq["look"] == 3 and not seq["final_look"]  # after planned looks 1 and 2
    diag = next(d for d in res.diagnostics if d.name == "sequential_look")
    assert diag.status == "warn" and "not one of the planned looks" in diag.message
    assert "unplanned extra look" in res.inference


def test_alpha_spending_readout_with_prior_looks(data):
    spec = _spec(method="alpha_spending", looks=[2500, 5000, 10_000], spending="obrien_fleming")
    first = ck.estimate(data.iloc[:2500], spec)
    s1 = first.details["sequential"]
    b1 = spending_boundaries([0.25], 0.05)[0]
    assert s1["look"] == 1 and s1["boundary_z"] == pytest.approx(b1)
    assert first.ci == pytest.approx((first.estimate - b1 * first.se, first.estimate + b1 * first.se))
    prior = [{"look": 1, "key": 2500, "n_obs": 2500, "estimate": first.estimate, "ci_low": first.ci[0],
              "ci_high": first.ci[1], "p_value": first.p_value, "boundary_z": b1, "decision": s1["decision"]}]
    second = ABTest(prior_looks=prior).fit(data.iloc[:5000], spec)
    s2 = second.details["sequential"]
    assert s2["look"] == 2 and s2["boundary_z"] == pytest.approx(spending_boundaries([0.25, 0.5], 0.05)[-1])
    assert list(second.tables["sequential"]["look"]) == [1, 2]
    assert list(second.tables["sequential"]["current"]) == [False, True]
    assert "look 2 of 3, boundary |z| >=" in second.inference
    # re-running the same look is not a new look
    again = ABTest(prior_looks=prior).fit(data.iloc[:2500], spec)
    assert again.details["sequential"]["look"] == 1 and again.details["sequential"]["rerun_of_previous_look"]


def test_msprt_means_and_proportions(data):
    res = ck.estimate(data, _spec(method="msprt", mixture_sd=0.2))
    assert res.details["sequential"]["mixture_sd"] == 0.2 and "mixture SPRT" in res.inference
    b = _binary()
    spec = ck.ExperimentSpec(name="conv", design="ab", outcome="y", treatment="treat",
                             sequential={"method": "msprt", "mixture_sd": 0.02, "metric": "proportion"})
    out = ck.estimate(b, spec)
    p1, p0 = b.loc[b.treat == 1, "y"].mean(), b.loc[b.treat == 0, "y"].mean()
    v = p1 * (1 - p1) / (b.treat == 1).sum() + p0 * (1 - p0) / (b.treat == 0).sum()
    lam = np.sqrt(v / (v + 0.02**2)) * np.exp(0.02**2 * (p1 - p0) ** 2 / (2 * v * (v + 0.02**2)))
    assert out.p_value == pytest.approx(min(1, 1 / lam), rel=1e-9)


def test_time_keyed_looks_and_futility():
    b = _binary(p1=0.10)
    spec = ck.ExperimentSpec(name="conv", design="ab", outcome="y", treatment="treat", time="day",
                             sequential={"planned_n": 6000, "looks": [7, 14, 21, 28], "futility_margin": 0.05})
    res = ck.estimate(b, spec)
    seq = res.details["sequential"]
    assert seq["look_key"] == 28 and seq["look"] == 4 and seq["final_look"]
    assert seq["decision"] == "stop_futility"  # the interval lies within +/- 5 points
    with pytest.raises(DataError, match="after the last planned look"):
        ck.estimate(b.assign(day=b.day + 10), spec)


def test_multi_arm_uses_bonferroni():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"treat": rng.integers(0, 3, 9000), "y": rng.normal(size=9000)})
    spec = ck.ExperimentSpec(name="m", design="ab", outcome="y", treatment="treat", sequential={"planned_n": 6000})
    seq = ck.estimate(df, spec).details["sequential"]
    assert seq["alpha_per_arm"] == pytest.approx(0.025) and seq["rho"] == pytest.approx(cs_rho(6000, 0.025))


# ---------------------------------------------------------------------- named errors
def test_looks_not_increasing_in_spec():
    with pytest.raises(SpecError, match="strictly increasing"):
        _spec(planned_n=100, looks=[10, 30, 20])


def test_look_not_after_previous_look(data):
    prior = [{"look": 1, "key": 10_000, "n_obs": 9000}]  # same key, different data: not a re-run
    with pytest.raises(DataError, match=r"looks are not increasing: this look \(the number of units = 10000\)"):
        ABTest(prior_looks=prior).fit(data, _spec(planned_n=10_000))


def test_data_shrank(data):
    prior = [{"look": 1, "key": 9000, "n_obs": 9000}]
    with pytest.raises(DataError, match="the data shrank: this look has 5000 rows but look 1 had 9000"):
        ABTest(prior_looks=prior).fit(data.iloc[:5000], _spec(planned_n=10_000))


def test_time_key_not_increasing():
    b = _binary()
    spec = ck.ExperimentSpec(name="conv", design="ab", outcome="y", treatment="treat", time="day",
                             sequential={"planned_n": 6000})
    prior = [{"look": 1, "key": 28, "n_obs": 100}]
    with pytest.raises(DataError, match=r"looks are not increasing: this look \(spec.time 'day' = 28\)"):
        ABTest(prior_looks=prior).fit(b, spec)


def test_look_after_planned_end(data):
    with pytest.raises(DataError, match="after the last planned look"):
        ck.estimate(data, _spec(planned_n=10_000, looks=[2000, 4000]))


@pytest.mark.parametrize("fields, match", [
    (dict(design="rdd", outcome="y", running="r", cutoff=0.0),
     r"not supported by \['rdd'\]; it works with \['ab', 'did', 'synthetic_control', 'sdid'\]"),
    (dict(design="ab", outcome="y", treatment="t", estimators=["ab", "dml"]), r"not supported by \['dml'\]"),
    (dict(design="did", outcome="y", treatment="t", unit="u", time="p"),
     r"'confidence_sequence' is for A/B tests; \['did'\] readouts take 'alpha_spending' or 'calibrated'"),
])
def test_sequential_on_unsupported_estimator(fields, match):
    with pytest.raises(SpecError, match=match):
        ck.ExperimentSpec(name="x", sequential={"planned_n": 100}, **fields)


@pytest.mark.parametrize("seq, match", [
    ({"method": "msprt"}, "needs 'mixture_sd'"),
    ({"method": "alpha_spending"}, "needs the planned 'looks'"),
    ({"planned_n": 10, "rho": 0.1}, "not both"),
    ({"looks": [1, "2024-01-01"]}, "mixes numbers and dates"),
    ({"method": "calibrated", "looks": [10, 20], "boundaries": [2.5]}, "one boundary per planned look"),
    ({"method": "calibrated", "looks": [10, 20], "boundaries": [2.5, 2.4]}, "'calibrated' is for panel readouts"),
])
def test_bad_sequential_block(seq, match):
    with pytest.raises(SpecError, match=match):
        ck.ExperimentSpec(name="x", design="ab", outcome="y", treatment="t", sequential=seq)


def test_missing_tuning_and_non_binary_proportion(data):
    with pytest.raises(SpecError, match="needs its tuning"):
        ck.estimate(data, _spec())
    spec = _spec(method="msprt", mixture_sd=0.1, metric="proportion")
    with pytest.raises(DataError, match=r"column 'y' \(spec.outcome\) has 10000 value\(s\) other than 0/1"):
        ck.estimate(data, spec)


def test_sequential_result_plots_and_renders_after_json_round_trip(data):
    spec = _spec(method="alpha_spending", looks=[2500, 5000, 10_000])
    prior = [{"look": 1, "key": 2500, "n_obs": 2500, "estimate": 0.2, "ci_low": -0.5, "ci_high": 0.9,
              "p_value": 0.6, "boundary_z": 3.9, "decision": "continue"}]
    res = ABTest(prior_looks=prior).fit(data.iloc[:5000], spec)
    back = ck.EffectEstimate.from_json(res.to_json())
    assert back.plot_kinds() == ("effect", "arms", "looks")
    fig = back.plot("looks")
    assert len(fig.data) == 2 and list(fig.data[1].y) == pytest.approx([0.2, res.estimate])
    assert "2 of 3 planned looks" in fig.layout.title.text
    fixed = ck.estimate(data, spec.update(sequential=None))
    assert fixed.plot_kinds() == ("effect", "arms")
    from causal_kit import report

    html = report.render(back)
    assert "<html" in html.lower()


def test_regression_method_matches_anytime_valid_ols(data):
    from causal_kit.inference.anytime_regression import anytime_valid_ols

    res = ck.estimate(data, _spec(method="regression", prior_scale=0.5))
    X = np.column_stack([np.ones(len(data)), data["treat"], data["pre"] - data["pre"].mean()])
    est, se, low, high, p = anytime_valid_ols(data["y"].to_numpy(), X, 1, phi=0.5)
    assert (res.estimate, res.se) == pytest.approx((est, se), rel=1e-9)
    assert res.ci == pytest.approx((low, high), rel=1e-9) and res.p_value == pytest.approx(p, rel=1e-9)
    assert res.tables["sequential"]["estimate"].iloc[0] == pytest.approx(est)
    assert "Lindon" in res.inference and res.details["sequential"]["prior_scale"] == 0.5
    clustered = data.assign(user=np.arange(len(data)) // 2)
    with pytest.raises(SpecError, match="assumes independent, unweighted units"):
        ck.estimate(clustered, _spec(method="regression").update(cluster="user"))


def test_date_keyed_looks_and_kind_mismatch():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"treat": rng.integers(0, 2, 4000), "y": rng.normal(size=4000),
                       "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 14, 4000), unit="D")})
    spec = ck.ExperimentSpec(name="d", design="ab", outcome="y", treatment="treat", time="day",
                             sequential={"planned_n": 8000, "looks": ["2024-01-07", "2024-01-14", "2024-01-21"]})
    seq = ck.estimate(df, spec).details["sequential"]
    assert (seq["look"], seq["look_key"], seq["unplanned_look"]) == (2, "2024-01-14T00:00:00", False)
    with pytest.raises(SpecError, match="give spec.sequential.looks as end periods of spec.time"):
        ck.estimate(df, spec.update(sequential={"planned_n": 8000, "looks": [7, 14]}))


def test_alpha_spending_without_history_assumes_the_planned_looks(data):
    spec = _spec(method="alpha_spending", looks=[2500, 5000, 10_000])
    seq = ck.estimate(data.iloc[:5000], spec).details["sequential"]
    assert seq["look"] == 2 and seq["information_fractions"] == pytest.approx([0.25, 0.5])
    assert seq["boundary_z"] == pytest.approx(spending_boundaries([0.25, 0.5], 0.05)[-1])
    unplanned = ck.estimate(data.iloc[:7000], spec).details["sequential"]
    assert unplanned["look"] == 3 and unplanned["unplanned_look"]
    assert unplanned["boundary_z"] == pytest.approx(spending_boundaries([0.25, 0.5, 0.7], 0.05)[-1])
