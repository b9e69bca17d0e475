"""SyntheticDiD behaviour: options, errors, several and staggered treated units, inference, output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.errors import DataError, IdentificationError, SpecError
from causal_kit.estimators.sdid import sdid_fit
from causal_kit.inference.placebo import placebo_draws, sdid_placebo_estimates

PROP99 = dict(outcome="PacksPerCapita", treatment="treated", unit="State", time="Year")


def sim_panel(n_controls=20, n_periods=12, cohorts=((8, 1),), effect=2.0, seed=0):
    """Factor-model panel; ``cohorts`` lists (first treated period index, number of units)."""
    rng = np.random.default_rng(seed)
    n = n_controls + sum(k for _, k in cohorts)
    F = rng.normal(size=(n_periods, 2))
    Y = rng.normal(size=(n, 1)) * 2 + rng.normal(size=(n, 2)) @ F.T + rng.normal(size=(n, n_periods))
    first = np.full(n, -1)
    row = n_controls
    for g, k in cohorts:
        first[row:row + k] = g
        row += k
    D = (first[:, None] >= 0) & (np.arange(n_periods)[None, :] >= first[:, None])
    Y = Y + effect * D
    return pd.DataFrame({
        "unit": np.repeat([f"u{i:02d}" for i in range(n)], n_periods),
        "time": np.tile(np.arange(2000, 2000 + n_periods), n),
        "y": Y.ravel(), "d": D.ravel().astype(int),
    })


SIM = dict(outcome="y", treatment="d", unit="unit", time="time")


def spec_for(design="sdid", **kw):
    return ck.ExperimentSpec(name="t", design=design, **SIM, **kw)


def test_multiple_treated_units_average(load):
    data = sim_panel(cohorts=((8, 3),), seed=1)
    res = ck.estimate(data, spec_for())
    assert res.details["n_treated"] == 3
    assert res.exposure == 3 * 4
    assert abs(res.estimate - 2.0) < 1.0
    assert res.ci[0] < 2.0 < res.ci[1]


def test_staggered_adoption_weights_cohorts_by_unit_periods():
    data = sim_panel(n_controls=25, cohorts=((6, 2), (9, 2)), seed=2)
    res = ck.estimate(data, spec_for())
    assert res.details["n_cohorts"] == 2
    assert res.exposure == 2 * 6 + 2 * 3
    # the aggregate is the unit-period weighted mean of the cohort estimates
    Y = data.pivot(index="unit", columns="time", values="y").to_numpy()
    c = [sdid_fit(np.vstack([Y[:25], Y[25:27]]), 25, 6)["tau"],
         sdid_fit(np.vstack([Y[:25], Y[27:29]]), 25, 9)["tau"]]
    assert res.estimate == pytest.approx((12 * c[0] + 6 * c[1]) / 18, rel=1e-10)
    assert set(res.tables["time_weights"]["cohort"]) == {"2006", "2009"}


def test_jackknife_needs_two_treated_units(load):
    spec = ck.ExperimentSpec(name="t", design="sdid", **PROP99, options={"se_method": "jackknife"})
    with pytest.raises(IdentificationError, match="jackknife"):
        ck.estimate(load("california_prop99"), spec)
    res = ck.estimate(sim_panel(cohorts=((8, 3),), seed=3), spec_for(options={"se_method": "jackknife"}))
    assert res.se > 0 and "jackknife" in res.inference


def test_bootstrap_se_is_seeded():
    data = sim_panel(cohorts=((8, 3),), seed=4)
    spec = spec_for(seed=7, options={"se_method": "bootstrap", "n_reps": 30})
    a, b = ck.estimate(data, spec), ck.estimate(data, spec)
    assert a.se == b.se > 0
    assert len(a.tables["placebo_estimates"]) == 30
    par = ck.estimate(data, spec_for(seed=7, options={"se_method": "bootstrap", "n_reps": 30, "n_jobs": 2}))
    assert par.se == pytest.approx(a.se, rel=1e-12)


def test_random_placebo_reproducible_and_seed_sensitive(load):
    def se(seed):
        spec = ck.ExperimentSpec(name="t", design="sdid", **PROP99, seed=seed,
                                 options={"placebo_draws": "random", "n_reps": 50})
        return ck.estimate(load("california_prop99"), spec).se

    assert se(3) == se(3)
    assert se(3) != se(4)


def test_business_translation(load):
    res = ck.estimate(load("california_prop99"), ck.ExperimentSpec(name="t", design="sdid", **PROP99))
    d = res.details
    assert res.exposure == 12
    assert d["cumulative_effect"] == pytest.approx(res.estimate * 12)
    assert d["cumulative_ci_low"] == pytest.approx(res.ci[0] * 12)
    assert d["lift_pct"] == pytest.approx(100 * res.estimate / res.baseline)
    assert res.incremental_total[0] == pytest.approx(d["cumulative_effect"])
    assert list(res.tables["business"]["quantity"])[1] == "cumulative incremental outcome"


def test_plots_after_json_round_trip(load):
    res = ck.estimate(load("california_prop99"), ck.ExperimentSpec(name="t", design="sdid", **PROP99))
    again = ck.EffectEstimate.from_json(res.to_json())
    for kind in again.plot_kinds():
        fig = again.plot(kind)
        assert len(fig.data) > 0
        assert fig.layout.yaxis.title.text
    assert again.plot("time_weights").data[0].y.max() == pytest.approx(0.4271, abs=1e-4)


@pytest.mark.parametrize(
    "options, match",
    [({"estimator": "synthdid"}, "'estimator' parameter of SyntheticDiD"),
     ({"se_method": "conformal"}, "'se_method' parameter"),
     ({"n_reps": 1}, "'n_reps' parameter"),
     ({"eta_omega": -1.0}, "'eta_omega' parameter"),
     ({"placebo_draws": "all"}, "'placebo_draws' parameter"),
     ({"n_jobs": 0}, "'n_jobs' parameter")],
)
def test_bad_options(load, options, match):
    spec = ck.ExperimentSpec(name="t", design="sdid", **PROP99, options=options)
    with pytest.raises(SpecError, match=match):
        ck.estimate(load("california_prop99"), spec)


def test_treated_unit_missing_pre_periods(load):
    data = load("california_prop99")
    data = data[~((data["State"] == "California") & (data["Year"] < 1975))]
    with pytest.raises(DataError, match="pre-period cell.*treated unit"):
        ck.estimate(data, ck.ExperimentSpec(name="t", design="sdid", **PROP99))


def test_no_pre_period(load):
    data = load("california_prop99")
    data["treated"] = (data["State"] == "California").astype(int)
    with pytest.raises(IdentificationError, match="no pre-period"):
        ck.estimate(data, ck.ExperimentSpec(name="t", design="sdid", **PROP99))


def test_fewer_than_two_donors(load):
    data = load("california_prop99")
    data = data[data["State"].isin(["California", "Utah"])]
    with pytest.raises(IdentificationError, match="at least 2 never-treated donor"):
        ck.estimate(data, ck.ExperimentSpec(name="t", design="sdid", **PROP99))


def test_nan_in_outcome(load):
    data = load("california_prop99")
    data.loc[5, "PacksPerCapita"] = np.nan
    with pytest.raises(DataError, match="PacksPerCapita.*missing"):
        ck.estimate(data, ck.ExperimentSpec(name="t", design="sdid", **PROP99))


def test_treatment_starting_before_the_data(load):
    data = load("california_prop99")
    data["ever"] = (data["State"] == "California").astype(int)
    spec = ck.ExperimentSpec(name="t", design="sdid", outcome="PacksPerCapita", treatment="ever",
                             unit="State", time="Year", treatment_start=1960)
    with pytest.raises(IdentificationError, match="no pre-period"):
        ck.estimate(data, spec)


def test_runs_on_other_designs_spec(load):
    spec = ck.ExperimentSpec(name="t", design="synthetic_control", **PROP99,
                             estimators=["sdid", "synthetic_control", "augmented_sc"])
    results = ck.estimate(load("california_prop99"), spec)
    assert [r.method for r in results] == ["sdid", "synthetic_control", "augmented_sc"]
    assert all(r.estimate < 0 for r in results)


@pytest.mark.slow
def test_placebo_se_coverage_simulation():
    # Exchangeable factor-model panels with a known effect of 2: the normal CI with the
    # exhaustive placebo SE should cover about 95% of the time. 2,000 seeded draws (binomial
    # MCSE 0.49 points, so 93.5-96.5% is about +-3 MCSE). Each draw solves its fit and its 30
    # placebos as one batch with the estimator's own settings (synthdid's 10,000-step cap).
    rng = np.random.default_rng(20240601)
    n0, t0, t1, tau = 30, 6, 3, 2.0
    draws = placebo_draws(n0, 1, 0, None, exhaustive=True)
    hits, ests = [], []
    for _ in range(2000):
        F = rng.normal(size=(t0 + t1, 2))
        Y = rng.normal(size=(n0 + 1, 1)) * 2 + rng.normal(size=(n0 + 1, 2)) @ F.T
        Y = Y + rng.normal(size=Y.shape)
        Y[n0:, t0:] += tau
        fit = sdid_fit(Y, n0, t0)
        reps = sdid_placebo_estimates(Y[:n0], t0, draws, omega=fit["omega"], lam=fit["lambda"],
                                      zeta_omega=fit["zeta_omega"], zeta_lambda=fit["zeta_lambda"],
                                      min_decrease=fit["min_decrease"])
        hits.append(abs(fit["tau"] - tau) <= 1.959964 * reps.std())
        ests.append(fit["tau"])
    coverage = float(np.mean(hits))
    assert 0.935 <= coverage <= 0.965, coverage
    # unbiased: the mean estimate is within 3 Monte Carlo SEs of the truth
    ests = np.asarray(ests)
    assert abs(ests.mean() - tau) < 3 * ests.std() / np.sqrt(len(ests))


def test_placebo_with_several_treated_follows_synthdid():
    # R synthdid's placebo_se: each replicate permutes the controls, the last N1 play the
    # treated (averaged into one path), and synthdid_estimate is re-run with the original
    # fit's zeta_omega, zeta_lambda and min_decrease, starting from the original omega
    # (restricted to the remaining controls, renormalised) and lambda, and re-estimating
    # both. Given the same starts (``lam=fit["lambda"]``; the estimator itself starts lambda
    # from uniform, see the next test) the batched solver reproduces that loop draw by draw.
    data = sim_panel(n_controls=15, n_periods=10, cohorts=((7, 4),), seed=5)
    Y = data.pivot(index="unit", columns="time", values="y").to_numpy()
    fit = sdid_fit(Y, 15, 7)
    draws = placebo_draws(15, 4, 12, seed=3)
    assert draws.shape == (12, 4) and all(len(set(d)) == 4 for d in draws)
    batched = sdid_placebo_estimates(Y[:15], 7, draws, omega=fit["omega"], lam=fit["lambda"],
                                     zeta_omega=fit["zeta_omega"], zeta_lambda=fit["zeta_lambda"],
                                     min_decrease=fit["min_decrease"])
    settings = {k: fit[k] for k in ("zeta_omega", "zeta_lambda", "min_decrease", "noise_level")}
    looped, fixed_weights = [], []
    for d in draws:
        keep = np.setdiff1d(np.arange(15), d)
        om0 = fit["omega"][keep] / fit["omega"][keep].sum()
        Yp = np.vstack([Y[keep], Y[d]])
        r = sdid_fit(Yp, 11, 7, omega_init=om0, lambda_init=fit["lambda"], settings=settings)
        looped.append(r["tau"])
        a = np.r_[-om0, np.full(4, 0.25)]
        b = np.r_[-fit["lambda"], np.full(3, 1 / 3)]
        fixed_weights.append(a @ Yp @ b)
    np.testing.assert_allclose(batched, looped, rtol=1e-7, atol=1e-9)
    # the weights are re-estimated per replicate, not reused from the real fit
    assert np.max(np.abs(batched - np.asarray(fixed_weights))) > 1e-3


def test_placebo_time_weights_do_not_start_from_the_real_fit():
    # Regression: with more pre-periods than controls the real fit's lambda reproduces every
    # control's post-period mean, pseudo-treated included. synthdid's warm start from it
    # made each placebo refit stop at once and shrank the placebo SE (here by a factor 8;
    # on daily geo panels coverage fell to 0.82). The estimator starts lambda from uniform:
    # its replicates equal a loop of fresh synthdid fits with the original settings.
    data = sim_panel(n_controls=12, n_periods=40, cohorts=((34, 3),), seed=1)
    Y = data.pivot(index="unit", columns="time", values="y").to_numpy()
    fit = sdid_fit(Y, 12, 34)
    res = ck.estimate(data, spec_for(seed=3, options={"n_reps": 40, "placebo_pool": "controls"}))
    reps = res.tables["placebo_estimates"]["estimate"].to_numpy()
    draws = placebo_draws(12, 3, 40, seed=3)
    settings = {k: fit[k] for k in ("zeta_omega", "zeta_lambda", "min_decrease", "noise_level")}
    looped = []
    for d in draws:
        keep = np.setdiff1d(np.arange(12), d)
        om0 = fit["omega"][keep] / fit["omega"][keep].sum()
        looped.append(sdid_fit(np.vstack([Y[keep], Y[d]]), 9, 34, omega_init=om0,
                               settings=settings)["tau"])
    np.testing.assert_allclose(reps, looped, rtol=1e-7, atol=1e-9)
    # the SE is the population SD of the replicates (synthdid's sqrt((r - 1) / r) * sd)
    assert res.details["placebo_sd"] == pytest.approx(np.sqrt(39 / 40) * np.std(reps, ddof=1), rel=1e-12)
    # 40 replicates are too few for a 95% permutation quantile ((40 + 1) * 0.05 < 5): the
    # interval is normal with the placebo SD
    assert res.se == res.details["placebo_sd"] and "too few placebo estimates" in res.inference
    assert res.ci == pytest.approx((res.estimate - 1.959964 * res.se, res.estimate + 1.959964 * res.se), rel=1e-6)
    warm = sdid_placebo_estimates(Y[:12], 34, draws, omega=fit["omega"], lam=fit["lambda"],
                                  zeta_omega=fit["zeta_omega"], zeta_lambda=fit["zeta_lambda"],
                                  min_decrease=fit["min_decrease"])
    assert res.details["placebo_sd"] > 4 * warm.std()


def test_several_treated_units_use_randomisation_over_all_units():
    # default placebo_pool="auto": each draw re-assigns the treatment to 3 of all 15 units (the
    # treated included) and re-fits SDID; the replicates equal a loop of fresh fits, and the
    # interval inverts that test (CI excludes 0 exactly when p <= alpha)
    data = sim_panel(n_controls=12, n_periods=40, cohorts=((34, 3),), seed=1)
    Y = data.pivot(index="unit", columns="time", values="y").to_numpy()
    fit = sdid_fit(Y, 12, 34)
    res = ck.estimate(data, spec_for(seed=3, options={"n_reps": 120}))
    reps = res.tables["placebo_estimates"]["estimate"].to_numpy()
    draws = placebo_draws(15, 3, 120, seed=3)
    settings = {k: fit[k] for k in ("zeta_omega", "zeta_lambda", "min_decrease", "noise_level")}
    for k in (0, 7, 55):
        keep = np.setdiff1d(np.arange(15), draws[k])
        om0 = np.r_[fit["omega"], np.zeros(3)][keep]
        om0 = om0 / om0.sum()
        want = sdid_fit(np.vstack([Y[keep], Y[draws[k]]]), 12, 34, omega_init=om0, settings=settings)["tau"]
        assert reps[k] == pytest.approx(want, rel=1e-6, abs=1e-9)
    assert "re-assignments of the treatment to 3 units drawn from all units" in res.inference
    assert (res.p_value <= 0.05) == (not res.ci[0] <= 0 <= res.ci[1])
    assert res.ci[1] - res.ci[0] == pytest.approx(2 * 1.959964 * res.se, rel=1e-5)


def test_one_treated_unit_uses_a_t_interval_on_the_placebo_sd():
    # one treated unit: the SE is the SD of one placebo estimate per control (20 here), so the
    # interval uses t with 19 degrees of freedom (an exhaustive Prop 99 placebo study rejected
    # a true null in 6.0% of assignments with R's normal interval, 5.4% with this one)
    from scipy import stats

    res = ck.estimate(sim_panel(n_controls=20, seed=4), spec_for())
    assert len(res.tables["placebo_estimates"]) == 20
    q = stats.t.ppf(0.975, 19)
    assert res.ci == pytest.approx((res.estimate - q * res.se, res.estimate + q * res.se), rel=1e-9)
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(res.estimate / res.se), 19), rel=1e-9)
    assert "t CI and p-value with 19 degrees of freedom" in res.inference


def test_heterogeneous_unit_sizes_invert_a_proportional_effect():
    # level-scale geo panel (log-normal sizes): the randomisation interval is every average effect shared
    # among the treated in proportion to their size; the p-value of no effect does not depend on it
    from causal_kit.datasets import simulate_geo_panel

    df = simulate_geo_panel(n_geos=30, n_days=100, treated=6, effect=0.05, seed=3)
    spec = ck.ExperimentSpec(name="g", design="sdid", outcome="kpi", unit="geo", time="date", treatment="treated",
                             seed=1, options={"n_reps": 99})
    res = ck.estimate(df, spec)
    assert "in proportion to their pre-period means" in res.inference
    flat = ck.estimate(df, spec.update(options={"n_reps": 99, "placebo_scale": "none"}))
    assert "CI = every constant effect" in flat.inference
    assert res.p_value == flat.p_value and res.estimate == flat.estimate
    assert res.ci != flat.ci
