"""Switchback: burn-in-dropped difference in means (bias, coverage), naive bias, exact RI size, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.errors import DataError, SpecError
from causal_kit.estimators.switchback import Switchback
from causal_kit.inference.switchback import dim_draws, draw_schedules

SPEC = dict(name="sb", design="switchback", outcome="orders", unit="city", time="hour", treatment="policy",
            switchback={"period_length": 6, "carryover": 1})


def _panels(n_draws, seed, n=10, k=40, L=6, m=1, effect=1.0, rho=0.5):
    """Vectorised switchback panels (draws, N, T): the policy in force lags the assignment by m steps."""
    rng = np.random.default_rng(seed)
    W = draw_schedules(n_draws, np.arange(n), k, 0.5, seed + 1)  # (D, N, K)
    prev = np.concatenate([np.zeros((n_draws, n, 1)), W[:, :, :-1]], axis=2)
    t = k * L
    in_force = np.repeat(W, L, axis=2)
    burn = (np.arange(t) % L) < m
    in_force[:, :, burn] = np.repeat(prev, L, axis=2)[:, :, burn]
    e = rng.normal(size=(n_draws, n, t))
    ar = np.empty_like(e)
    ar[..., 0] = e[..., 0]
    for s in range(1, t):
        ar[..., s] = rho * ar[..., s - 1] + e[..., s]
    Y = (rng.normal(10, 1, (n_draws, n, 1)) + rng.normal(0, 0.5, (n_draws, 1, t)) + ar + effect * in_force)
    return Y, W


def _sums(Y, L, m):
    d, n, t = Y.shape
    blocks = Y.reshape(d, n, t // L, L)
    return blocks[..., m:].sum(axis=3), np.full(blocks.shape[:3], float(L - m))


@pytest.mark.slow
def test_dropping_burn_in_is_unbiased_and_covers_and_naive_is_biased():
    from scipy import stats

    n_draws = 2000
    Y, W = _panels(n_draws, 7)
    S, C = _sums(Y, 6, 1)
    est, se = dim_draws(S, C, W)
    k = W.shape[2]
    q = stats.t.ppf(0.975, k - 1)
    cover = float(np.mean(np.abs(est - 1.0) <= q * se))
    mcse = est.std() / np.sqrt(n_draws)
    assert abs(est.mean() - 1.0) < 3 * mcse, (est.mean(), mcse)
    assert 0.935 <= cover <= 0.965, cover
    S0, C0 = _sums(Y, 6, 0)
    naive, _ = dim_draws(S0, C0, W)
    # one of six steps per period still carries the previous policy: the naive estimate shrinks towards 0
    assert naive.mean() < 1.0 - 10 * naive.std() / np.sqrt(n_draws)
    # on a burn-in step the policy in force is the previous period's, independent of the current one, so
    # those steps show no contrast: the naive estimate is (L - m) / L = 5/6 of the effect
    assert naive.mean() == pytest.approx(5 / 6, abs=0.02)


@pytest.mark.slow
def test_randomisation_test_has_exact_size_under_the_sharp_null():
    n_sims, n_ri = 2000, 199
    Y, W = _panels(n_sims, 11, n=6, k=24, effect=0.0)
    S, C = _sums(Y, 6, 1)
    est, _ = dim_draws(S, C, W)
    reject = np.empty(n_sims, bool)
    for s in range(n_sims):
        placebo, _ = dim_draws(S[s], C[s], draw_schedules(n_ri, np.arange(6), 24, 0.5, 10_000 + s))
        p = (1 + np.sum(np.abs(placebo) >= abs(est[s]))) / (n_ri + 1)
        reject[s] = p <= 0.05
    rate, mcse = reject.mean(), np.sqrt(0.05 * 0.95 / n_sims)
    assert abs(rate - 0.05) < 3 * mcse, rate


def test_estimator_on_bundled_example():
    res = ck.estimate(ck.datasets.load("switchback_sim"), ck.ExperimentSpec(**SPEC))
    inf = res.tables["inference"].set_index("method")
    assert inf.loc["randomization", "ci_low"] < 1.0 < inf.loc["randomization", "ci_high"]
    assert inf.loc["hac", "ci_low"] < 1.0 < inf.loc["hac", "ci_high"]
    assert inf.loc["naive (burn-in kept)", "estimate"] < res.estimate
    assert res.dropped_reasons["burn-in steps"] == 10 * 40
    lags = res.tables["carryover"].set_index("lag")
    assert lags.loc[1, "p_value"] < 0.001  # the policy acts one step late: the lag-1 coefficient carries it
    assert {d.name: d.status for d in res.diagnostics}["carryover"] == "pass"
    assert len(res.tables["schedule"]) == 10 * 40


def test_hac_option_and_ri_p_value_formula():
    data = ck.datasets.load("switchback_sim")
    hac = Switchback(inference="hac").fit(data, ck.ExperimentSpec(**SPEC))
    assert hac.df_resid == 39 and "clustered by randomisation period" in hac.inference
    ri = Switchback(n_draws=199).fit(data, ck.ExperimentSpec(**SPEC))
    assert ri.p_value == pytest.approx(1 / 200)  # no re-drawn schedule comes close to the observed effect


def test_short_burn_in_is_flagged():
    from causal_kit.datasets import simulate_switchback

    data = simulate_switchback(carryover=2, seed=3, n_periods=60)
    res = Switchback(n_draws=199).fit(data, ck.ExperimentSpec(**{**SPEC, "switchback": {"period_length": 6,
                                                                                          "carryover": 1}}))
    diag = {d.name: d for d in res.diagnostics}["carryover"]
    assert diag.status == "warn" and "Set switchback.carryover to 2" in diag.message


def test_named_errors():
    data = ck.datasets.load("switchback_sim")
    with pytest.raises(SpecError, match="periods shorter than the carryover"):
        ck.ExperimentSpec(**{**SPEC, "switchback": {"period_length": 2, "carryover": 2}})
    with pytest.raises(SpecError, match="needs the role"):
        ck.ExperimentSpec(**{k: v for k, v in SPEC.items() if k != "switchback"})
    with pytest.raises(DataError, match=r"changes within \d+ \(unit, period\) cell\(s\) of 12 steps"):
        Switchback().fit(data, ck.ExperimentSpec(**{**SPEC, "switchback": {"period_length": 12}}))
    with pytest.raises(DataError, match="not a whole number of periods"):
        Switchback().fit(data[data["hour"] < 237], ck.ExperimentSpec(**SPEC))
    with pytest.raises(DataError, match="unbalanced"):
        Switchback().fit(data.drop(index=5), ck.ExperimentSpec(**SPEC))
    with pytest.raises(DataError, match="follow different schedules"):
        Switchback().fit(data.assign(region="all"),
                         ck.ExperimentSpec(**{**SPEC, "switchback": {"period_length": 6, "block": "region"}}))
    with pytest.raises(SpecError, match="'inference' parameter of Switchback"):
        Switchback(inference="bootstrap").fit(data, ck.ExperimentSpec(**SPEC))


def test_caller_frame_untouched():
    data = ck.datasets.load("switchback_sim")
    before = data.copy()
    Switchback(n_draws=199).fit(data, ck.ExperimentSpec(**SPEC))
    pd.testing.assert_frame_equal(data, before)
