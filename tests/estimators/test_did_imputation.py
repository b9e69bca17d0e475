"""Behaviour, errors and simulations for the imputation (BJS) and two-stage (did2s) estimators."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from causal_kit import ExperimentSpec
from causal_kit.datasets.simulate import simulate_staggered_panel
from causal_kit.errors import IdentificationError, SpecError
from causal_kit.estimators import get_estimator
from causal_kit.estimators._imputation_core import first_stage, relative_time
from causal_kit.estimators.did_imputation import ImputationDiD, bjs_variance
from causal_kit.estimators.did_two_stage import TwoStageDiD, two_stage_vcov

SIM = dict(outcome="y", unit="unit", time="period", cohort="cohort")


def _spec(**kw):
    return ExperimentSpec(name="s", design="staggered_did", **{**SIM, **kw})


def _draw(rng, n, t, cohorts, probs):
    """A balanced staggered panel with effects 1 + 0.5 e (heterogeneous over event time)."""
    first = rng.choice(np.r_[-1, np.asarray(cohorts) - 1], size=n, p=probs)  # position of first treated period
    rel = np.arange(t)[None, :] - first[:, None]
    D = (first[:, None] >= 0) & (rel >= 0)
    y = rng.normal(0, 1, n)[:, None] + np.cumsum(rng.normal(0.2, 0.3, t))[None, :] + D * (1 + 0.5 * rel)
    return y + rng.normal(0, 1, (n, t)), D, first


def _core(y, D, first):
    """The estimators' vectorised core on arrays (what fit() runs after loading the panel)."""
    n, t = y.shape
    observed = np.ones_like(D)
    pdat = SimpleNamespace(observed=observed, cluster=np.repeat(np.arange(n)[:, None], t, axis=1),
                           unit_clusters=np.arange(n), n_clusters=n)
    fs = first_stage(y, observed, D, "test")
    rel = relative_time(first, t)
    W = (fs.treated / fs.treated.sum())[..., None]
    est = float((W[..., 0] * fs.resid).sum())
    se_bjs = float(np.sqrt(bjs_variance(W, np.where(fs.treated, fs.resid, 0.0), fs, rel, first, pdat)[0, 0]))
    _, v2 = two_stage_vcov(fs.treated[..., None].astype(float), fs, pdat)
    return est, se_bjs, float(np.sqrt(v2[0, 0]))


def test_core_equals_fit_and_registry():
    rng = np.random.default_rng(3)
    y, D, first = _draw(rng, 60, 6, [3, 5], [0.3, 0.35, 0.35])
    import pandas as pd

    df = pd.DataFrame({"unit": np.repeat(np.arange(60), 6), "period": np.tile(np.arange(1, 7), 60),
                       "y": y.ravel(), "cohort": np.repeat(np.where(first >= 0, first + 1, 0), 6)})
    est, se_bjs, se_2s = _core(y, D, first)
    bjs = get_estimator("did_imputation").fit(df, _spec())
    two = get_estimator("did2s").fit(df, _spec())
    assert bjs.estimate == pytest.approx(est, abs=1e-12) and bjs.se == pytest.approx(se_bjs, abs=1e-12)
    assert two.estimate == pytest.approx(est, abs=1e-12) and two.se == pytest.approx(se_2s, abs=1e-12)
    es = bjs.tables["event_study"]
    assert es["kind"].tolist().count("reference") == 1 and set(es["kind"]) == {"lead", "reference", "post"}


def test_periods_without_untreated_units_are_a_named_error():
    # no never-treated units: from the last cohort's start every unit is treated
    df = simulate_staggered_panel(n_units=120, n_periods=8, cohorts=(3, 6), never_share=0.0, effect=2.0, seed=4)
    with pytest.raises(IdentificationError, match="3 period\\(s\\) have no untreated observation"):
        TwoStageDiD().fit(df, _spec())
    kept = df[df["period"] < 6]
    assert ImputationDiD().fit(kept, _spec()).estimate == pytest.approx(2.0, abs=0.3)


def test_errors_are_named():
    df = simulate_staggered_panel(n_units=40, n_periods=6, cohorts=(3, 5), seed=1)
    with pytest.raises(SpecError, match="does not support covariates"):
        ImputationDiD().fit(df, _spec(covariates=["x"]))
    with pytest.raises(SpecError, match="'horizon_max' parameter of TwoStageDiD"):
        TwoStageDiD(horizon_max=-1).fit(df, _spec())
    with pytest.raises(SpecError, match="'pretrend_leads' parameter of ImputationDiD"):
        ImputationDiD(pretrend_leads=0).fit(df, _spec())
    with pytest.raises(SpecError, match="'seed' parameter of ImputationDiD"):
        ImputationDiD(seed=True).fit(df, _spec())


