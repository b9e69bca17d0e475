"""Conformal inference for synthetic control: permutation tests, test inversion, the estimator option."""

from __future__ import annotations

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.errors import DataError, IdentificationError, SpecError
from causal_kit.inference.conformal import (
    conformal_pvalue,
    constant_effect_pvalues,
    invert_constant_effect,
    pointwise_pvalues,
    residuals,
)

PROP99 = dict(outcome="PacksPerCapita", treatment="treated", unit="State", time="Year")


def factor_panel(rng, T=40, J=12, effect=0.0, n_pre=30):
    """One treated series inside the donors' hull plus i.i.d. noise; constant effect after n_pre."""
    F = rng.normal(size=(T, 2)).cumsum(axis=0) * 0.3
    Y0 = F @ rng.normal(size=(2, J)) + rng.normal(size=(T, J))
    w = rng.dirichlet(np.ones(J))
    y1 = Y0 @ w + rng.normal(size=T)
    y1[n_pre:] += effect
    return y1, Y0


def test_sc_residuals_vanish_inside_the_hull_and_did_residuals_are_centred():
    Y0 = np.array([[1.0, 3.0], [2.0, 5.0], [4.0, 4.0]])
    y1 = Y0 @ np.array([0.25, 0.75])
    np.testing.assert_allclose(residuals(y1, Y0, "sc"), 0.0, atol=1e-9)
    u = residuals(y1 + 1.0, Y0, "did")
    assert u.mean() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(SpecError, match="must be one of \\['sc', 'did'\\]"):
        residuals(y1, Y0, "lasso")


def test_iid_permutations_are_seeded_and_agree_with_moving_blocks_in_size():
    y1, Y0 = factor_panel(np.random.default_rng(1), effect=8.0)
    a = conformal_pvalue(y1, Y0, 30, permutation="iid", n_perm=999, seed=4)
    assert a == conformal_pvalue(y1, Y0, 30, permutation="iid", n_perm=999, seed=4)
    assert a == pytest.approx(1 / 1000, abs=1e-12)  # a large shift in all 10 post-periods is the most extreme
    assert conformal_pvalue(y1, Y0, 30) == pytest.approx(1 / 40)
    b = conformal_pvalue(y1, Y0, 30, 8.0, permutation="iid", n_perm=999, seed=5)
    assert b * 1000 == pytest.approx(round(b * 1000)) and b > 0.05


def test_test_holds_its_size_at_the_true_effect():
    # exchangeable residuals (i.i.d. noise, fit on all periods): the moving-block test of the true
    # constant effect rejects at 5% in 2/40 = 5% of panels; 2,000 panels, MCSE 0.49 points
    rng = np.random.default_rng(20261129)
    p = np.array([conformal_pvalue(*factor_panel(rng, effect=1.5), 30, 1.5) for _ in range(2000)])
    rate = float(np.mean(p <= 0.05))
    assert 0.035 <= rate <= 0.065, rate


def test_inversion_finds_the_ends_of_the_kept_set():
    kept = lambda th: np.where((th > -2.5) & (th < 4.0), 1.0, 0.0)  # noqa: E731
    lo, hi = invert_constant_effect(kept, 0.0, 0.1, 0.05)
    assert lo == pytest.approx(-2.5, abs=1e-4) and hi == pytest.approx(4.0, abs=1e-4)
    assert invert_constant_effect(lambda th: np.ones_like(th), 0.0, 1.0, 0.05) == (-np.inf, np.inf)
    assert all(np.isnan(invert_constant_effect(lambda th: np.zeros_like(th), 0.0, 1.0, 0.05)))


def test_synthetic_control_conformal_option_on_prop99():
    spec = ck.ExperimentSpec(name="prop99", design="synthetic_control", options={"inference": "conformal"}, **PROP99)
    res = ck.estimate(ck.datasets.load("california_prop99"), spec)
    wide = ck.datasets.load("california_prop99").pivot(index="Year", columns="State", values="PacksPerCapita")
    y1, Y0 = wide.pop("California").to_numpy(), wide.to_numpy()
    assert res.p_value == pytest.approx(3 / 31)  # scinference's value (test_conformal_reference.py)
    lo, hi = res.ci
    # the interval's ends are where the constant-effect test starts to reject
    p = constant_effect_pvalues(y1, Y0, 19, np.array([lo + 1e-3, lo - 1e-2, hi - 1e-3, hi + 1e-2]))
    assert (p[[0, 2]] > 0.05).all() and (p[[1, 3]] <= 0.05).all()
    assert res.se == pytest.approx((hi - lo) / (2 * 1.959964), rel=1e-6)
    assert "conformal inference" in res.inference and res.details["placebo"] == "conformal"
    table = res.tables["conformal_intervals"]
    assert list(table.columns) == ["time", "effect", "ci_low", "ci_high"] and len(table) == 12
    assert (table["ci_low"] <= table["effect"]).all() and (table["effect"] <= table["ci_high"]).all()
    # first post-year: the pointwise test keeps its interval's ends and rejects just outside
    row = table.iloc[0]
    p = pointwise_pvalues(y1, Y0, 19, 0, np.array([row.ci_low + 1e-3, row.ci_low - 1e-2]))
    assert p[0] > 0.05 >= p[1]


def test_conformal_option_named_errors():
    data = ck.datasets.load("california_prop99")
    short = data[data["Year"] >= 1982]  # 19 periods: the smallest p-value 1/19 exceeds 0.05
    spec = ck.ExperimentSpec(name="p", design="synthetic_control", options={"inference": "conformal"}, **PROP99)
    with pytest.raises(IdentificationError, match="needs at least 20 periods"):
        ck.estimate(short, spec)
    stag = data.copy()
    stag.loc[(stag["State"] == "Utah") & (stag["Year"] >= 1995), "treated"] = 1
    with pytest.raises(SpecError, match="inference='conformal' needs one adoption period"):
        ck.estimate(stag, spec)
    with pytest.raises(SpecError, match="The 'inference' parameter of SyntheticControl"):
        ck.estimate(data, spec.update(options={"inference": "bootstrap"}))
    with pytest.raises(DataError, match="as many rows as the treated series has periods"):
        conformal_pvalue(np.ones(10), np.ones((9, 3)), 5)
    with pytest.raises(DataError, match="need finite outcomes|needs finite outcomes"):
        conformal_pvalue(np.r_[np.ones(9), np.nan], np.ones((10, 3)), 5)
    with pytest.raises(SpecError, match="at least 2 pre-periods and 1 post-period"):
        conformal_pvalue(np.ones(10), np.ones((10, 3)), 10)
