"""Anomaly flags (robust seasonal z-scores) and the drafted experiment planned on history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal_kit.errors import DataError, SpecError
from causal_kit.explain import flag_anomalies, simulate_kpi_history, suggest_experiment

FAST = dict(n_windows=6, n_candidates=2, candidate_estimators=("did",), aa_target_mcse=None, progress=False)


def test_the_shocked_station_ranks_first_and_is_flagged():
    h = simulate_kpi_history(110, stations=8, seed=0)
    t = flag_anomalies(h, segment="station", time="week", metric="on_time_rate", season=52)
    top = t.iloc[0]
    assert top["segment"] == "S3" and top["flagged"] and top["robust_z"] < -3.5
    assert top["deviation"] == pytest.approx(-0.10, abs=0.03)
    assert t["flagged"].sum() == 1 and list(t["rank"]) == list(range(1, 9))


def test_seasonal_peak_is_not_an_anomaly_once_seasonality_is_modelled():
    weeks = np.arange(1, 157)
    rng = np.random.default_rng(1)
    y = 100 + 20 * (weeks % 52 == 0) + rng.normal(0, 1, len(weeks))  # a yearly peak, last week is one
    h = pd.DataFrame({"seg": "a", "week": weeks, "kpi": y})
    plain = flag_anomalies(h, segment="seg", time="week", metric="kpi")
    seasonal = flag_anomalies(h, segment="seg", time="week", metric="kpi", season=52)
    assert plain.iloc[0]["flagged"] and not seasonal.iloc[0]["flagged"]


def test_one_past_outlier_does_not_mask_a_new_shift():
    rng = np.random.default_rng(2)
    y = rng.normal(50, 1, 40)
    y[10] = 500.0  # an old outlier would inflate a standard deviation tenfold
    y[-1] = 56.0
    t = flag_anomalies(pd.DataFrame({"s": "x", "t": range(40), "m": y}), segment="s", time="t", metric="m")
    assert t.iloc[0]["robust_z"] > 3.5


def test_anomaly_inputs_are_checked():
    h = simulate_kpi_history(20, stations=2)
    with pytest.raises(DataError, match=r"2 duplicated \('station', 'week'\) rows"):
        flag_anomalies(pd.concat([h, h.iloc[:2]]), segment="station", time="week", metric="on_time_rate")
    with pytest.raises(DataError, match=r"19 earlier periods; season=52 needs at least 104"):
        flag_anomalies(h, segment="station", time="week", metric="on_time_rate", season=52)
    with pytest.raises(SpecError, match=r"'season' parameter"):
        flag_anomalies(h, segment="station", time="week", metric="on_time_rate", season=1)


def test_suggested_experiment_is_a_planned_did_spec():
    h = simulate_kpi_history(60, stations=12, seed=0)
    before = h.copy()
    s = suggest_experiment(h, driver="late trucks at S3", unit="station", time="week", outcome="on_time_rate",
                           target_lift=0.03, durations=(4, 8), must_treat=("S3",), **FAST)
    pd.testing.assert_frame_equal(h, before)
    assert s.spec.design == "did" and s.spec.outcome == "on_time_rate" and s.spec.name == "confirm_late_trucks_at_s3"
    assert "S3" in s.design.treated_units
    table = s.design.duration_table.set_index("duration")
    assert s.confirmable and s.duration == 4 and table.loc[4, "mde"] <= 0.03
    tiny = suggest_experiment(h, driver="x", unit="station", time="week", outcome="on_time_rate",
                              target_lift=1e-5, durations=(4, 8), **FAST)
    assert not tiny.confirmable and tiny.duration is None
    assert tiny.to_dict()["spec"]["plan"]["expected_lift"] == 1e-5


def test_target_lift_must_be_positive():
    h = simulate_kpi_history(20, stations=4)
    with pytest.raises(SpecError, match=r"'target_lift' parameter .* Got -0.02"):
        suggest_experiment(h, driver="x", unit="station", time="week", outcome="on_time_rate", target_lift=-0.02)
