"""Cattaneo-Jansson-Ma density test: reference value, mass points, size and power."""

from __future__ import annotations

import numpy as np
import pytest

from causal_kit import datasets
from causal_kit.diagnostics.rd_density import density_test
from causal_kit.errors import DataError


def test_senate_matches_rddensity():
    # rddensity 3.0 (REFERENCES.md): T = -0.875273, p = 0.381425, h = (19.841108, 27.118787).
    out = density_test(datasets.load("senate")["margin"].to_numpy(), 0.0)
    np.testing.assert_allclose([out.statistic, out.p_value, out.h_left, out.h_right],
                               [-0.875273, 0.381425, 19.841108, 27.118787], rtol=1e-4)
    assert out.n_left + out.n_right == 1390


def test_mass_points_match_rddensity():
    # rddensity 3.0 on round(margin), c = 0.5 (computed independently): T = -0.614941, h = (22.5, 29.2248).
    x = np.round(datasets.load("senate")["margin"].to_numpy(), 0)
    out = density_test(x, 0.5)
    np.testing.assert_allclose(out.statistic, -0.614941, rtol=1e-4)
    np.testing.assert_allclose([out.h_left, out.h_right], [22.5, 29.2248], rtol=1e-4)


def test_detects_heaping_above_the_cutoff():
    rng = np.random.default_rng(0)
    x = rng.normal(size=4000)
    moved = (x > -0.3) & (x < 0) & (rng.uniform(size=x.size) < 0.6)
    x[moved] = -x[moved]  # units just below the cutoff push themselves above it
    assert density_test(x, 0.0).p_value < 0.01


def test_size_under_no_manipulation():
    # 200 draws without manipulation: rejections at 5% should be rare (binomial 99.9% bound ~ 21).
    rng = np.random.default_rng(1)
    rejections = sum(density_test(rng.normal(size=800), 0.0).p_value < 0.05 for _ in range(200))
    assert rejections <= 21


def test_too_few_observations():
    with pytest.raises(DataError, match="at least 10 observations on each side"):
        density_test(np.r_[np.linspace(-1, -0.1, 50), [0.2, 0.3]], 0.0)
