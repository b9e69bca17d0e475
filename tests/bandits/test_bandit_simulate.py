"""Bandit simulator: regret against known bandits, seeded reproducibility, constraints, errors."""

import numpy as np
import pandas as pd
import pytest

from causal_kit.bandits.demand import DemandModel, fit_demand
from causal_kit.bandits.policies import EpsilonGreedy, ThompsonBeta, ThompsonGaussian
from causal_kit.bandits.simulate import simulate_bandit
from causal_kit.errors import DataError, SpecError

# a Bernoulli bandit: one visitor per step buys with probability theta at price p
PRICES = [1.0, 2.0, 3.0, 4.0, 5.0]
THETA = [0.6, 0.35, 0.2, 0.1, 0.05]  # expected profit 0.6 0.7 0.6 0.4 0.25: the oracle price is 2
BERNOULLI = DemandModel(kind="table", table_prices=tuple(PRICES), table_units=tuple(THETA), noise="binomial")


@pytest.fixture(scope="module")
def bernoulli_runs():
    return simulate_bandit(BERNOULLI, PRICES, policies=[ThompsonBeta(), "ucb1"], horizon=10_000, visitors=1.0, n_reps=100, seed=11)


@pytest.mark.slow
def test_thompson_beats_ucb1_on_a_bernoulli_bandit_with_log_growth(bernoulli_runs):
    """Thompson sampling (Beta-Bernoulli) has lower regret than UCB1 at T=10,000 on the same
    arms and seeds (100 replications; measured 189 vs 1,095), and its regret grows like log T:
    each doubling of T adds about the same regret (1k->2k: 30, 4k->8k: 34), where linear
    growth would double the increment each time."""
    curves = bernoulli_runs.curves.set_index(["policy", "period"])["cum_regret"]
    ts, ucb = curves["thompson_beta"], curves["ucb1"]
    assert ts.iloc[-1] < 0.5 * ucb.iloc[-1]
    early, late = ts.iloc[1999] - ts.iloc[999], ts.iloc[7999] - ts.iloc[3999]
    assert late < 1.5 * early
    # the oracle price takes most of the late traffic
    alloc = bernoulli_runs.allocation
    late = alloc[(alloc.policy == "thompson_beta") & (alloc.period >= 9000)].groupby("price")["share"].mean()
    assert late.idxmax() == 2.0 and late.max() > 0.8


def test_seeded_runs_reproduce_and_seeds_differ():
    d = DemandModel(scale=0.05, elasticity=-2.0, ref_price=10.0, noise="negative_binomial", dispersion=5.0)
    kw = dict(unit_cost=4.0, horizon=40, n_reps=30, policies=["thompson_gaussian", "thompson_poisson", "ucb_v",
                                                              "epsilon_greedy", "fixed_ab"])
    a = simulate_bandit(d, [7, 8, 9, 10], seed=3, **kw)
    b = simulate_bandit(d, [7, 8, 9, 10], seed=3, **kw)
    c = simulate_bandit(d, [7, 8, 9, 10], seed=4, **kw)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert not a.curves["cum_profit"].equals(c.curves["cum_profit"])


def test_adaptive_policies_beat_fixed_ab_and_find_the_oracle():
    # elasticity -2.5, unit cost 5: the optimum (5 * 2.5 / 1.5 = 8.33) is nearest the 8 arm
    d = DemandModel(scale=0.05, elasticity=-2.5, ref_price=10.0, seasonality=(1.2, 1, 1, 1, 1, 0.8, 0.6))
    sim = simulate_bandit(d, [6, 7, 8, 9, 10, 11, 12], unit_cost=5.0, horizon=200, n_reps=200, seed=1,
                          policies=["thompson_gaussian", "fixed_ab"])
    assert sim.oracle_price == 8.0
    s = sim.summary.set_index("policy")
    assert s.loc["thompson_gaussian", "total_regret"] < 0.5 * s.loc["fixed_ab", "total_regret"]
    assert s.loc["thompson_gaussian", "oracle_traffic_share"] > 2 / 7  # twice the fixed test's 1/7 (9 is a near tie)
    arms = sim.arms[sim.arms.policy == "thompson_gaussian"].set_index("price")
    assert arms["p_best"].idxmax() == 8.0 and arms["p_best"].sum() == pytest.approx(1.0)
    assert sim.arms.loc[sim.arms.policy == "fixed_ab", "p_best"].isna().all()
    # fixed A/B: equal traffic to every arm
    ab = sim.arms[sim.arms.policy == "fixed_ab"]["traffic_share"]
    np.testing.assert_allclose(ab, 1 / 7, atol=0.01)
    # regret is never negative in expectation and the bands hold the mean
    c = sim.curves
    assert (c["cum_regret"] >= -1e-9).all()
    assert ((c["cum_regret_lo"] <= c["cum_regret"] + 1e-9) & (c["cum_regret"] <= c["cum_regret_hi"] + 1e-9)).all()