def test_caller_frame_untouched_and_horizon_cap():
    df = simulate_staggered_panel(n_units=60, n_periods=8, cohorts=(3, 5), dynamic=0.5, seed=2)
    before = df.copy()
    res = ImputationDiD(horizon_max=2, pretrend_leads=1).fit(df, _spec())
    assert df.equals(before)
    es = res.tables["event_study"]
    assert es.loc[es["kind"] == "post", "event_time"].tolist() == [0, 1, 2]
    assert es.loc[es["kind"] == "lead", "event_time"].tolist() == [-2]


@pytest.mark.slow
def test_coverage_and_bias_over_1000_heterogeneous_panels():
    # Effects 1 + 0.5 e vary over event time; truth is each draw's average over its treated cells.
    rng = np.random.default_rng(20261129)
    reps = 1000
    err, cover = np.empty(reps), np.empty((reps, 2), dtype=bool)
    for i in range(reps):
        y, D, first = _draw(rng, 200, 6, [3, 5], [0.3, 0.35, 0.35])
        rel = np.arange(6)[None, :] - first[:, None]
        truth = float((1 + 0.5 * rel)[D].mean())
        est, se_bjs, se_2s = _core(y, D, first)
        err[i] = est - truth
        cover[i] = np.abs(est - truth) <= 1.959964 * np.array([se_bjs, se_2s])
    rate = cover.mean(axis=0)
    assert np.all((0.935 <= rate) & (rate <= 0.965)), rate
    assert abs(err.mean()) < 4 * err.std() / np.sqrt(reps)


def test_sparse_scores_equal_dense_sandwich_with_grouped_clusters():
    from causal_kit.estimators._did_common import load_panel
    from causal_kit.estimators.did_imputation import bjs_indicator_variance
    from causal_kit.estimators.did_two_stage import two_stage_indicators

    df = simulate_staggered_panel(n_units=90, n_periods=7, cohorts=(3, 5), dynamic=0.4, seed=8)
    df["grp"] = df["unit"] // 4
    pdat = load_panel(df, _spec(cluster="grp"), "test", covariates=False)
    assert pdat.unit_clusters is not None and pdat.n_clusters < 90
    fs = first_stage(pdat.panel.Y, pdat.observed, pdat.panel.D, "test")
    rel = relative_time(pdat.panel.first_treated, 7)
    hz = np.unique(rel[fs.treated])
    labels = np.where(fs.treated, np.searchsorted(hz, rel), -1)
    dense = (labels[..., None] == np.arange(len(hz))[None, None, :]).astype(float)
    b_fast, v_fast = two_stage_indicators(labels, len(hz), fs, pdat)
    b_dense, v_dense = two_stage_vcov(dense, fs, pdat)
    np.testing.assert_allclose(b_fast, b_dense, atol=1e-12)
    np.testing.assert_allclose(v_fast, v_dense, atol=1e-14)
    tau = np.where(fs.treated, fs.resid, 0.0)
    est, v_bjs = bjs_indicator_variance(labels, len(hz), tau, fs, rel, pdat.panel.first_treated, pdat)
    W = np.concatenate([(fs.treated / fs.treated.sum())[..., None], dense / dense.sum(axis=(0, 1))], axis=2)
    np.testing.assert_allclose(v_bjs, bjs_variance(W, tau, fs, rel, pdat.panel.first_treated, pdat), atol=1e-14)
    np.testing.assert_allclose(est[1:], b_dense, atol=1e-12)


def test_did2s_reports_pretrend_power_and_exact_honest_did():
    df = simulate_staggered_panel(n_units=150, n_periods=7, cohorts=(4, 6), dynamic=0.3, seed=6)
    res = TwoStageDiD(honest_mbar=[0, 1]).fit(df, _spec())
    names = {d.name for d in res.diagnostics}
    assert {"pre_trends", "pretrend_power", "honest_did"} <= names
    assert res.details["honest_method"] == "exact"
    assert res.tables["honest_did"]["method"].eq("exact ARP hybrid").all()
    approx = TwoStageDiD(honest_mbar=[0, 1], honest_method="approximate").fit(df, _spec())
    assert approx.details["honest_method"] == "approximate" and len(approx.tables["honest_did"]) == 2
    with pytest.raises(SpecError, match="'honest_method' parameter of TwoStageDiD"):
        TwoStageDiD(honest_method="arp").fit(df, _spec())
