"""HonestDiD fixed-length confidence intervals (smoothness restriction): reference values, errors, validity."""

from __future__ import annotations

import numpy as np
import pytest
from test_honest_did_arp import B, E, V  # same directory (pytest puts it on sys.path)

from causal_kit.diagnostics.honest_did_arp import honest_sensitivity
from causal_kit.diagnostics.honest_did_flci import (
    flci,
    flci_breakdown,
    flci_sensitivity,
    folded_normal_quantile,
)
from causal_kit.errors import SpecError

# honestdid 0.1.1 (Python port of R HonestDiD): find_optimal_flci(B, V, M, numPrePeriods=3, numPostPeriods=4,
# l_vec) on the mpdta did2s event study of test_honest_did_arp, l_vec = first post period (default) or the
# average of the four post periods. Its folded-normal quantile is simulated (10^6 draws) and its optimum found
# by a finite-difference bisection, so agreement is to about 5e-5; 1e-4 is the tolerance asked for.
PEER = {
    ("first", 0.0): (-0.05723968616126554, -0.007502867042722825),
    ("first", 0.005): (-0.054546057701662064, 0.003500236960833368),
    ("first", 0.01): (-0.05908708926365268, 0.010476246866007746),
    ("first", 0.02): (-0.06829766655223383, 0.021450992559160317),
    ("first", 0.05): (-0.09829582695034769, 0.051449152957274175),
    ("average", 0.0): (-0.11430437156563396, -0.03801880171426923),
    ("average", 0.005): (-0.1275620564938949, -0.0038504579176645154),
    ("average", 0.01): (-0.1533250763759445, 0.025482816663651042),
    ("average", 0.02): (-0.20212349141332092, 0.07829775748170946),
    ("average", 0.05): (-0.3521234914781885, 0.22829775754657705),
}
L_VEC = {"first": None, "average": np.full(4, 0.25)}


@pytest.mark.parametrize("l_name", ["first", "average"])
def test_flci_matches_honestdid_on_the_m_grid(l_name):
    grid = [m for (name, m) in PEER if name == l_name]
    tab = flci_sensitivity(B, V, E, grid, l_vec=L_VEC[l_name])
    for row in tab.itertuples():
        lo, hi = PEER[(l_name, row.m)]
        assert row.lower == pytest.approx(lo, abs=1e-4)
        assert row.upper == pytest.approx(hi, abs=1e-4)
    assert (tab["method"] == "FLCI").all()


def test_flci_at_m_zero_is_the_minimum_variance_unbiased_interval():
    ci = flci(B, V, E, 0.0)
    assert ci.max_bias == 0.0
    assert ci.half_length == pytest.approx(1.959963985 * ci.sd, rel=1e-9)
    # a linear trend in the pre-periods cancels: sum over pre periods of (t - ref) v_t + sum_t t l_t = 0
    t = np.r_[E[:3] + 1, E[3:] + 1]
    assert float(t @ ci.weights) == pytest.approx(0.0, abs=1e-9)


def test_folded_normal_quantile():
    assert folded_normal_quantile(0.95, 0.0) == pytest.approx(1.959963985, abs=1e-8)
    # far from zero the folded normal is the normal: mean + z_{0.95}
    assert folded_normal_quantile(0.95, 8.0) == pytest.approx(8.0 + 1.644853627, abs=1e-6)


@pytest.mark.slow
def test_breakdown_is_where_the_flci_reaches_zero():
    lv = L_VEC["average"]
    bd = flci_breakdown(B, V, E, l_vec=lv, tol=1e-5)
    assert bd == pytest.approx(0.0056474, rel=1e-3)
    assert flci(B, V, E, bd * 0.999, l_vec=lv).upper < 0 <= flci(B, V, E, bd * 1.001, l_vec=lv).upper
    assert flci_breakdown(B, V, E, l_vec=lv, upper=bd / 2) == float("inf")
    assert np.isnan(flci_breakdown(np.r_[B[:3], np.zeros(4)], V, E, l_vec=lv))  # covers 0 already at M = 0
    # the exact ARP hybrid set under the same restriction is never wider at the breakdown M
    arp = honest_sensitivity(B, V, E, [bd], restriction="sd", l_vec=lv, grid_points=400).iloc[0]
    assert arp["lower"] < 0


