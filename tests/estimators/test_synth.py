"""SyntheticControl and AugmentedSyntheticControl behaviour, placebo functions and diagnostics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.errors import DataError, IdentificationError, SpecError
from causal_kit.estimators import get_estimator
from causal_kit.estimators.augsynth import ridge_ascm_weights
from causal_kit.inference.placebo import rmspe_ratio_test, sc_placebo_gaps

PROP99 = dict(outcome="PacksPerCapita", treatment="treated", unit="State", time="Year")


def sc_spec(**options):
    return ck.ExperimentSpec(name="t", design="synthetic_control", **PROP99, options=options)


@pytest.fixture(scope="module")
def prop99_sc():
    from causal_kit import datasets

    return ck.estimate(datasets.load("california_prop99"), sc_spec())


def test_diagnostics_present_and_actionable(prop99_sc):
    names = {d.name: d for d in prop99_sc.diagnostics}
    assert set(names) >= {"pre_period_fit", "convex_hull", "effective_donors", "placebo_rank",
                          "leave_one_out", "in_time_placebo"}
    assert names["effective_donors"].statistic == pytest.approx(prop99_sc.details["effective_donors"])
    assert 3 < names["effective_donors"].statistic < 5
    assert names["in_time_placebo"].status in {"pass", "warn"}
    loo = prop99_sc.tables["leave_one_out"]
    assert len(loo) == 6 and loo["estimate"].lt(0).all()


def test_placebo_tables_exclude_treated(prop99_sc):
    ranks = prop99_sc.tables["placebo_ranks"]
    assert len(ranks) == 39 and "California" not in set(prop99_sc.tables["placebo_gaps"]["unit"])
    assert prop99_sc.se == pytest.approx(np.std(ranks["effect"].dropna()))


def test_convex_hull_warning(load):
    data = load("california_prop99")
    data.loc[data["State"] == "California", "PacksPerCapita"] += 200.0
    res = ck.estimate(data, sc_spec(in_time_placebo=None, unit_scale="none"))
    assert res.diagnostic("convex_hull").status == "warn"
    assert res.diagnostic("pre_period_fit").status == "warn"
    aug = get_estimator("augmented_sc").fit(data, sc_spec())
    assert aug.details["pre_rmspe"] < 0.2 * res.details["pre_rmspe"]
    # the default does not read out plain level SC outside the hull: it matches each state
    # relative to its own pre-period mean, and says so
    auto = ck.estimate(data, sc_spec(in_time_placebo=None))
    assert auto.details["unit_scale"] == "unit"
    assert "outside the donors' range" in auto.details["unit_scale_reason"]
    assert "pre-period mean" in auto.inference
    assert auto.diagnostic("convex_hull").status == "pass"
    assert auto.details["pre_rmspe"] < res.details["pre_rmspe"]


def test_multiple_and_staggered_treated_units(load):
    data = load("california_prop99")
    data.loc[(data["State"] == "Utah") & (data["Year"] >= 1989), "treated"] = 1
    data.loc[(data["State"] == "Nevada") & (data["Year"] >= 1993), "treated"] = 1
    res = ck.estimate(data, sc_spec(in_time_placebo=None))
    assert res.details["n_treated"] == 3 and res.details["n_cohorts"] == 2
    assert res.exposure == 2 * 12 + 8
    assert set(res.tables["weights"]["cohort"]) == {"1989", "1993"}
    assert "Utah" not in set(res.tables["weights"]["unit"])
    # randomisation inference re-assigns the treatment over all units; the interval inverts
    # that test and the SE is the one it implies
    assert res.details["n_placebos"] == 201 and "re-assignments of the treatment to 3 units" in res.inference
    assert res.ci[1] - res.ci[0] == pytest.approx(2 * 1.959964 * res.se, rel=1e-5)
    assert (res.p_value <= 0.05) == (not res.ci[0] <= 0 <= res.ci[1])
    single = ck.estimate(load("california_prop99"), sc_spec(in_time_placebo=None))
    assert res.se < single.se


def test_predictor_option_errors(load):
    with pytest.raises(SpecError, match="'predictors' parameter"):
        ck.estimate(load("california_prop99"), sc_spec(predictors=[{"col": "x"}]))
    with pytest.raises(SpecError, match="'outcome_lags' parameter.*1900"):
        ck.estimate(load("california_prop99"), sc_spec(outcome_lags=[1900]))
    with pytest.raises(SpecError, match="'v' parameter of SyntheticControl"):
        ck.estimate(load("california_prop99"), sc_spec(v="diagonal"))
    with pytest.raises(DataError, match="predictor column 'nope'"):
        ck.estimate(load("california_prop99"), sc_spec(predictors=[{"column": "nope"}]))


def test_sc_named_errors(load):
    data = load("california_prop99")
    few = data[data["State"].isin(["California", "Utah"])]
    with pytest.raises(IdentificationError, match="at least 2 never-treated donor"):
        ck.estimate(few, sc_spec())
    gap = data[~((data["State"] == "California") & (data["Year"] == 1980))]
    with pytest.raises(DataError, match="treated unit"):
        ck.estimate(gap, sc_spec())


def test_identity_placebo_matches_one_by_one_fits(load):
    rng = np.random.default_rng(3)
    Y = rng.normal(size=(8, 10)).cumsum(axis=1)
    gaps, W = sc_placebo_gaps(Y[:, :6].T, Y, np.arange(1, 8))
    from causal_kit.solvers.simplex import simplex_weights

    for j in range(7):
        pool = np.delete(np.arange(1, 8), j)
        w = simplex_weights(Y[pool, :6].T, Y[j + 1, :6])
        np.testing.assert_allclose(W[j, np.arange(7) != j], w, atol=1e-7)
        assert W[j, j] == 0.0
    test = rmspe_ratio_test(np.vstack([Y[0] - Y[1:].mean(axis=0), gaps]), 6)
    assert 1 <= test["rank"] <= 8 and test["p_value"] == test["rank"] / 8


def test_ridge_ascm_limits():
    rng = np.random.default_rng(0)
    Y0 = rng.normal(size=(12, 6))
    y1 = Y0[:3].mean(axis=0) + 0.5
    g_inf, w = ridge_ascm_weights(Y0, y1, np.inf)
    np.testing.assert_allclose(g_inf, w)
    g_small, _ = ridge_ascm_weights(Y0, y1, 1e-8)
    # a tiny penalty interpolates the pre-period (more donors than periods)
    np.testing.assert_allclose(g_small @ Y0, y1, atol=1e-5)
    assert g_small.sum() == pytest.approx(1.0)


def test_augmented_sc_result(load):
    res = get_estimator("augmented_sc").fit(load("california_prop99"), sc_spec())
    assert res.method == "augmented_sc"
    assert res.details["pre_rmspe"] < res.details["sc_pre_rmspe"]
    assert -25 < res.estimate < -5
    assert res.tables["ridge_cv"]["lambda"].is_monotonic_decreasing
    with pytest.raises(SpecError, match="'ridge_lambda' parameter"):
        get_estimator("augmented_sc", ridge_lambda=-1.0).fit(load("california_prop99"), sc_spec())


def test_plots_draw_for_every_kind(prop99_sc):
    again = ck.EffectEstimate.from_json(prop99_sc.to_json())
    for kind in ("trajectory", "gap", "weights", "time_weights"):
        fig = again.plot(kind)
        assert len(fig.data) > 0, kind
    gap = again.plot("gap")
    assert sum(1 for t in gap.data if t.legendgroup == "placebo") > 10
    assert gap.layout.yaxis.title.text == "gap in PacksPerCapita"


def test_caller_frame_untouched(load):
    data = load("prop99_adh")
    data["treated"] = ((data["state"] == "California") & (data["year"] >= 1989)).astype(int)
    before = data.copy()
    spec = ck.ExperimentSpec(name="t", design="synthetic_control", outcome="cigsale",
                             treatment="treated", unit="state", time="year",
                             options={"predictors": [{"column": "retprice", "period": [1980, 1988]}],
                                      "outcome_lags": [1975, 1988], "v": "identity"})
    res = ck.estimate(data, spec)
    pd.testing.assert_frame_equal(data, before)
    assert res.details["v_method"] == "identity"
    assert list(res.tables["predictor_balance"]["predictor"])[0].startswith("retprice")


def test_augmented_sc_constant_outcome_is_named():
    import causal_kit as ck
    from causal_kit.errors import CausalKitError

    df = ck.datasets.load("california_prop99").assign(PacksPerCapita=1.0)
    spec = ck.ExperimentSpec(name="c", design="synthetic_control", outcome="PacksPerCapita", treatment="treated",
                             unit="State", time="Year", estimators=["augmented_sc"])
    with pytest.raises(CausalKitError, match=r"'PacksPerCapita' \(spec.outcome\) is constant"):
        ck.estimate(df, spec)
