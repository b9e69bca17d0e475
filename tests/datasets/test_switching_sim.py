"""simulate_switching_panel: shape, switching pattern, the true-effect column and named errors."""

from __future__ import annotations

import numpy as np
import pytest

from causal_kit import datasets
from causal_kit.datasets import simulate_switching_panel
from causal_kit.errors import SpecError


def test_units_switch_at_most_once_without_on_off_share():
    df = simulate_switching_panel(n_units=200, n_periods=6, seed=1)
    d = df["promo"].to_numpy().reshape(200, 6)
    changes = (np.diff(d, axis=1) != 0).sum(axis=1)
    assert changes.max() == 1 and (changes == 1).mean() > 0.5
    assert {0, 1} <= set(d[:, 0])  # joiners and leavers


def test_true_effect_is_the_signed_switch_effect():
    df = simulate_switching_panel(n_units=200, n_periods=6, effect=2.0, dynamic=0.0, seed=2)
    d = df["promo"].to_numpy().reshape(200, 6)
    te = df["true_effect"].to_numpy().reshape(200, 6)
    switched = np.cumsum(np.abs(np.diff(d, axis=1)), axis=1) > 0
    assert np.all(te[:, 1:][~switched] == 0) and np.all(te[:, 0] == 0)
    assert np.all((te[:, 1:][switched] >= 1.0) & (te[:, 1:][switched] <= 3.0))  # tau_g in effect * [0.5, 1.5]


def test_on_off_units_switch_back():
    df = simulate_switching_panel(n_units=200, n_periods=8, switch_share=0.0, on_off_share=1.0, seed=3)
    d = df["promo"].to_numpy().reshape(200, 8)
    assert (np.diff(d, axis=1) != 0).sum(axis=1).max() == 2


def test_bundled_example_matches_the_simulator():
    shipped = datasets.load("switching_promo_sim")
    fresh = simulate_switching_panel(n_units=300, n_periods=8, on_off_share=0.05, seed=0).round(6)
    assert shipped.shape == (2400, 5)
    assert np.array_equal(shipped["promo"].to_numpy(), fresh["promo"].to_numpy())


def test_bad_arguments_are_named():
    with pytest.raises(SpecError, match=r"'n_periods' parameter of simulate_switching_panel must be an int >= 3"):
        simulate_switching_panel(n_periods=2)
    with pytest.raises(SpecError, match=r"switch_share \+ on_off_share must be at most 1"):
        simulate_switching_panel(switch_share=0.8, on_off_share=0.5)
    with pytest.raises(SpecError, match=r"'start_treated_share' parameter .* must be in \[0, 1\]"):
        simulate_switching_panel(start_treated_share=1.5)
