"""Set placebo of synthetic control, scaled SDID placebo and the placebo interval."""

from __future__ import annotations

import numpy as np
import pytest

from causal_kit.inference.placebo import (
    placebo_draws,
    placebo_interval,
    sc_set_placebo_effects,
    scales_heterogeneous,
    sdid_placebo_estimates,
    unit_scales,
)
from causal_kit.solvers.simplex import simplex_weights


def test_set_placebo_equals_a_loop_of_fits_without_the_pseudo_treated_set():
    rng = np.random.default_rng(3)
    Y = rng.normal(size=(14, 12)).cumsum(axis=1)
    donors, T0 = np.arange(2, 14), 8
    draws = placebo_draws(12, 3, 5, seed=2)
    scale = np.array([1.0, 2.0, 0.5])
    got = sc_set_placebo_effects(Y[:, :T0].T, Y, donors, T0, draws, treated_scale=scale)
    want = []
    for d in draws:
        pool = np.setdiff1d(np.arange(12), d)
        gaps = []
        for k, j in enumerate(d):
            w = simplex_weights(Y[donors[pool], :T0].T, Y[donors[j], :T0])
            gaps.append(scale[k] * (Y[donors[j], T0:] - w @ Y[donors[pool], T0:]).mean())
        want.append(np.mean(gaps))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_placebo_interval_inverts_the_rank_test():
    rng = np.random.default_rng(0)
    eff = rng.standard_t(3, size=199)
    for est in (0.1, 2.0, 5.0, -8.0):
        out = placebo_interval(est, eff, 0.05)
        assert out["kind"] == "quantile"
        excludes = not (out["ci_low"] <= 0 <= out["ci_high"])
        assert excludes == (out["p_value"] <= 0.05)
        assert out["ci_high"] - est == pytest.approx(1.959964 * out["se"], rel=1e-6)
    # the 190th smallest |e| of 199 (ceil(0.95 * 200))
    assert placebo_interval(0.0, eff, 0.05)["half_width"] == np.sort(np.abs(eff))[189]
    small = placebo_interval(1.0, eff[:38], 0.05)
    assert small["kind"] == "normal" and small["se"] == pytest.approx(np.std(eff[:38]))


def test_sdid_placebo_scale_multiplies_the_pseudo_treated_units():
    rng = np.random.default_rng(1)
    Y0 = rng.normal(size=(10, 9)).cumsum(axis=1)
    draws = placebo_draws(10, 2, 6, seed=0)
    plain = sdid_placebo_estimates(Y0, 6, draws, estimator="did")
    ones = sdid_placebo_estimates(Y0, 6, draws, estimator="did", scale=np.ones(draws.shape))
    np.testing.assert_allclose(plain, ones)
    doubled = sdid_placebo_estimates(Y0, 6, draws, estimator="did", scale=np.full(draws.shape, 2.0))
    delta = Y0[:, 6:].mean(axis=1) - Y0[:, :6].mean(axis=1)
    keep = [np.setdiff1d(np.arange(10), d) for d in draws]
    want = [2 * delta[d].mean() - delta[k].mean() for d, k in zip(draws, keep)]
    np.testing.assert_allclose(doubled, want, rtol=1e-10)


def test_unit_scales_and_heterogeneity():
    Y = np.exp(np.random.default_rng(2).normal(0, 1, (30, 1))) * np.ones((30, 5))
    s = unit_scales(Y, 3)
    assert scales_heterogeneous(s)[0]
    assert not scales_heterogeneous(np.full(30, 4.0) + np.arange(30) * 0.01)[0]
    assert not scales_heterogeneous(np.array([1.0, np.nan]))[0]


def test_permutation_draws_are_the_estimator_rerun_with_a_constant_effect_removed():
    from causal_kit.inference.placebo import permutation_interval, sc_permutation_draws

    rng = np.random.default_rng(5)
    Y = rng.normal(size=(12, 10)).cumsum(axis=1) + 20
    treated = np.arange(12) >= 9
    s = Y[:, :7].mean(axis=1)
    Ym = Y / s[:, None]
    draws = placebo_draws(12, 3, 8, seed=3)
    a, b = sc_permutation_draws(Ym[:, :7].T, Ym, np.arange(12), treated, 7, draws, scales=s)
    tau0 = 1.7
    Y0 = Y.copy()
    # with unit scales the hypothesised effect is proportional to the treated units' sizes
    Y0[treated, 7:] -= tau0 * (s[treated] / s[treated].mean())[:, None]
    s_T = s[treated].mean()
    for k, d in enumerate(draws):
        pool = np.setdiff1d(np.arange(12), d)
        gaps = []
        for j in d:
            w = simplex_weights(Ym[pool, :7].T, Ym[j, :7])
            gaps.append((Y0[j, 7:] - s[j] * (w @ (Y0[pool, 7:] / s[pool, None]))).mean())
        # the draw's estimate relative to its units' size, in the treated units' level units
        want = s_T * np.mean(gaps) / s[d].mean()
        assert a[k] - tau0 * b[k] / s_T == pytest.approx(want, rel=1e-6, abs=1e-8)
        assert abs(b[k] / s_T) <= 1 + 1e-9
    # the interval is every tau0 the test does not reject, and agrees with the p-value
    out = permutation_interval(0.3, rng.normal(size=199), rng.uniform(-0.2, 0.2, 199), 0.05)
    assert out["ci_low"] < 0.3 < out["ci_high"]
    assert (out["p_value"] <= 0.05) == (not out["ci_low"] <= 0 <= out["ci_high"])
