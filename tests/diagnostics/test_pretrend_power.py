"""Roth (2022) pre-trend power: formulas against diff-diff 3.13.0 and exact truncated-normal bias."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from causal_kit.diagnostics.pretrend_power import (
    pretrend_power,
    pretrend_power_diagnostic,
    slope_for_power,
)
from causal_kit.errors import SpecError

V = np.array([[4.0, 1.2, 0.5, 0.3, 0.2], [1.2, 3.0, 0.8, 0.4, 0.1], [0.5, 0.8, 2.5, 0.6, 0.3],
              [0.3, 0.4, 0.6, 5.0, 1.0], [0.2, 0.1, 0.3, 1.0, 6.0]]) * 1e-4
E = np.array([-4, -3, -2, 0, 1])

# diff_diff 3.13.0, PreTrendsPower(alpha=0.05, pretest_form=...)._compute_power(slope, weights=t - ref, V_pre)
PEER = {("wald", 0.005): 0.09394151214875357, ("wald", 0.01): 0.2548627930764604,
        ("wald", -0.02): 0.8059863405762899, ("nis", 0.005): 0.2263440910049619,
        ("nis", 0.01): 0.46851373744288294, ("nis", -0.02): 0.9245747822795717}


@pytest.mark.parametrize(("test", "slope"), list(PEER))
def test_power_matches_diff_diff(test, slope):
    res = pretrend_power(5, V, E, slope, test=test)
    # Wald is exact; the NIS rectangle probability uses the Genz algorithm (seeded)
    assert res.power == pytest.approx(PEER[(test, slope)], abs=1e-10 if test == "wald" else 2e-4)
    assert res.bias == pytest.approx(slope * np.mean([1, 2]), abs=1e-15)


def test_bias_given_pass_equals_truncated_normal_mean():
    # one pre-period: E[b_pre | |b_pre| <= z s] is a truncated-normal mean, known exactly
    v = np.array([[1.0, 0.6], [0.6, 2.0]]) * 1e-4
    e, slope = np.array([-2, 0]), 0.008
    res = pretrend_power(2, v, e, slope, test="nis", n_draws=400_000, seed=5)
    s, d, z = 1e-2, -slope, stats.norm.ppf(0.975)
    a, b = (-z * s - d) / s, (z * s - d) / s
    mean_pre = d + s * (stats.norm.pdf(a) - stats.norm.pdf(b)) / (stats.norm.cdf(b) - stats.norm.cdf(a))
    exact = slope * 1 + 0.6 / 1.0 * (mean_pre - d)
    assert abs(res.bias_given_pass - exact) < 4 * res.bias_given_pass_mcse
    assert res.power == pytest.approx(1 - (stats.norm.cdf(b) - stats.norm.cdf(a)), abs=1e-12)
    assert res.likelihood_ratio == pytest.approx((1 - res.power) / 0.95, abs=1e-12)


@pytest.mark.parametrize("test", ["wald", "nis"])
def test_slope_for_power_inverts_power(test):
    slope = slope_for_power(V, E, 0.8, test=test)
    # NIS powers come from the Genz algorithm (absolute error ~1e-5)
    assert pretrend_power(5, V, E, slope, test=test).power == pytest.approx(0.8, abs=1e-6 if test == "wald" else 2e-4)


def test_diagnostic_and_errors():
    diag = pretrend_power_diagnostic(V, E, estimate=0.001, test="wald")
    assert diag.status == "warn" and diag.statistic > 0
    assert pretrend_power_diagnostic(V, E, estimate=1.0, test="wald").status == "pass"
    with pytest.raises(SpecError, match="'test' parameter of pretrend_power"):
        pretrend_power(5, V, E, 0.01, test="joint")
    with pytest.raises(SpecError, match="at least one coefficient before the reference period"):
        pretrend_power(2, V[3:, 3:], E[3:], 0.01)
    with pytest.raises(SpecError, match="at or below the test's size"):
        slope_for_power(V, E, 0.01)
