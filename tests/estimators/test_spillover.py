"""Ring DiD with spillover: closed form, simulation (bias, coverage), named errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import causal_kit as ck
from causal_kit.datasets.interference_sim import spillover_layout
from causal_kit.errors import DataError, IdentificationError, SpecError
from causal_kit.estimators.spillover import RingDiD
from causal_kit.inference.exposure import exposure_rings

BANDS = (15.0, 30.0)
FIELDS = dict(design="spillover", outcome="y", unit="geo", time="period", treatment="treated",
              coordinates=["lat", "lon"], spillover={"bands_km": list(BANDS)})


def _spec(**kw):
    return ck.ExperimentSpec(name="ring", **{**FIELDS, **kw})


def ring_closed_form(y: np.ndarray, group: np.ndarray, start: int, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Balanced panel, one adoption date: TWFE with group x post dummies is a difference of
    mean (post - pre) changes against group 0, and its CRV1 (unit clusters) is the HC0 of that
    cross-sectional regression times the fixest factor G/(G-1) (n-1)/(n-k). Vectorised over draws:
    ``y`` is (draws, N, T), ``group`` (draws, N) with 0 the comparison group."""
    d, n, t = y.shape
    delta = y[:, :, start:].mean(axis=2) - y[:, :, :start].mean(axis=2)
    onehot = group[..., None] == np.arange(n_groups)
    cnt = onehot.sum(axis=1)
    mean = (onehot * delta[..., None]).sum(axis=1) / cnt
    r2 = (delta - np.take_along_axis(mean, group, axis=1)) ** 2
    var = (onehot * r2[..., None]).sum(axis=1) / cnt**2
    k = (n_groups - 1) + 1 + t - 1
    c = n / (n - 1) * (n * t - 1) / (n * t - k)
    return mean[:, 1:] - mean[:, :1], np.sqrt(c * (var[:, 1:] + var[:, :1]))


def _draws(n_draws, seed, n_units=200, t=8, start=4, direct=2.0, spill=(1.0, 0.0)):
    lat, lon = spillover_layout(n_units, 11)
    rng = np.random.default_rng(seed)
    groups = np.empty((n_draws, n_units), int)
    for r in range(n_draws):
        treated = np.zeros(n_units, bool)
        treated[rng.choice(n_units, 40, replace=False)] = True
        ring, _ = exposure_rings(treated, lat=lat, lon=lon, bands_km=BANDS)
        groups[r] = np.where(ring == -1, 1, np.where(ring > 0, ring + 1, 0))  # 0 far, 1 treated, 2.. rings
    post = np.arange(t) >= start
    effect = np.array([0.0, direct, *spill])[groups]
    y = (rng.normal(0, 2, (n_draws, n_units, 1)) + rng.normal(0, 1, (n_draws, 1, t))
         + effect[..., None] * post + rng.normal(size=(n_draws, n_units, t)))
    return y, groups, lat, lon, start


def test_closed_form_matches_the_estimator():
    y, groups, lat, lon, start = _draws(1, 3)
    n, t = y.shape[1:]
    frame = pd.DataFrame({
        "geo": np.repeat([f"g{i:03d}" for i in range(n)], t), "period": np.tile(np.arange(t), n),
        "lat": np.repeat(lat, t), "lon": np.repeat(lon, t),
        "treated": ((groups[0] == 1)[:, None] & (np.arange(t) >= start)).astype(int).ravel(), "y": y[0].ravel()})
    res = RingDiD().fit(frame, _spec())
    est, se = ring_closed_form(y, groups, start, 4)
    eff = res.tables["effects"].set_index("term")
    np.testing.assert_allclose(eff.loc[["direct", "spillover 0-15 km", "spillover 15-30 km"], "estimate"],
                               est[0], rtol=1e-10)
    np.testing.assert_allclose(eff.loc[["direct", "spillover 0-15 km", "spillover 15-30 km"], "se"],
                               se[0], rtol=1e-10)
    naive_est, naive_se = ring_closed_form(y, (groups == 1).astype(int), start, 2)
    np.testing.assert_allclose([eff.loc["naive DiD", "estimate"], eff.loc["naive DiD", "se"]],
                               [naive_est[0, 0], naive_se[0, 0]], rtol=1e-10)


