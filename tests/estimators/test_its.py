"""Structural time-series readout (bsts): behaviour, named errors and coverage on the geo simulator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.errors import DataError, IdentificationError, SpecError
from causal_kit.estimators.its import StructuralTimeSeries, _ridge_gcv

SPEC = dict(name="its", design="its", outcome="kpi", unit="geo", time="date", treatment="treated")


@pytest.fixture(scope="module")
def panel():
    return ck.datasets.simulate_geo_panel(n_geos=9, n_days=150, treated=1, effect=0.10, seed=4)


def test_fit_fills_series_and_leaves_input_untouched(panel):
    before = panel.copy()
    res = StructuralTimeSeries(seasonal=7, scale="log", n_paths=400).fit(panel, ck.ExperimentSpec(**SPEC))
    pd.testing.assert_frame_equal(panel, before)
    series = res.tables["series"]
    post = series[series["post"]]
    assert len(post) == res.exposure == 30
    assert (post["effect_low"] <= post["effect_high"]).all()
    assert res.details["cumulative_effect"] == pytest.approx(post["effect"].sum())
    assert res.estimate == pytest.approx(post["effect"].mean())
    assert res.ci[0] < np.log(1.10) < res.ci[1]
    # cumulative band at the end holds the cumulative effect
    assert post["cumulative_low"].iloc[-1] <= res.details["cumulative_effect"] <= post["cumulative_high"].iloc[-1]


def test_same_seed_same_numbers(panel):
    spec = ck.ExperimentSpec(**SPEC)
    a = StructuralTimeSeries(n_paths=200).fit(panel, spec)
    b = StructuralTimeSeries(n_paths=200).fit(panel, spec)
    assert a.ci == b.ci


def test_treated_series_without_controls_is_a_named_error(panel):
    only_treated = panel[panel["geo"].isin(panel.loc[panel["treated"] == 1, "geo"].unique())]
    spec = ck.ExperimentSpec(**SPEC, treatment_start=str(panel.loc[panel["treated"] == 1, "date"].min()))
    with pytest.raises((IdentificationError, DataError), match="control"):
        StructuralTimeSeries().fit(only_treated, spec)


def test_no_control_units_identification_error(panel):
    all_treated = panel.assign(treated=np.where(panel["date"] >= panel.loc[panel["treated"] == 1, "date"].min(), 1, 0))
    with pytest.raises(IdentificationError, match="the treated series has no control series"):
        StructuralTimeSeries().fit(all_treated, ck.ExperimentSpec(**SPEC))


def test_log_scale_needs_positive_values(panel):
    bad = panel.copy()
    bad.loc[bad.index[3], "kpi"] = 0.0
    with pytest.raises(DataError, match="scale='log' needs a positive 'kpi'"):
        StructuralTimeSeries(scale="log").fit(bad, ck.ExperimentSpec(**SPEC))


def test_bad_option_is_a_spec_error(panel):
    with pytest.raises(SpecError, match="'trend' parameter of StructuralTimeSeries"):
        StructuralTimeSeries(trend="random_walk").fit(panel, ck.ExperimentSpec(**SPEC))


def test_short_pre_period_is_a_named_error(panel):
    late = panel[panel["date"] >= panel["date"].sort_values().unique()[-35]]
    with pytest.raises(DataError, match="the pre-period has 5 periods"):
        StructuralTimeSeries(seasonal=7).fit(late, ck.ExperimentSpec(**SPEC))


def test_ridge_gcv_loo_predictions_match_brute_force():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4))
    y = x @ np.array([1.0, -0.5, 0.2, 0.0]) + rng.normal(0, 0.3, 30)
    weights, loo, _, _ = _ridge_gcv(y, x)
    full = np.linalg.lstsq(np.column_stack([np.ones(30), x]), y, rcond=None)[0]
    # with 30 rows and 4 controls GCV keeps almost no shrinkage: near-OLS weights
    np.testing.assert_allclose(weights, full[1:], atol=0.05)
    intercept = y.mean() - x.mean(0) @ weights
    assert np.corrcoef(loo + intercept, y)[0, 1] > 0.8


def _coverage(n_draws: int, effect: float, seed: int):
    truth = np.log1p(effect)
    hits, estimates = [], []
    for s in range(n_draws):
        panel = ck.datasets.simulate_geo_panel(n_geos=11, n_days=150, treated=1, effect=effect, seed=seed + s)
        res = StructuralTimeSeries(seasonal=7, scale="log", n_paths=500).fit(panel, ck.ExperimentSpec(**SPEC))
        hits.append(res.ci[0] <= truth <= res.ci[1])
        estimates.append(res.estimate)
    return np.array(hits), np.array(estimates) - truth


@pytest.mark.slow
def test_coverage_on_geo_simulator_log_scale():
    # 200 seeded panels: 1 treated geo against 10 controls, 120 pre + 30 post days, true lift 5%
    hits, errors = _coverage(200, 0.05, seed=5000)
    assert abs(errors.mean()) < 4 * errors.std() / np.sqrt(errors.size)
    # measured 0.950 (MCSE 0.015), bias -0.003 (MCSE 0.002)
    assert 0.935 <= hits.mean() <= 0.965, hits.mean()
