"""Aronow-Samii exposure-mapping estimator: design-based simulation, hand checks, named errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.datasets.interference_sim import spillover_layout
from causal_kit.errors import DataError, IdentificationError
from causal_kit.estimators.exposure_mapping import ExposureMapping
from causal_kit.inference.exposure import pairs_within_km
from causal_kit.inference.exposure_ht import condition_of, exposure_probabilities, ht_contrast


def _spec(**kw):
    fields = dict(name="as", design="spillover", outcome="y", unit="geo", treatment="treated",
                  coordinates=["lat", "lon"], spillover={"bands_km": [15]})
    return ck.ExperimentSpec(**{**fields, **kw})


def test_no_interference_graph_gives_the_difference_in_means_and_neyman_like_se():
    # with no edges every untreated unit is an unexposed control; complete randomisation of 10 of 20
    from scipy import sparse

    A = sparse.csr_matrix((20, 20))
    probs = exposure_probabilities(A, 10, n_draws=20_000, seed=3)
    np.testing.assert_allclose(probs.pi[0], 0.5, atol=0.015)
    rng = np.random.default_rng(0)
    y = rng.normal(size=20)
    z = np.zeros(20, bool)
    z[:10] = True
    est, se = ht_contrast(y, condition_of(z, A), probs, 0, 2, np.ones(20, bool), "hajek")
    assert est == pytest.approx(y[:10].mean() - y[10:].mean(), abs=0.02)
    assert se > 0


@pytest.mark.slow
def test_design_based_simulation_unbiased_and_conservative():
    n, n1, n_sims = 160, 40, 1000
    lat, lon = spillover_layout(n, 5)
    A = pairs_within_km(lat, lon, 15.0)
    probs = exposure_probabilities(A, n1, n_draws=20_000, seed=11)
    keep = (probs.pi > 0).all(axis=0)
    base = np.random.default_rng(1).normal(10, 2, n)  # fixed potential outcomes: randomness is the design only
    rng = np.random.default_rng(2026)
    est = {"ht": np.empty((n_sims, 2)), "hajek": np.empty((n_sims, 2))}
    cover = {"ht": np.empty((n_sims, 2)), "hajek": np.empty((n_sims, 2))}
    truth = np.array([2.0, 1.0])
    for s in range(n_sims):
        z = np.zeros(n, bool)
        z[rng.choice(n, n1, replace=False)] = True
        cond = condition_of(z, A)
        y = base + 2.0 * (cond == 0) + 1.0 * (cond == 1)
        for w, key in (("horvitz_thompson", "ht"), ("hajek", "hajek")):
            for j, k in enumerate((0, 1)):
                e, se = ht_contrast(y, cond, probs, k, 2, keep, w)
                est[key][s, j] = e
                cover[key][s, j] = abs(e - truth[j]) <= 1.959964 * se
    ht_bias = est["ht"].mean(axis=0) - truth
    ht_mcse = est["ht"].std(axis=0) / np.sqrt(n_sims)
    assert np.all(np.abs(ht_bias) < 3 * ht_mcse + 0.02), (ht_bias, ht_mcse)  # 0.02: Monte Carlo error of pi
    assert np.all(np.abs(est["hajek"].mean(axis=0) - truth) < 0.1)
    # the Aronow-Samii variance is conservative: coverage at least nominal (up to simulation error)
    assert np.all(cover["ht"].mean(axis=0) >= 0.935), cover["ht"].mean(axis=0)
    assert np.all(cover["hajek"].mean(axis=0) >= 0.935), cover["hajek"].mean(axis=0)


def test_estimator_on_bundled_cross_section():
    data = ck.datasets.load("spillover_sim").query("period == 8")
    res = ExposureMapping(n_draws=2000).fit(data, _spec())
    eff = res.tables["effects"].set_index("term")
    # one post-period cross-section of the simulated panel: true direct effect 2.0, spillover 1.0 within 15 km
    assert eff.loc["direct", "ci_low"] < 2.0 < eff.loc["direct", "ci_high"]
    assert eff.loc["spillover", "ci_low"] < 1.0 < eff.loc["spillover", "ci_high"]
    assert res.details["n_outside_estimand"] == 21  # units with no neighbour within 15 km can never be exposed
    assert set(res.tables["exposure"]["condition"]) == {"treated", "exposed control", "unexposed control"}
    ht = ExposureMapping(n_draws=2000, weighting="horvitz_thompson").fit(data, _spec())
    assert ht.estimate != res.estimate


def test_panel_input_uses_post_minus_pre_changes():
    panel = ck.datasets.load("spillover_sim")
    res = ExposureMapping(n_draws=2000).fit(panel, _spec(time="period"))
    eff = res.tables["effects"].set_index("term")
    assert eff.loc["direct", "ci_low"] < 2.0 < eff.loc["direct", "ci_high"]
    assert eff.loc["spillover", "ci_low"] < 1.0 < eff.loc["spillover", "ci_high"]
    cross = ExposureMapping(n_draws=2000).fit(panel.query("period == 8"), _spec())
    assert res.se < cross.se  # differencing out the unit levels shrinks the variance


def test_named_errors():
    data = ck.datasets.load("spillover_sim")
    with pytest.raises(DataError, match="takes one row per unit"):
        ExposureMapping(n_draws=200).fit(data, _spec())
    with pytest.raises(IdentificationError, match="needs one adoption date"):
        stag = data.assign(treated=np.where((data["geo"] == "g0000") & (data["period"] == 4), 1, data["treated"]))
        stag = stag.assign(treated=np.where((stag["geo"] == "g0000") & (stag["period"] >= 4), 1, stag["treated"]))
        ExposureMapping(n_draws=200).fit(stag, _spec(time="period"))
    one = data.query("period == 8")
    with pytest.raises(IdentificationError, match="too few units in some exposure condition"):
        ExposureMapping(n_draws=200).fit(one, _spec(spillover={"bands_km": [1000]}))
    with pytest.raises(ck.errors.SpecError, match="'weighting' parameter of ExposureMapping"):
        ExposureMapping(weighting="ipw").fit(one, _spec())
    with pytest.raises(ck.errors.SpecError, match="'n_draws' parameter of ExposureMapping"):
        ExposureMapping(n_draws=10).fit(one, _spec())


def test_adjacency_list_input(tmp_path):
    units = [f"u{i}" for i in range(12)]
    adj = pd.DataFrame({"unit": units[:-1], "neighbor": units[1:]})
    path = tmp_path / "adj.csv"
    pd.concat([adj, adj.rename(columns={"unit": "neighbor", "neighbor": "unit"})]).to_csv(path, index=False)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"geo": units, "treated": [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0], "y": rng.normal(size=12)})
    spec = ck.ExperimentSpec(name="as", design="spillover", outcome="y", unit="geo", treatment="treated",
                             neighbors=str(path))
    res = ExposureMapping(n_draws=1000).fit(frame, spec)
    conds = res.tables["exposure"].set_index("unit")["condition"]
    assert conds["u1"] == "exposed control" and conds["u2"] == "unexposed control" and conds["u0"] == "treated"