def test_constraints_floor_ceiling_and_max_change():
    d = DemandModel(scale=0.05, elasticity=-2.5, ref_price=10.0)
    prices = [6, 7, 8, 9, 10, 11, 12]
    sim = simulate_bandit(d, prices, unit_cost=5.0, horizon=60, n_reps=40, floor=9, ceiling=11, seed=2,
                          policies=[EpsilonGreedy(epsilon=0.3)])
    played = sim.allocation.groupby("price")["share"].sum()
    assert played[[6, 7, 8, 12]].sum() == 0
    assert sim.oracle_price == 9.0
    # at most a 20% move per period: the fixed test walks up one arm at a time and cannot jump back
    sim = simulate_bandit(d, prices, unit_cost=5.0, horizon=30, n_reps=20, max_change=0.2, seed=2,
                          policies=["fixed_ab", ThompsonGaussian()])
    ab = sim.allocation[(sim.allocation.policy == "fixed_ab") & (sim.allocation.share > 0)]
    path = ab.sort_values("period")["price"].to_numpy()
    assert len(path) == 30  # one price per period for every replication
    assert np.max(np.abs(np.diff(path) / path[:-1])) <= 0.2
    assert path[:7].tolist() == prices and path[7] == 10  # 6 is out of reach from 12; 10 is next in line
    ts = sim.allocation[sim.allocation.policy == "thompson_gaussian"]
    assert ts.loc[ts.period == 1, "share"].to_numpy() @ (ts.loc[ts.period == 1, "price"] > 7.2) == 0


def test_slices_split_traffic_within_a_period():
    d = DemandModel(scale=0.05, elasticity=-2.5, ref_price=10.0, noise="lognormal")
    sim = simulate_bandit(d, [7, 8, 9], unit_cost=5.0, horizon=20, n_reps=10, slices=3, policies=["fixed_ab"])
    first = sim.allocation[sim.allocation.period == 0]
    assert first["share"].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3])


def test_named_errors():
    d = DemandModel()
    with pytest.raises(SpecError, match="at least 2 distinct prices"):
        simulate_bandit(d, [10.0])
    with pytest.raises(DataError, match="not positive numbers"):
        simulate_bandit(d, [0.0, 10.0])
    with pytest.raises(SpecError, match="unknown policy 'greedy'"):
        simulate_bandit(d, [9.0, 10.0], policies=["greedy"])
    with pytest.raises(SpecError, match="no price arm lies within"):
        simulate_bandit(d, [9.0, 10.0], floor=20)
    with pytest.raises(SpecError, match="'horizon' parameter"):
        simulate_bandit(d, [9.0, 10.0], horizon=0)
    with pytest.raises(SpecError, match="The 'kind' parameter of DemandModel"):
        DemandModel(kind="exponential")


@pytest.mark.parametrize("noise", ["poisson", "negative_binomial", "lognormal"])
def test_noise_models_keep_the_mean(noise):
    d = DemandModel(noise=noise, dispersion=3.0, sigma=0.5)
    rng = np.random.default_rng(0)
    draws = d.sample_units(np.full(200_000, 4.0), 100.0, rng)
    assert draws.mean() == pytest.approx(4.0, rel=0.01)
    if noise == "negative_binomial":
        assert draws.var() == pytest.approx(4.0 + 16.0 / 3.0, rel=0.03)


def test_fit_demand_recovers_the_truth():
    rng = np.random.default_rng(5)
    truth = DemandModel(scale=30.0, elasticity=-1.7, ref_price=10.0, noise="negative_binomial", dispersion=4.0)
    p = rng.choice([8.0, 9.0, 10.0, 11.0, 12.0], 5000)
    hist = pd.DataFrame({"price": p, "units": truth.sample_units(truth.expected_units(p, 1.0), 1.0, rng)})
    fit = fit_demand(hist, price="price", units="units")
    assert fit.elasticity == pytest.approx(-1.7, abs=0.05)
    assert fit.noise == "negative_binomial" and fit.dispersion == pytest.approx(4.0, rel=0.25)
    lin = fit_demand(hist, price="price", units="units", kind="linear")
    assert lin.slope > 0
    with pytest.raises(DataError, match="single price"):
        fit_demand(hist.assign(price=10.0), price="price", units="units")
    with pytest.raises(DataError, match="column 'qty' \\(units\\)"):
        fit_demand(hist, price="price", units="qty")