def test_negative_or_non_finite_m_is_a_named_error():
    with pytest.raises(SpecError, match=r"smoothness bound M must be finite and >= 0 .*; 1 of 2 values are not"):
        flci_sensitivity(B, V, E, [0.01, -0.01])
    with pytest.raises(SpecError, match=r"smoothness bound M must be finite and >= 0"):
        flci(B, V, E, float("nan"))
    with pytest.raises(SpecError, match=r"M grid must be finite values >= 0"):
        honest_sensitivity(B, V, E, [-1.0], restriction="sd")


def test_bad_l_vec_is_named():
    with pytest.raises(SpecError, match=r"l_vec must have one weight per post period \(4\)"):
        flci(B, V, E, 0.01, l_vec=[1.0, 0.0])


def _worst_delta(v, n_pre, n_post, m):
    """delta in Delta^SD(M) maximising v'delta (an LP), with delta = 0 at the reference period."""
    from scipy.optimize import linprog

    n = n_pre + n_post + 1  # with the reference period at index n_pre
    D2 = np.diff(np.eye(n), n=2, axis=0)
    keep = np.r_[np.arange(n_pre), np.arange(n_pre + 1, n)]
    c = np.zeros(n)
    c[keep] = -v
    bounds = [(0, 0) if i == n_pre else (None, None) for i in range(n)]
    res = linprog(c, A_ub=np.vstack([D2, -D2]), b_ub=np.full(2 * len(D2), m), bounds=bounds, method="highs")
    return res.x[keep]


def test_coverage_at_the_worst_case_violation_is_nominal():
    """20,000 seeded draws of the event study at the least favourable delta: coverage 95% (MCSE 0.15 pt)."""
    rng = np.random.default_rng(7)
    lv = L_VEC["average"]
    tau = np.r_[np.zeros(3), -0.05, -0.05, -0.1, -0.1]
    for m in (0.0, 0.01):
        ci = flci(B, V, E, m, l_vec=lv)
        delta = _worst_delta(ci.weights, 3, 4, m)
        draws = rng.multivariate_normal(tau + delta, V, size=20_000)
        theta = float(lv @ tau[3:])
        cover = np.abs(draws @ ci.weights - theta) <= ci.half_length
        assert cover.mean() == pytest.approx(0.95, abs=0.006)


def test_two_stage_did_reports_the_smoothness_flci_on_mpdta():
    import causal_kit as ck
    from causal_kit.estimators.did_two_stage import TwoStageDiD

    spec = ck.ExperimentSpec(name="mpdta", design="staggered_did", outcome="lemp", unit="countyreal", time="year",
                             cohort="first.treat")
    res = TwoStageDiD(honest_sd_m=[0.0, 0.005, 0.01]).fit(ck.datasets.load("mpdta"), spec)
    tab = res.tables["honest_did_sd"].set_index("m")
    for m in (0.0, 0.005, 0.01):  # the same event study as B, V: honestdid's values for the average effect
        assert tab.loc[m, "lower"] == pytest.approx(PEER[("average", m)][0], abs=1e-4)
        assert tab.loc[m, "upper"] == pytest.approx(PEER[("average", m)][1], abs=1e-4)
    assert res.details["honest_sd_breakdown_m"] == pytest.approx(0.0056474, rel=1e-3)
    assert res.diagnostic("honest_did_sd").status == "warn"
    with pytest.raises(SpecError, match=r"smoothness bound M must be finite and >= 0"):
        TwoStageDiD(honest_sd_m=[-0.01]).fit(ck.datasets.load("mpdta"), spec)
