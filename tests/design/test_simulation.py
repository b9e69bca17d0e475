"""Simulation power on history: agreement with the analytic formula, A/A calibration, no bias.

Monte Carlo tolerances are stated in binomial MCSE; windows are made disjoint so that the
simulated tests are independent.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from causal_kit.design import power_cluster, simulate_power
from causal_kit.design.simulation import mde_from_sim, window_starts
from causal_kit.errors import DataError, SpecError

L, P, W = 10, 20, 2000
MU, SIGMA = 100.0, 5.0


@pytest.fixture(scope="module")
def iid_panel():
    # Every geo has the same level and iid noise: the per-geo (post - pre) change has
    # variance sigma^2 (1/L + 1/P), so the DiD t-test is exactly the two-arm cluster design
    # with m = L periods per geo, ICC 0 and sd sigma * sqrt(1 + L/P).
    T = P + (W - 1) * (P + L) + L
    rng = np.random.default_rng(42)
    return MU + SIGMA * rng.standard_normal((20, T))


def test_windows_are_disjoint_in_the_fixture():
    T = P + (W - 1) * (P + L) + L
    starts = window_starts(T, L, P, W)
    assert len(starts) == W and set(np.diff(starts)) == {P + L}


def test_did_power_matches_the_cluster_formula(iid_panel):
    designs = np.array([[1] * 8 + [0] * 12])
    out = simulate_power(iid_panel, designs, estimator="did", duration=L, pre_periods=P, n_windows=W)
    effects = np.array([0.0, 0.01, 0.02, 0.03])
    sim = out.evaluate(effects)["reject"][0].mean(axis=0)
    for e, p_sim in zip(effects, sim):
        p_theory = power_cluster(effect=e * MU, clusters=8, ratio=12 / 8, cluster_size=L, icc=0.0,
                                 sd=SIGMA * math.sqrt(1 + L / P)).power if e > 0 else 0.05
        mcse = math.sqrt(p_theory * (1 - p_theory) / W)
        assert abs(p_sim - p_theory) < 3 * mcse + 1e-9, (e, p_sim, p_theory)


def test_did_aa_type1_and_coverage_and_no_bias(iid_panel):
    designs = np.array([[1] * 10 + [0] * 10])
    out = simulate_power(iid_panel, designs, estimator="did", duration=L, pre_periods=P, n_windows=W)
    ev = out.evaluate([0.0, 0.05])
    mcse = math.sqrt(0.05 * 0.95 / W)
    assert abs(ev["reject"][0, :, 0].mean() - 0.05) < 3 * mcse
    assert abs(ev["cover"][0, :, 1].mean() - 0.95) < 3 * mcse
    rel_err = ev["rel_est"][0, :, 1] - 0.05
    assert abs(rel_err.mean()) < 3 * rel_err.std() / math.sqrt(W)


@pytest.mark.parametrize("estimator", ["time_regression", "synthetic_control", "sdid"])
def test_gap_estimators_recover_the_injected_lift(estimator):
    rng = np.random.default_rng(7)
    T = 400
    factor = np.cumsum(rng.normal(0, 0.5, T))
    Y = 100 + rng.uniform(0.5, 1.5, (15, 1)) * factor + rng.normal(0, 1.0, (15, T)) + 50 * rng.uniform(1, 2, (15, 1))
    designs = np.array([[1, 1, 1] + [0] * 12, [0] * 12 + [1, 1, 1]])
    out = simulate_power(Y, designs, estimator=estimator, duration=14, pre_periods=42, n_windows=40)
    ev = out.evaluate([0.0, 0.1])
    err = ev["rel_est"][..., 1] - 0.1
    assert abs(err.mean()) < 0.01  # lift of 10%: bias under a tenth of it
    # the lift enters linearly: the estimate moves by exactly the injected share of the baseline
    np.testing.assert_allclose(ev["rel_est"][..., 1] - ev["rel_est"][..., 0], 0.1, rtol=1e-10)
    assert ev["reject"][..., 1].mean() > ev["reject"][..., 0].mean()


def test_mde_reads_the_power_curve(iid_panel):
    designs = np.array([[1] * 10 + [0] * 10])
    out = simulate_power(iid_panel[:, :5000], designs, estimator="did", duration=L, pre_periods=P, n_windows=150)
    mde = mde_from_sim(out, 0.8)[0]
    theory = power_cluster(clusters=10, power=0.8, cluster_size=L, icc=0.0, sd=SIGMA * math.sqrt(1 + L / P)).effect / MU
    assert mde == pytest.approx(theory, rel=0.15)
    power_at_mde = out.evaluate([mde])["reject"].mean()
    assert power_at_mde >= 0.8 - 1e-9


def test_parallel_matches_serial(iid_panel):
    designs = np.array([[1] * 5 + [0] * 15])
    a = simulate_power(iid_panel[:, :3000], designs, estimator="time_regression", duration=L, pre_periods=P, n_windows=30)
    b = simulate_power(iid_panel[:, :3000], designs, estimator="time_regression", duration=L, pre_periods=P,
                       n_windows=30, n_jobs=2)
    np.testing.assert_allclose(np.sort(a.tau0), np.sort(b.tau0))


def test_errors():
    Y = np.ones((5, 30))
    with pytest.raises(DataError, match="fewer than pre_periods \\+ duration"):
        simulate_power(Y, np.array([[1, 0, 0, 0, 0]]), duration=20, pre_periods=20)
    with pytest.raises(SpecError, match="'estimator' parameter of simulate_power"):
        simulate_power(Y, np.array([[1, 0, 0, 0, 0]]), estimator="ols", duration=5, pre_periods=10)
    with pytest.raises(SpecError, match="at least one treated and one control"):
        simulate_power(Y, np.array([[1, 1, 1, 1, 1]]), duration=5, pre_periods=10)
