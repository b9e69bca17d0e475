"""Behaviour and errors of the analytic power functions."""

from __future__ import annotations

import math

import pytest

from causal_kit.design import PowerResult, power_cluster, power_means, power_proportions
from causal_kit.errors import SpecError


def test_result_is_frozen_and_says_what_was_solved():
    res = power_means(effect=0.3, power=0.9)
    assert isinstance(res, PowerResult)
    assert res.solved_for == "n" and res.value == res.n
    with pytest.raises(AttributeError, match="cannot assign"):
        res.n = 1.0  # type: ignore[misc]
    assert res.to_dict()["inputs"]["ratio"] == 1.0
    assert res.n_total == pytest.approx(2 * res.n)


def test_solving_is_consistent_in_every_direction():
    n = power_means(effect=0.25, power=0.85, ratio=1.5).n
    assert power_means(effect=0.25, n=n, ratio=1.5).power == pytest.approx(0.85, abs=1e-9)
    assert power_means(n=n, power=0.85, ratio=1.5).effect == pytest.approx(0.25, rel=1e-8)


def test_cuped_shrinks_the_sample_size_by_one_minus_rho_squared():
    base = power_means(effect=0.2, power=0.8).n
    cuped = power_means(effect=0.2, power=0.8, rho=0.6).n
    assert cuped / base == pytest.approx(1 - 0.36, rel=5e-3)


def test_effect_in_outcome_units_scales_with_sd():
    a = power_means(effect=2.0, sd=10.0, n=300)
    b = power_means(effect=0.2, n=300)
    assert a.power == pytest.approx(b.power, rel=1e-12)
    assert power_means(n=300, power=0.8, sd=10.0).effect == pytest.approx(10 * power_means(n=300, power=0.8).effect)


def test_smaller_alternative_gives_a_negative_mde():
    assert power_means(n=500, power=0.8, alternative="smaller").effect < 0


def test_cluster_with_icc_zero_and_size_one_is_the_t_test():
    t = power_means(effect=0.3, n=40)
    c = power_cluster(effect=0.3, clusters=40, cluster_size=1, icc=0.0)
    assert c.power == pytest.approx(t.power, rel=1e-10)


def test_proportions_detectable_p1_and_consistency():
    res = power_proportions(p0=0.2, n=2000, power=0.8)
    assert res.solved_for == "effect" and res.inputs["p1"] > 0.2
    assert power_proportions(p0=0.2, p1=res.inputs["p1"], n=2000).power == pytest.approx(0.8, abs=1e-8)


def test_exactly_one_unknown():
    with pytest.raises(SpecError, match="exactly one"):
        power_means(effect=0.2)
    with pytest.raises(SpecError, match="exactly one"):
        power_means(effect=0.2, n=10, power=0.8)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(effect=0.2, power=1.5), "'power' parameter of power_means"),
        (dict(effect=0.2, power=0.8, alpha=0.0), "'alpha' parameter"),
        (dict(effect=0.2, power=0.8, ratio=-1), "'ratio' parameter"),
        (dict(effect=0.2, power=0.8, alternative="greater"), "'alternative' parameter"),
        (dict(effect=0.2, power=0.8, rho=1.0), "'rho' parameter"),
        (dict(effect=0.0, power=0.8), "effect of 0"),
    ],
)
def test_bad_inputs_name_the_parameter(kwargs, match):
    with pytest.raises(SpecError, match=match):
        power_means(**kwargs)


def test_cluster_bad_icc():
    with pytest.raises(SpecError, match="'icc' parameter"):
        power_cluster(effect=0.2, power=0.8, cluster_size=10, icc=1.0)


def test_power_never_nan_for_large_samples():
    assert math.isfinite(power_means(effect=0.2, n=1e7).power)
