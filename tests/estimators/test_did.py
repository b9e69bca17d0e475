"""Behaviour, errors and simulations for DiD (TWFE / 2x2), EventStudy and the wild cluster bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal_kit import ExperimentSpec, estimate
from causal_kit.datasets.simulate import simulate_staggered_panel
from causal_kit.errors import DataError, IdentificationError, SpecError
from causal_kit.estimators.did import DiD, EventStudy
from causal_kit.inference.cluster import crv1, ssc_factor
from causal_kit.inference.wild_bootstrap import draw_weights, wild_cluster_bootstrap

MPDTA = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
SIM = dict(outcome="y", unit="unit", time="period", cohort="cohort")


@pytest.fixture(scope="module")
def mpdta():
    from causal_kit import datasets

    return datasets.load("mpdta")


def _geo_panel(n_units=16, n_periods=8, start=5, effect=0.0, seed=0):
    rng = np.random.default_rng(seed)
    treated = np.arange(n_units) < n_units // 2
    y = rng.normal(0, 1, (n_units, 1)) + rng.normal(0, 1, (1, n_periods)) + rng.normal(0, 1, (n_units, n_periods))
    post = np.arange(1, n_periods + 1) >= start
    y += effect * treated[:, None] * post[None, :]
    return pd.DataFrame({"geo": np.repeat(np.arange(n_units), n_periods), "week": np.tile(np.arange(1, n_periods + 1), n_units),
                         "sales": y.ravel(), "test": np.repeat(treated.astype(int), n_periods)})


# ---------------------------------------------------------------- DiD

def test_did_runs_on_an_sdid_spec():
    from causal_kit import datasets

    data = datasets.load("california_prop99")
    spec = ExperimentSpec(name="p99", design="sdid", outcome="PacksPerCapita", treatment="treated", unit="State",
                          time="Year", estimators=["did"])
    (res,) = estimate(data, spec)
    assert res.method == "did" and res.design == "sdid"
    assert res.estimate < 0  # Prop 99 lowered sales
    # one treated state: 39 clusters < 50 and a balanced one-date design, so randomisation
    # inference over placebo assignments is used and said so; se is the one the CI implies
    assert res.details["randomization"] is True and res.details["wild_bootstrap"] is False
    assert res.diagnostic("few_clusters").status == "warn"
    assert "randomisation inference over 39 placebo assignments" in res.inference and "mid-p" in res.inference
    assert res.ci[1] - res.ci[0] == pytest.approx(2 * 1.959964 * res.se, rel=1e-5)
    assert (res.p_value <= 0.05) == (not res.ci[0] <= 0 <= res.ci[1])
    assert res.details["se_crv1"] != res.se and res.df_resid is None


def test_did_with_treatment_start_and_covariates():
    df = _geo_panel(n_units=60, effect=2.0, seed=3)
    df["promo"] = np.random.default_rng(1).normal(size=len(df))
    spec = ExperimentSpec(name="geo", design="did", outcome="sales", treatment="test", treatment_start=5, unit="geo",
                          time="week", covariates=["promo"])
    res = DiD().fit(df, spec)
    assert res.estimate == pytest.approx(2.0, abs=0.5)
    assert list(res.tables["coefficients"]["term"]) == ["treated_post", "promo"]
    assert res.details["wild_bootstrap"] is False
    assert res.exposure == 30 * 4


def test_wild_bootstrap_is_seeded_and_options_validated():
    df = _geo_panel(effect=1.0, seed=5)
    spec = ExperimentSpec(name="geo", design="did", outcome="sales", treatment="test", treatment_start=5, unit="geo",
                          time="week", seed=11)
    a = DiD(n_boot=999).fit(df, spec)
    b = DiD(n_boot=999).fit(df, spec)
    assert a.p_value == b.p_value and a.ci == b.ci
    webb = DiD(n_boot=999, boot_weights="webb").fit(df, spec)
    assert webb.p_value != a.p_value or webb.ci != a.ci
    assert DiD(inference="cluster").fit(df, spec).details["wild_bootstrap"] is False
    with pytest.raises(SpecError, match="The 'inference' parameter of DiD must be one of"):
        DiD(inference="robust").fit(df, spec)
    with pytest.raises(SpecError, match="The 'n_boot' parameter of DiD must be an int >= 99"):
        DiD(n_boot=10).fit(df, spec)


def test_rademacher_enumeration_for_tiny_cluster_counts():
    w, enumerated = draw_weights(5, 999, "rademacher", 0)
    assert enumerated and w.shape == (32, 5)
    w, enumerated = draw_weights(12, 999, "webb", 0)
    assert not enumerated and set(np.round(np.abs(w).ravel(), 6)) <= {0.707107, 1.0, 1.224745}


@pytest.mark.slow
def test_wild_bootstrap_size_under_the_null():
    # 10 clusters, regressor varying at the cluster level (where CRV1-t over-rejects). 600 draws:
    # binomial MCSE of a 5% rejection rate is 0.9 pp, so [2%, 9%] is a > 3-sigma band.
    rng = np.random.default_rng(2024)
    g = np.repeat(np.arange(10), 30)
    rejections = 0
    for _ in range(600):
        x = rng.normal(size=10)[g] + 0.3 * rng.normal(size=300)
        u = rng.normal(size=10)[g] + rng.normal(size=300)
        x, u = x - x.mean(), u - u.mean()
        beta = float(x @ u / (x @ x))
        res = wild_cluster_bootstrap(x, u, u - beta * x, beta, g, k=2, n_boot=399, seed=int(rng.integers(1 << 31)))
        rejections += res.p_value < 0.05
    assert 0.02 <= rejections / 600 <= 0.09


def test_crv1_factor():
    assert ssc_factor(2500, 6, 500) == pytest.approx(500 / 499 * 2499 / 2494)
    rng = np.random.default_rng(0)
    X, e = rng.normal(size=(40, 1)), rng.normal(size=40)
    codes = np.arange(40)  # singleton clusters: CRV1 = HC1 with the n/(n-k) factor
    hc0 = (X[:, 0] ** 2 * e**2).sum() / (X[:, 0] @ X[:, 0]) ** 2
    assert crv1(X, e, codes)[0, 0] == pytest.approx(hc0 * 40 / 39 * 39 / 39)


def test_unbalanced_twfe_uses_alternating_projections(mpdta):
    spec = ExperimentSpec(name="m", design="did", **MPDTA)
    holes = mpdta.drop(index=mpdta.index[::7])
    res = DiD().fit(holes, spec)
    assert res.details["balanced"] is False
    assert res.n_obs == len(holes)
    assert res.estimate == pytest.approx(-0.0365, abs=0.01)
    assert res.diagnostic("bacon_forbidden_weight").status == "not_applicable"


# ---------------------------------------------------------------- EventStudy

def test_event_study_window_binning_and_reference(mpdta):
    spec = ExperimentSpec(name="m", design="event_study", **MPDTA)
    full = EventStudy().fit(mpdta, spec).tables["event_study"]
    binned = EventStudy(window=(-2, 2)).fit(mpdta, spec).tables["event_study"]
    assert binned["event_time"].tolist() == [-2, -1, 0, 1, 2]
    # e = 0 and 1 are unaffected by pooling the endpoints only through the fixed effects
    assert binned.set_index("event_time").loc[0, "estimate"] == pytest.approx(
        full.set_index("event_time").loc[0, "estimate"], abs=0.01)
    trimmed = EventStudy(window=(-2, 2), bin_endpoints=False).fit(mpdta, spec)
    assert trimmed.details["n_outside_window"] > 0
    ref2 = EventStudy(reference=-2).fit(mpdta, spec).tables["event_study"].set_index("event_time")
    assert ref2.loc[-2, "estimate"] == 0.0 and ref2.loc[-1, "estimate"] != 0.0


def test_event_study_bands_and_diagnostics(mpdta):
    spec = ExperimentSpec(name="m", design="event_study", **MPDTA)
    res = EventStudy().fit(mpdta, spec)
    es = res.tables["event_study"]
    est = es[~es["reference"]]
    # simultaneous bands are wider than pointwise intervals
    assert ((est["band_high"] - est["band_low"]) > (est["ci_high"] - est["ci_low"])).all()
    assert 2.0 < res.details["sup_t_critical"] < 3.5
    pre = res.diagnostic("pre_trends")
    assert pre.assumption == "parallel_trends" and 0 < pre.p_value < 1
    hon = res.diagnostic("honest_did")
    assert hon.assumption == "sensitivity" and hon.statistic > 0
    assert set(res.tables["honest_did"].columns) == {"mbar", "lower", "upper", "id_lower", "id_upper"}
    assert res.plot().data and res.plot("honest_did").data


def test_reference_outside_window_raises(mpdta):
    spec = ExperimentSpec(name="m", design="event_study", **MPDTA)
    with pytest.raises(SpecError, match="outside the event window"):
        EventStudy(reference=-9).fit(mpdta, spec)
    with pytest.raises(SpecError, match="outside the event window"):
        EventStudy(reference=-3, window=(-2, 3)).fit(mpdta, spec)
    with pytest.raises(SpecError, match="The 'window' parameter of EventStudy"):
        EventStudy(window=(2, -2)).fit(mpdta, spec)


def test_bad_panels_raise_named_errors(mpdta):
    spec = ExperimentSpec(name="m", design="did", **MPDTA)
    bad = mpdta.copy()
    bad.loc[bad.index[1], "first.treat"] = 2006
    with pytest.raises(DataError, match="changes within 1 unit"):
        DiD().fit(bad, spec)
    one = mpdta[mpdta["year"] == 2004]
    with pytest.raises(IdentificationError, match="single period"):
        DiD().fit(one, spec)
    df = _geo_panel()
    df["on"] = ((df["test"] == 1) & (df["week"].isin([5, 6]))).astype(int)  # switches off at week 7
    spec2 = ExperimentSpec(name="g", design="did", outcome="sales", treatment="on", unit="geo", time="week")
    with pytest.raises(DataError, match="switches off again"):
        DiD().fit(df, spec2)
    with pytest.raises(SpecError, match="does not support observation weights"):
        DiD().fit(mpdta.assign(w=1.0), ExperimentSpec(name="m", design="did", weights="w", **MPDTA))


@pytest.mark.slow
def test_twfe_is_biased_with_dynamic_staggered_effects():
    # effect 1 + 0.5 * e: later event times get higher effects; TWFE's forbidden comparisons
    # subtract them, so it misses the cohort-weighted ATT by many standard errors.
    df = simulate_staggered_panel(n_units=3000, n_periods=10, cohorts=(3, 5, 7), effect=1.0, dynamic=0.5,
                                  never_share=0.25, seed=7)
    spec = ExperimentSpec(name="s", design="did", **SIM)
    res = DiD().fit(df, spec)
    first = df.groupby("unit")["cohort"].first().to_numpy()
    truth = np.mean([1 + 0.5 * (t - g) for g in first[first > 0] for t in range(g, 11)])
    assert abs(res.estimate - truth) > 8 * res.se
    assert res.diagnostic("bacon_forbidden_weight").statistic > 0.05


@pytest.mark.slow
def test_pretrend_test_rejects_at_about_alpha_under_the_null():
    # 300 panels with parallel trends; binomial MCSE of a 5% rate is 1.26 pp -> [1.5%, 9.5%].
    rejections = 0
    for s in range(300):
        df = simulate_staggered_panel(n_units=80, n_periods=6, cohorts=(4, 5), seed=1000 + s)
        res = EventStudy().fit(df, ExperimentSpec(name="s", design="event_study", **SIM))
        rejections += res.diagnostic("pre_trends").p_value < 0.05
    assert 0.015 <= rejections / 300 <= 0.095


def test_single_treated_cluster_is_flagged():
    from causal_kit import datasets

    spec = ExperimentSpec(name="p99", design="sdid", outcome="PacksPerCapita", treatment="treated", unit="State",
                          time="Year")
    data = datasets.load("california_prop99")
    for est in (DiD(), EventStudy()):
        diag = est.fit(data, spec).diagnostic("treated_clusters")
        assert diag.status == "warn" and diag.statistic == 1.0 and "placebo" in diag.message


def test_no_controls_at_all_raises(mpdta):
    one = mpdta[mpdta["first.treat"] == 2006]
    for est, design in ((DiD(), "did"), (EventStudy(), "event_study")):
        with pytest.raises(IdentificationError, match="no never-treated and no not-yet-treated controls"):
            est.fit(one, ExperimentSpec(name="m", design=design, **MPDTA))


def test_time_invariant_covariate_is_named(mpdta):
    spec = ExperimentSpec(name="m", design="did", covariates=["lpop"], **MPDTA)
    with pytest.raises(DataError, match=r"\['lpop'\] do not vary once unit and period fixed effects"):
        DiD().fit(mpdta, spec)
