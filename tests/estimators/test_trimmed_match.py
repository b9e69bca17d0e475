"""Trimmed match: behaviour, named errors, exactness of the fast paths, and coverage on simulated pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import causal_kit as ck
from causal_kit.datasets.paired_geos import paired_geo_deltas
from causal_kit.errors import DataError, IdentificationError, SpecError
from causal_kit.estimators import _trimmed_match_core as core
from causal_kit.estimators.trimmed_match import TrimmedMatch

SPEC = dict(name="tm", design="trimmed_match", outcome="response", spend="spend", unit="geo", pair="pair",
            treatment="treated")


@pytest.fixture(scope="module")
def data():
    return ck.datasets.simulate_paired_geos(n_pairs=40, iroas=2.0, seed=3)


def test_fit_fills_tables_and_leaves_input_untouched(data):
    before = data.copy()
    res = ck.estimate(data, ck.ExperimentSpec(**SPEC))
    pd.testing.assert_frame_equal(data, before)
    assert res.method == "trimmed_match" and res.estimand == "iROAS"
    pairs = res.tables["pairs"]
    assert len(pairs) == 40 and pairs["trimmed"].sum() == 2 * res.details["n_trimmed_per_tail"]
    assert res.tables["trim_rates"]["chosen"].sum() == 1
    assert res.ci[0] < res.estimate < res.ci[1]
    assert res.exposure == pytest.approx(pairs["delta_spend"].sum())


def test_panel_rows_are_summed_over_the_test_window(data):
    days = [data.assign(day=d, response=data["response"] / 7, spend=data["spend"] / 7) for d in range(7)]
    pre = data.assign(day=-1, response=1e6, spend=0.0)  # a pre-period row that must not count
    panel = pd.concat([pre, *days], ignore_index=True)
    spec = ck.ExperimentSpec(**SPEC, time="day", post_period=(0, 6))
    res_panel = ck.estimate(panel, spec)
    res_geo = ck.estimate(data, ck.ExperimentSpec(**SPEC))
    assert res_panel.estimate == pytest.approx(res_geo.estimate, rel=1e-9)


def test_unpaired_geo_is_a_named_error(data):
    broken = data[data["geo"] != data["geo"].iloc[0]]
    with pytest.raises(DataError, match=r"1 of 40 pairs in 'pair' \(spec.pair\) are not one treated plus one control"):
        ck.estimate(broken, ck.ExperimentSpec(**SPEC))


def test_pair_with_two_treated_geos_is_a_named_error(data):
    broken = data.copy()
    broken.loc[broken["pair"] == 1, "treated"] = 1
    with pytest.raises(DataError, match=r"unpaired.*\(2 geo\(s\), 2 treated\)"):
        ck.estimate(broken, ck.ExperimentSpec(**SPEC))


def test_zero_incremental_spend_is_a_named_error(data):
    flat = data.assign(spend=1.0)
    with pytest.raises(IdentificationError, match="incremental spend .* sums to zero over the untrimmed geo pairs"):
        ck.estimate(flat, ck.ExperimentSpec(**SPEC))


def test_missing_pair_role_is_a_spec_error():
    with pytest.raises(SpecError, match="design 'trimmed_match' needs the role"):
        ck.ExperimentSpec(name="x", design="trimmed_match", outcome="response", unit="geo", treatment="treated")


def test_bad_trim_rate_is_a_spec_error(data):
    with pytest.raises(SpecError, match="'trim_rate' parameter of TrimmedMatch"):
        TrimmedMatch(trim_rate=0.4).fit(data, ck.ExperimentSpec(**SPEC))


def test_repeated_geo_without_time_is_a_named_error(data):
    with pytest.raises(DataError, match=r"spec.time is not set"):
        ck.estimate(pd.concat([data, data]), ck.ExperimentSpec(**SPEC))


def test_fast_root_matches_exhaustive_enumeration():
    dr, dc = paired_geo_deltas(60, 1.5, n_draws=5, seed=11)
    for i in range(5):
        counts = np.arange(0, 16)
        fast = core.solve_iroas(dr[i], dc[i], counts)
        for k, value in zip(counts[1:], fast[1:]):
            roots = core._roots_exhaustive(dr[i], dc[i], int(k))
            assert roots.size == 1  # non-negative spend differences: unique root
            assert value == pytest.approx(roots[0], rel=1e-12, abs=1e-12)


def test_bracketing_ci_matches_exact_ci_on_unimodal_data():
    dr, dc = paired_geo_deltas(80, 2.0, n_draws=3, seed=5)
    z = norm.ppf(0.975)
    for i in range(3):
        fit = core.choose_trim(core.fit_trim_rates(dr[i], dc[i], np.arange(0, 21) / 80), 80)
        h = z * z * (80 - 2 * fit.n_trim) / (80 - 2 * fit.n_trim - 1)
        exact = core._ci_exhaustive(dr[i], dc[i], fit.n_trim, h)
        bracket = core._ci_bracketing(dr[i], dc[i], fit.n_trim, h, fit.iroas, fit.se)
        np.testing.assert_allclose(bracket, exact, rtol=1e-9)


def test_negative_spend_differences_pick_one_root_and_warn():
    rng = np.random.default_rng(2)
    dc = rng.normal(1.0, 1.0, 30)
    dr = 2.0 * dc + rng.normal(0, 0.5, 30)
    rows = [dict(geo=f"t{i}", pair=i, treated=1, response=a, spend=b) for i, (a, b) in enumerate(zip(dr, dc))]
    rows += [dict(geo=f"c{i}", pair=i, treated=0, response=0.0, spend=0.0) for i in range(30)]
    res = TrimmedMatch(trim_rate=0.1).fit(pd.DataFrame(rows), ck.ExperimentSpec(**SPEC))
    assert res.diagnostic("incremental_spend_sign").status == "warn"
    pairs = res.tables["pairs"]
    assert pairs.loc[~pairs["trimmed"], "epsilon"].sum() == pytest.approx(0.0, abs=1e-9)


def _coverage(n_draws: int, n_pairs: int, seed: int, trim_rate: float | None = None):
    dr, dc = paired_geo_deltas(n_pairs, 2.0, n_draws=n_draws, seed=seed)
    z = norm.ppf(0.975)
    auto = np.arange(0, int(0.25 * n_pairs) + 1) / n_pairs
    rates = auto if trim_rate is None else np.array([trim_rate])
    estimates, hits = [], []
    for i in range(n_draws):
        fit = core.choose_trim(core.fit_trim_rates(dr[i], dc[i], rates), n_pairs)
        low, high, _ = core.inversion_ci(dr[i], dc[i], fit.n_trim, z, fit.iroas, fit.se)
        estimates.append(fit.iroas)
        hits.append(low <= 2.0 <= high)
    return np.array(estimates), np.array(hits)


def test_unbiased_on_simulated_pairs():
    estimates, hits = _coverage(150, 40, seed=1)
    mcse = estimates.std() / np.sqrt(estimates.size)
    assert abs(estimates.mean() - 2.0) < 4 * mcse
    assert hits.mean() > 0.88


@pytest.mark.slow
def test_ci_coverage_fixed_trim_on_simulated_pairs():
    # 2,000 seeded experiments of 40 pairs (t3 noise, 5% mismatched pairs), trim rate 0.10:
    # 95% CI coverage (measured 0.9565, MCSE 0.0046; bias -0.005, MCSE 0.005)
    _, hits = _coverage(2000, 40, seed=2026, trim_rate=0.10)
    assert 0.935 <= hits.mean() <= 0.965, hits.mean()


@pytest.mark.slow
def test_ci_coverage_automatic_trim_is_slightly_low():
    # Documented deviation: choosing the trim rate with the smallest standard error on the same
    # data makes the interval a little optimistic (measured 0.9305 here, MCSE 0.0057; 0.93 at 100 pairs too).
    # This guards that it stays near 0.93 and does not drift further; see the methods appendix.
    _, hits = _coverage(2000, 40, seed=2026)
    assert 0.915 <= hits.mean() <= 0.965, hits.mean()


def test_holdback_test_mirrors_the_forward_test(data):
    # Holdback: the "treated" geo of each pair has spend withheld. Swapping the roles of the two
    # geos gives negated differences; the iROAS, its CI and the trimmed pairs must not change.
    spec = ck.ExperimentSpec(**SPEC)
    forward = ck.estimate(data, spec)
    holdback = ck.estimate(data.assign(treated=1 - data["treated"]), spec)
    assert holdback.details["holdback"] and not forward.details["holdback"]
    assert holdback.estimate == pytest.approx(forward.estimate, rel=1e-12)
    assert holdback.ci == pytest.approx(forward.ci, rel=1e-9)
    assert holdback.exposure == pytest.approx(-forward.exposure)
    assert holdback.diagnostic("incremental_spend_sign").status == "pass"
    assert set(holdback.tables["pairs"].loc[holdback.tables["pairs"]["trimmed"], "pair"]) == set(
        forward.tables["pairs"].loc[forward.tables["pairs"]["trimmed"], "pair"])
