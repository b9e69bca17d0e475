"""Readout contamination by concurrent studies and ``interference: adjust``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.diagnostics.concurrent import (
    contamination_diagnostic,
    contamination_table,
    study_indicators,
    study_window,
)
from causal_kit.errors import IdentificationError, SpecError

TAU, DELTA = 1.0, 2.0


def confounded_panel(seed, n=80, periods=20, tau=TAU, delta=DELTA, p_treated=0.8, p_control=0.1):
    """Our study treats the first half of the units from period 10; 'promo' treats 80% of them and
    10% of the controls from period 14 with effect ``delta``: a concurrent study confounded with ours."""
    rng = np.random.default_rng(seed)
    units = np.array([f"u{i:03d}" for i in range(n)])
    ours = np.arange(n) < n // 2
    promo = np.where(ours, rng.random(n) < p_treated, rng.random(n) < p_control)
    t = np.arange(periods)
    d = ours[:, None] & (t[None, :] >= 10)
    p = promo[:, None] & (t[None, :] >= 14)
    y = rng.normal(0, 1, n)[:, None] + 0.1 * t[None, :] + tau * d + delta * p + rng.normal(0, 1, (n, periods))
    data = pd.DataFrame({"unit": np.repeat(units, periods), "t": np.tile(t, n), "y": y.ravel(),
                         "d": d.ravel().astype(int)})
    calendar = pd.DataFrame({"study": "promo", "unit": units[promo], "cell": "treatment", "role": "treated",
                             "start": 14, "end": 19, "status": "running"})
    return data, calendar


SPEC = ck.ExperimentSpec(name="mine", design="did", outcome="y", unit="unit", time="t", treatment="d")


def test_exposure_shares_per_arm_and_diagnostic():
    data, cal = confounded_panel(1)
    table = contamination_table(cal, data, SPEC)
    row = table.iloc[0]
    ours = set(data.loc[data["d"] == 1, "unit"])
    promo = set(cal["unit"])
    # promo covers periods 14-19 of our window 10-19: 60% of it for each unit it treats
    assert row["share_treated"] == pytest.approx(0.6 * len(promo & ours) / 40)
    assert row["share_control"] == pytest.approx(0.6 * len(promo - ours) / 40)
    assert row["n_treated_exposed"] == len(promo & ours)
    d = contamination_diagnostic(table)
    assert d.status == "warn" and d.name == "concurrent_studies" and "promo is confounded" in d.message
    balanced = contamination_diagnostic(table.assign(share_control=table["share_treated"], difference=0.0))
    assert balanced.status == "pass" and "balanced" in balanced.message
    assert contamination_diagnostic(table.iloc[:0]).status == "pass"
    assert study_window(data, SPEC) == (10, 19)


def test_indicators_mark_other_studies_treated_unit_periods():
    data, cal = confounded_panel(1)
    before = data.copy()
    augmented, cols = study_indicators(cal, data, SPEC)
    pd.testing.assert_frame_equal(data, before)  # caller's frame untouched
    assert cols == {"other_study__promo": "promo"}
    on = augmented["other_study__promo"] == 1
    assert set(augmented.loc[on, "unit"]) == set(cal["unit"])
    assert augmented.loc[on, "t"].between(14, 19).all()


def test_closed_and_own_and_non_overlapping_studies():
    data, cal = confounded_panel(1)
    mine = cal.assign(study="mine")
    later = cal.assign(study="later", start=25, end=30)
    closed = cal.assign(study="ended_early", status="closed")
    table = contamination_table(pd.concat([mine, later, closed]), data, SPEC)
    assert table["study"].tolist() == ["ended_early"]  # a closed study still ran in the window


def test_check_adds_the_diagnostic_and_table_and_leaves_the_estimate():
    data, cal = confounded_panel(2)
    plain = ck.estimate(data, SPEC)
    checked = ck.estimate(data, SPEC, calendar=cal)
    assert checked.estimate == plain.estimate
    assert {d.name: d.status for d in checked.diagnostics}["concurrent_studies"] == "warn"
    assert checked.tables["concurrent_studies"]["study"].tolist() == ["promo"]
    assert ck.estimate(data, SPEC, calendar=cal.iloc[:0]).diagnostics == plain.diagnostics  # empty calendar


def test_adjust_moves_the_estimate_back_to_the_truth_on_one_draw():
    data, cal = confounded_panel(3)
    res = ck.estimate(data, SPEC.update(interference="adjust"), calendar=cal)
    info = res.details["interference"]
    assert info["unadjusted_estimate"] - TAU > 5 * res.se  # the naive estimate is far off
    assert abs(res.estimate - TAU) < 3 * res.se
    assert info["moved"] == pytest.approx(res.estimate - info["unadjusted_estimate"])
    check = next(d for d in res.diagnostics if d.name == "interference_adjustment")
    assert check.status == "warn" and "promo" in check.message and "standard errors" in check.message
    assert res.lineage.spec_hash == SPEC.update(interference="adjust").spec_hash


def test_adjust_for_synthetic_methods_leaves_out_exposed_controls():
    data, cal = confounded_panel(4, n=30)
    res = ck.estimate(data, SPEC.update(design="sdid", interference="adjust"), calendar=cal)
    exposed = sorted(set(cal["unit"]) - set(data.loc[data["d"] == 1, "unit"]))
    assert res.details["interference"]["excluded_units"] == exposed
    check = next(d for d in res.diagnostics if d.name == "interference_adjustment")
    assert "cannot remove it" in check.message  # the treated units' own exposure is named


def test_adjust_errors_and_not_applicable():
    data, cal = confounded_panel(5)
    with pytest.raises(SpecError, match=r"interference is 'adjust' but no calendar was given"):
        ck.estimate(data, SPEC.update(interference="adjust"))
    same = pd.DataFrame({"study": "twin", "unit": sorted(set(data.loc[data["d"] == 1, "unit"])),
                         "cell": "treatment", "role": "treated", "start": 10, "end": 19})
    with pytest.raises(IdentificationError, match=r"study 'twin' treats exactly this study's treated units"):
        ck.estimate(data, SPEC.update(interference="adjust"), calendar=same)
    cohorts = data.assign(g=np.where(data.groupby("unit")["d"].transform("max") == 1, 10, 0))
    res = ck.estimate(cohorts, SPEC.update(design="staggered_did", treatment=None, cohort="g",
                                           interference="adjust"), calendar=cal)
    check = next(d for d in res.diagnostics if d.name == "interference_adjustment")
    assert check.status == "not_applicable" and "read out with did, event_study" in check.message


@pytest.mark.slow
def test_simulation_naive_is_biased_and_adjusted_recovers_the_truth():
    """200 seeded draws: the confounded concurrent study biases the naive DiD by about
    delta x 0.6 x (0.8 - 0.1) = 0.84; the adjusted DiD is unbiased and its 95% CI covers."""
    reps = 200
    naive, adjusted, covered = [], [], []
    spec = SPEC.update(interference="adjust")
    for seed in range(reps):
        data, cal = confounded_panel(1000 + seed)
        res = ck.estimate(data, spec, calendar=cal)
        naive.append(res.details["interference"]["unadjusted_estimate"])
        adjusted.append(res.estimate)
        covered.append(res.ci[0] <= TAU <= res.ci[1])
    naive, adjusted = np.asarray(naive), np.asarray(adjusted)
    mcse_naive = naive.std(ddof=1) / np.sqrt(reps)
    mcse_adj = adjusted.std(ddof=1) / np.sqrt(reps)
    assert naive.mean() - TAU > 0.6 and (naive.mean() - TAU) / mcse_naive > 20
    assert abs(adjusted.mean() - TAU) < 3 * mcse_adj
    coverage = float(np.mean(covered))
    assert 0.90 <= coverage <= 0.99  # 200 draws: MCSE 1.5 points around 95%
