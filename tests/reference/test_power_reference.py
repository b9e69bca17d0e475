"""Analytic power against published reference values (statsmodels.stats.power / R pwr).

Sources: statsmodels 0.14 ``TTestIndPower`` / ``NormalIndPower`` and R ``pwr`` / ``power.prop.test``
(values collected in the project's reference table, section "Power"). Tolerance: 1e-4 relative
(statsmodels and R differ in the 6th digit for the MDE).
"""

from __future__ import annotations

import pytest

from causal_kit.design import cohens_h, design_effect, power_cluster, power_means, power_proportions

RTOL = 1e-4


@pytest.mark.parametrize("d, n", [(0.2, 393.4057), (0.5, 63.7656), (0.8, 25.5246)])
def test_n_per_arm_two_sample_t(d, n):
    # statsmodels TTestIndPower().solve_power(d, power=.8, alpha=.05); pwr.t.test
    res = power_means(effect=d, power=0.8)
    assert res.solved_for == "n"
    assert res.n == pytest.approx(n, rel=RTOL)


def test_power_two_sample_t():
    # statsmodels TTestIndPower().power(0.2, 200, 0.05) = 0.51408164
    assert power_means(effect=0.2, n=200).power == pytest.approx(0.51408164, rel=RTOL)


def test_power_unequal_allocation():
    # statsmodels TTestIndPower().power(0.2, 300, 0.05, ratio=2) = 0.80660137
    assert power_means(effect=0.2, n=300, ratio=2).power == pytest.approx(0.80660137, rel=RTOL)


def test_one_sided_n():
    # statsmodels solve_power(0.2, power=.8, alternative="larger") = 309.80647
    assert power_means(effect=0.2, power=0.8, alternative="larger").n == pytest.approx(309.80647, rel=RTOL)


@pytest.mark.parametrize("n, power, mde", [(1000, 0.8, 0.12535), (5000, 0.9, 0.064836)])
def test_mde_two_sample_t(n, power, mde):
    # statsmodels solve_power(nobs1=n, power=power); R pwr agrees to the 6th digit
    res = power_means(n=n, power=power)
    assert res.solved_for == "effect"
    assert res.effect == pytest.approx(mde, rel=RTOL)


def test_two_proportions_n():
    # R power.prop.test(p1=.10, p2=.12, power=.8): 3840.8475 (pooled null, no continuity correction)
    assert power_proportions(p0=0.10, p1=0.12, power=0.8).n == pytest.approx(3840.8475, rel=RTOL)


@pytest.mark.parametrize("n, power", [(3000, 0.697045), (3841, 0.800016), (4000, 0.815700)])
def test_two_proportions_power(n, power):
    # R power.prop.test(n=n, p1=.10, p2=.12)
    assert power_proportions(p0=0.10, p1=0.12, n=n).power == pytest.approx(power, rel=RTOL)


def test_cohens_h_and_its_n():
    # Cohen's h = 0.0639821; statsmodels NormalIndPower().solve_power(h, power=.8) = 3834.5957
    assert cohens_h(0.10, 0.12) == pytest.approx(0.0639821, rel=RTOL)
    res = power_proportions(p0=0.10, p1=0.12, power=0.8, method="cohen_h")
    assert res.n == pytest.approx(3834.5957, rel=RTOL)


def test_cluster_design_effect():
    # DE = 1 + (m - 1) ICC with m = 20, ICC = .05
    assert design_effect(20, 0.05) == pytest.approx(1.95, rel=1e-12)


def test_cluster_clusters_per_arm():
    # t quantiles on 2k - 2 df: 39.2589 clusters per arm for d = .2, power .8
    res = power_cluster(effect=0.2, power=0.8, cluster_size=20, icc=0.05)
    assert res.solved_for == "n"
    assert res.n == pytest.approx(39.2589, rel=RTOL)


def test_cluster_power_noncentral_t():
    # noncentral t, df 58: 0.68420861 with k = 30 clusters per arm
    res = power_cluster(effect=0.2, clusters=30, cluster_size=20, icc=0.05)
    assert res.power == pytest.approx(0.68420861, rel=RTOL)


def test_cluster_mde():
    # MDE for k = 30, m = 20, ICC = .05, power .8: 0.22974048
    res = power_cluster(clusters=30, power=0.8, cluster_size=20, icc=0.05)
    assert res.effect == pytest.approx(0.22974048, rel=RTOL)