@pytest.mark.slow
def test_ring_did_is_unbiased_and_covers_while_naive_did_is_biased():
    n_draws = 2000
    y, groups, *_, start = _draws(n_draws, 2026)
    truth = np.array([2.0, 1.0, 0.0])
    est, se = ring_closed_form(y, groups, start, 4)
    n = y.shape[1]
    q = stats.t.ppf(0.975, n - 1)
    cover = (np.abs(est - truth) <= q * se).mean(axis=0)
    bias = est.mean(axis=0) - truth
    mcse = est.std(axis=0) / np.sqrt(n_draws)
    assert np.all(np.abs(bias) < 3 * mcse), (bias, mcse)
    assert np.all((cover >= 0.935) & (cover <= 0.965)), cover
    naive, _ = ring_closed_form(y, (groups == 1).astype(int), start, 2)
    naive_bias = naive[:, 0].mean() - 2.0
    # untreated controls include the 0-15 km ring lifted by 1.0, so the naive DiD understates the effect
    assert naive_bias < -0.2 and abs(naive_bias) > 10 * naive[:, 0].std() / np.sqrt(n_draws)


def test_bundled_example_recovers_the_truth():
    res = ck.estimate(ck.datasets.load("spillover_sim"), _spec())
    eff = res.tables["effects"].set_index("term")
    for term, truth in (("direct", 2.0), ("spillover 0-15 km", 1.0), ("spillover 15-30 km", 0.0)):
        assert eff.loc[term, "ci_low"] <= truth <= eff.loc[term, "ci_high"]
    assert {d.name: d.status for d in res.diagnostics}["spillover"] == "warn"


def test_adjacency_rings_match_hand_counts(tmp_path):
    # a path a-b-c-d-e-f-g-h: a treated from period 2; b is 1 hop, c 2 hops, the rest far
    units = list("abcdefgh")
    adj = pd.DataFrame({"unit": units[:-1], "neighbor": units[1:]})
    adj = pd.concat([adj, adj.rename(columns={"unit": "neighbor", "neighbor": "unit"})])
    path = tmp_path / "adj.csv"
    adj.to_csv(path, index=False)
    rng = np.random.default_rng(0)
    rows = [{"geo": u, "period": p, "treated": int(u == "a" and p >= 2), "y": rng.normal()}
            for u in units for p in range(4)]
    spec = ck.ExperimentSpec(name="adj", design="spillover", outcome="y", unit="geo", time="period",
                             treatment="treated", neighbors=str(path), spillover={"hops": 2})
    res = RingDiD().fit(pd.DataFrame(rows), spec)
    roles = res.tables["units"].set_index("unit")["ring"].to_dict()
    assert roles == {"a": -1, "b": 1, "c": 2, "d": 0, "e": 0, "f": 0, "g": 0, "h": 0}


def test_buffer_drops_exposed_units():
    data = ck.datasets.load("spillover_sim")
    res = RingDiD().fit(data, _spec(spillover={"bands_km": list(BANDS), "buffer": True}))
    assert res.tables["effects"]["term"].tolist() == ["direct", "naive DiD"]
    assert res.n_obs == 8 * (res.details["n_far"] + 24)


def test_conley_vcov_option_runs_and_differs_from_cluster():
    data = ck.datasets.load("spillover_sim")
    a = RingDiD().fit(data, _spec())
    b = RingDiD(vcov="conley", conley_cutoff_km=50.0).fit(data, _spec())
    assert a.estimate == pytest.approx(b.estimate, rel=1e-12) and a.se != b.se and "Conley" in b.inference


def test_named_errors():
    data = ck.datasets.load("spillover_sim")
    with pytest.raises(SpecError, match="needs spec.time"):
        RingDiD().fit(data.drop_duplicates("geo"), _spec(time=None))
    with pytest.raises(IdentificationError, match="beyond the last ring"):
        RingDiD().fit(data, _spec(spillover={"bands_km": [400.0]}))
    with pytest.raises(DataError, match="outside \\[-90, 90\\]"):
        RingDiD().fit(data.assign(lat=data["lat"] + 100), _spec())
    with pytest.raises(DataError, match="change within 1 unit"):
        bad = data.copy()
        bad.loc[0, "lat"] = 10.0
        RingDiD().fit(bad, _spec())
    with pytest.raises(SpecError, match="needs the role"):
        ck.ExperimentSpec(name="x", design="spillover", outcome="y", unit="geo", treatment="treated")
    with pytest.raises(SpecError, match="strictly increasing"):
        _spec(spillover={"bands_km": [30, 15]})
    with pytest.raises(SpecError, match="'vcov' parameter of RingDiD"):
        RingDiD(vcov="hc1").fit(data, _spec())


def test_caller_frame_untouched():
    data = ck.datasets.load("spillover_sim")
    before = data.copy()
    RingDiD().fit(data, _spec())
    pd.testing.assert_frame_equal(data, before)
