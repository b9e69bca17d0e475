"""de Chaisemartin-D'Haultfoeuille switching DiD: behaviour, named errors and simulations.

Reference values against diff-diff are in tests/reference/test_did_multiplegt_reference.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_switching_panel
from causal_kit.errors import DataError, IdentificationError, RowsDroppedWarning, SpecError
from causal_kit.estimators._dcdh_core import dynamic_effects, switch_metadata
from causal_kit.estimators.did_multiplegt import SwitchingDiD, _twfe, _vcov

SPEC = dict(name="promo", design="staggered_did", outcome="y", unit="unit", time="period", treatment="promo",
            estimators=["did_multiplegt"])


def _spec(**kw):
    return ck.ExperimentSpec(**(SPEC | kw))


@pytest.fixture(scope="module")
def panel():
    return simulate_switching_panel(n_units=120, n_periods=6, seed=3)


@pytest.mark.parametrize("name", ["did", "event_study", "staggered_did", "sun_abraham", "did_imputation", "did2s"])
def test_absorbing_estimators_point_to_the_switching_estimator(panel, name):
    spec = _spec(estimators=[name])
    with pytest.raises(DataError, match=r"switches off again for \d+ unit.*estimators: \[did_multiplegt\]"):
        ck.estimate(panel, spec)


def test_estimate_dispatches_and_fills_the_result(panel):
    res = ck.estimate(panel, _spec())
    res = res[0] if isinstance(res, list) else res
    assert res.method == "did_multiplegt"
    es = res.tables["event_study"]
    assert set(es["kind"]) == {"lead", "reference", "post"}
    assert np.isfinite(res.se) and res.se > 0
    assert res.ci[0] < res.estimate < res.ci[1]
    assert {d.name for d in res.diagnostics} == {"pre_trends", "multi_switch", "horizon_coverage"}
    assert set(res.tables["trends"]["group"]) >= {"joiners", "leavers"}


def test_influence_values_sum_to_the_estimate(panel):
    Y = panel["y"].to_numpy().reshape(120, 6)
    D = panel["promo"].to_numpy().reshape(120, 6).astype(float)
    obs = np.ones_like(Y, dtype=bool)
    meta = switch_metadata(D, obs)
    eff, pl = dynamic_effects(Y, obs, meta, 3, 2)
    for h in eff + pl:
        assert h.influence.sum() == pytest.approx(h.n_switchers * h.estimate, rel=1e-12)


def test_default_horizons_keep_half_the_switchers(panel):
    res = SwitchingDiD().fit(panel, _spec())
    post = res.tables["event_study"].query("kind == 'post'")
    assert post["n_switchers"].iloc[-1] >= 0.5 * post["n_switchers"].iloc[0]
    assert res.details["effects"] == len(post)


def test_joiners_only_and_leavers_only_match_hand_computation():
    # 4 units, 3 periods: one joiner at period 2, two stayers untreated, one stayer treated
    df = pd.DataFrame({"unit": np.repeat([1, 2, 3, 4, 5], 3), "period": np.tile([1, 2, 3], 5),
                       "promo": [0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1],
                       "y": [1.0, 3.0, 4.0, 2.0, 2.5, 3.0, 0.0, 1.0, 1.5, 5.0, 5.0, 5.0, 1.0, 1.0, 3.0]})
    res = SwitchingDiD(effects=1, placebos=0).fit(df, _spec())
    # DID_1: joiners at t=2 (unit 1: +2) vs untreated not yet switched (units 2, 3, 5: 0.5, 1, 0) and
    # joiner at t=3 (unit 5: +2) vs untreated still untreated at t=3 (units 2, 3: 0.5, 0.5)
    expected = ((2.0 - 0.5) + (2.0 - 0.5)) / 2
    assert res.estimate == pytest.approx(expected, abs=1e-12)


def test_multi_switch_units_are_dropped_with_a_warning_or_kept():
    df = simulate_switching_panel(n_units=150, n_periods=6, on_off_share=0.2, seed=4)
    with pytest.warns(RowsDroppedWarning, match=r"switch treatment more than once"):
        dropped = SwitchingDiD(effects=2).fit(df, _spec())
    assert dropped.n_dropped == 6 * dropped.details["n_multi_switch_dropped"] > 0
    kept = SwitchingDiD(effects=2, multi_switch="keep").fit(df, _spec())
    assert kept.n_units == 150 and kept.n_dropped == 0
    assert kept.estimate != pytest.approx(dropped.estimate)


def test_cluster_column_coarser_than_units_widens_nothing_when_it_is_the_unit(panel):
    by_unit = SwitchingDiD(effects=2).fit(panel, _spec())
    same = SwitchingDiD(effects=2).fit(panel.assign(store=panel["unit"]), _spec(cluster="store"))
    assert same.se == pytest.approx(by_unit.se, rel=1e-12)
    regions = SwitchingDiD(effects=2).fit(panel.assign(region=panel["unit"] % 10), _spec(cluster="region"))
    assert regions.details["n_clusters"] == 10 and regions.se != pytest.approx(by_unit.se)


def test_caller_frame_is_not_mutated(panel):
    before = panel.copy()
    SwitchingDiD(effects=2).fit(panel, _spec())
    pd.testing.assert_frame_equal(panel, before)


# ---- named errors ---------------------------------------------------------------------------

def test_cohort_spec_is_refused(panel):
    spec = ck.ExperimentSpec(name="c", design="staggered_did", outcome="lemp", unit="countyreal", time="year",
                             cohort="first.treat")
    with pytest.raises(SpecError, match=r"needs spec.treatment .*spec.cohort"):
        SwitchingDiD().fit(ck.datasets.load("mpdta"), spec)


def test_covariates_and_weights_are_refused(panel):
    with pytest.raises(SpecError, match=r"does not support covariates"):
        SwitchingDiD().fit(panel.assign(x=1.0), _spec(covariates=["x"]))
    with pytest.raises(SpecError, match=r"does not support observation weights"):
        SwitchingDiD().fit(panel.assign(w=1.0), _spec(weights="w"))


def test_bad_options_are_named(panel):
    with pytest.raises(SpecError, match=r"'effects' parameter of SwitchingDiD"):
        SwitchingDiD(effects=0).fit(panel, _spec())
    with pytest.raises(SpecError, match=r"'multi_switch' parameter of SwitchingDiD must be one of"):
        SwitchingDiD(multi_switch="ignore").fit(panel, _spec())


def test_units_missing_the_first_period_or_with_gaps_are_named(panel):
    late = panel[~((panel["unit"] == 5) & (panel["period"] == 1))]
    with pytest.raises(DataError, match=r"1 unit\(s\) in 'unit' .* not observed in the first period"):
        SwitchingDiD().fit(late, _spec())
    gap = panel[~((panel["unit"] == 5) & (panel["period"] == 3))]
    with pytest.raises(DataError, match=r"1 unit\(s\) in 'unit' .* gaps inside"):
        SwitchingDiD().fit(gap, _spec())


def test_cluster_that_splits_a_unit_is_named(panel):
    with pytest.raises(DataError, match=r"'region' \(spec.cluster\) changes within"):
        SwitchingDiD().fit(panel.assign(region=panel["period"] % 2), _spec(cluster="region"))


def test_no_stayer_with_the_same_status_quo_is_named():
    # every untreated unit joins at period 2: no control has the joiners' status quo
    df = pd.DataFrame({"unit": np.repeat([1, 2, 3, 4], 3), "period": np.tile([1, 2, 3], 4),
                       "promo": [0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1], "y": np.arange(12.0) % 5})
    with pytest.raises(IdentificationError, match=r"no switching unit has a control"):
        SwitchingDiD().fit(df, _spec())


# ---- simulations ----------------------------------------------------------------------------

def _draw(seed: int, n: int = 300, t: int = 8, lags: int = 3):
    df = simulate_switching_panel(n_units=n, n_periods=t, seed=seed)
    Y = df["y"].to_numpy().reshape(n, t)
    D = df["promo"].to_numpy().reshape(n, t).astype(float)
    te = df["true_effect"].to_numpy().reshape(n, t)
    obs = np.ones((n, t), dtype=bool)
    meta = switch_metadata(D, obs)
    eff, _ = dynamic_effects(Y, obs, meta, lags, 0)
    n_l = np.array([h.n_switchers for h in eff], float)
    V = _vcov(np.column_stack([h.influence for h in eff]), n_l, meta.cohort, np.arange(n))
    b = np.array([h.estimate for h in eff])
    truth = np.array([te[h.eligible, meta.first_switch[h.eligible] - 1 + lag].mean()
                      for lag, h in enumerate(eff, 1)])
    w = n_l / n_l.sum()
    return np.r_[b, w @ b], np.sqrt(np.r_[np.diag(V), w @ V @ w]), np.r_[truth, w @ truth], _twfe(Y, D, obs)


@pytest.mark.slow
def test_coverage_and_bias_against_twfe_1000_draws():
    """1,000 seeded panels (300 units x 8 periods, dynamic heterogeneous effects, joiners and leavers).

    Coverage of the 95% CI of DID_1..DID_3 and of the average total effect must be within
    93.5-96.5% (MCSE 0.7 points); bias within 3 MCSE of zero, while TWFE misses the same target.
    """
    draws = [_draw(s) for s in range(1000)]
    est = np.array([d[0] for d in draws])
    se = np.array([d[1] for d in draws])
    truth = np.array([d[2] for d in draws])
    twfe = np.array([d[3] for d in draws])
    cover = (np.abs(est - truth) <= 1.959964 * se).mean(axis=0)
    assert np.all((cover >= 0.935) & (cover <= 0.965)), cover
    err = est - truth
    mcse = err.std(axis=0) / np.sqrt(len(err))
    assert np.all(np.abs(err.mean(axis=0)) < 3 * mcse), (err.mean(axis=0), mcse)
    twfe_err = twfe - truth[:, -1]
    assert abs(twfe_err.mean()) > 10 * twfe_err.std() / np.sqrt(len(twfe_err))


def test_unbiased_on_a_few_draws():
    draws = [_draw(s, n=200, t=6, lags=2) for s in range(40)]
    err = np.array([d[0] - d[2] for d in draws])
    assert np.all(np.abs(err.mean(axis=0)) < 4 * err.std(axis=0) / np.sqrt(len(err)))
