"""Goodman-Bacon decomposition and HonestDiD relative-magnitudes sensitivity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal_kit.diagnostics.bacon import bacon_decomposition, bacon_diagnostic
from causal_kit.diagnostics.honest_did import honest_diagnostic, relative_magnitudes


def _twfe(Y, first):
    t = Y.shape[1]
    D = ((first[:, None] >= 0) & (np.arange(t)[None, :] >= first[:, None])).astype(float)

    def dm(a):
        return a - a.mean(1, keepdims=True) - a.mean(0, keepdims=True) + a.mean()

    d, y = dm(D), dm(Y)
    return float((d * y).sum() / (d * d).sum())


@pytest.mark.parametrize("never", [True, False])
def test_bacon_weights_sum_to_one_and_recover_twfe(never):
    rng = np.random.default_rng(1)
    n, t = 120, 9
    first = rng.choice([2, 4, 6] + ([-1] if never else []), size=n)
    Y = rng.normal(size=(n, t)) + np.where((first[:, None] >= 0) & (np.arange(t) >= first[:, None]),
                                           1 + 0.4 * (np.arange(t) - first[:, None]), 0.0)
    tab = bacon_decomposition(Y, first)
    assert tab["weight"].sum() == pytest.approx(1.0, abs=1e-10)
    assert (tab["weight"] * tab["estimate"]).sum() == pytest.approx(_twfe(Y, first), abs=1e-10)
    assert ("treated_vs_never" in set(tab["type"])) is never


def test_bacon_diagnostic_warns_on_forbidden_weight():
    rng = np.random.default_rng(2)
    first = rng.choice([2, 6], size=200)  # no never-treated units: forbidden comparisons matter
    Y = rng.normal(size=(200, 9))
    diag = bacon_diagnostic(bacon_decomposition(Y, first))
    assert diag.status == "warn" and diag.statistic > 0.10 and diag.assumption == "specification"
    clean = pd.DataFrame({"type": ["treated_vs_never"], "estimate": [1.0], "weight": [1.0]})
    assert bacon_diagnostic(clean).status == "pass"


def test_relative_magnitudes_identified_set_and_breakdown():
    beta = np.array([0.02, -0.01, 0.0, -0.30, -0.40])  # e = -4, -3, -2 | 0, 1 (ref -1)
    e = np.array([-4, -3, -2, 0, 1])
    V = np.diag([1e-6] * 5)
    tab, breakdown = relative_magnitudes(beta, V, e, mbar=np.array([0.0, 1.0]), seed=0)
    # largest pre change: |(-0.01) - 0.02| = 0.03; post steps from ref: 1 and 2 -> mean 1.5
    assert tab.loc[1, "id_lower"] == pytest.approx(-0.35 - 1.0 * 0.03 * 1.5)
    assert tab.loc[1, "id_upper"] == pytest.approx(-0.35 + 0.045)
    assert tab.loc[0, "lower"] < -0.35 < tab.loc[0, "upper"]
    # the robust interval reaches 0 near (0.35 - 1.96 * 0.0007) / (0.03 * 1.5) = 7.75, a little
    # earlier because the sampling noise in the largest pre change is propagated
    assert 7.0 < breakdown < 7.8
    # a larger M-bar only widens the interval
    assert tab.loc[1, "lower"] < tab.loc[0, "lower"] and tab.loc[1, "upper"] > tab.loc[0, "upper"]
    # seeded
    again, bd2 = relative_magnitudes(beta, V, e, mbar=np.array([0.0, 1.0]), seed=0)
    pd.testing.assert_frame_equal(tab, again)
    assert bd2 == breakdown


def test_relative_magnitudes_with_short_difference_pre_coefficients():
    beta = np.array([0.01, -0.02, -0.2])
    e = np.array([-2, -1, 0])
    tab, _ = relative_magnitudes(beta, np.eye(3) * 1e-6, e, pre_are_differences=True, mbar=np.array([1.0]))
    assert tab.loc[0, "id_lower"] == pytest.approx(-0.2 - 0.02)


def test_honest_diagnostic_statuses():
    assert honest_diagnostic(float("nan")).status == "not_applicable"
    assert honest_diagnostic(0.4).status == "warn"
    d = honest_diagnostic(float("inf"))
    assert d.status == "pass" and "more than 10" in d.message and d.assumption == "sensitivity"
