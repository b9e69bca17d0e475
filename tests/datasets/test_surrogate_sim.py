"""The surrogate-study simulator: shape, seeds, the true effect and the bundled copy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_surrogate_experiment
from causal_kit.datasets.surrogate_sim import true_long_term_effect
from causal_kit.errors import SpecError


def test_shape_and_seed():
    a = simulate_surrogate_experiment(n_experiment=50, n_observational=70, n_surrogates=3, seed=4)
    b = simulate_surrogate_experiment(n_experiment=50, n_observational=70, n_surrogates=3, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["sample", "treatment", "x", "s1", "s2", "s3", "y"]
    assert a.loc[a["sample"] == "experiment", "y"].isna().all()
    assert (a.loc[a["sample"] == "observational", "treatment"] == 0).all()


@pytest.mark.parametrize("direct", [0.0, 0.4])
def test_true_effect_is_the_experimental_contrast(direct):
    # with the outcome observed for everyone, the difference in means estimates the truth
    df = simulate_surrogate_experiment(n_experiment=200_000, n_observational=10, validation_share=1.0,
                                       direct_effect=direct, seed=1)
    exp = df[df["sample"] == "experiment"]
    diff = exp.loc[exp.treatment == 1, "y"].mean() - exp.loc[exp.treatment == 0, "y"].mean()
    se = np.sqrt(exp.groupby("treatment")["y"].var().sum() / 100_000)
    assert abs(diff - true_long_term_effect(direct_effect=direct)) < 4 * se


def test_bundled_copy_is_seed_zero():
    bundled = ck.datasets.load("surrogate_sim")
    fresh = simulate_surrogate_experiment(seed=0)
    np.testing.assert_allclose(bundled[["x", "s1", "s2", "s3", "s4"]].to_numpy(),
                               fresh[["x", "s1", "s2", "s3", "s4"]].to_numpy(), rtol=1e-5, atol=1e-5)
    assert true_long_term_effect() == 0.5


def test_errors():
    with pytest.raises(SpecError, match=r"'n_surrogates' parameter of simulate_surrogate_experiment"):
        simulate_surrogate_experiment(n_surrogates=0)
    with pytest.raises(SpecError, match=r"'validation_share' parameter"):
        simulate_surrogate_experiment(validation_share=2.0)
