"""Sequential inference against published / independently computed reference values.

* Asymptotic confidence sequence and always-valid p-value: GrowthBook ``gbstats`` 0.8.0,
  ``SequentialTwoSidedTTest`` on ``ab_cuped_sim`` (numbers made by ``make_gbstats_sequential.py``
  beside this file and pasted here), tolerance 1e-6 absolute. CUPED relative lift is not
  compared: gbstats divides by the *unadjusted* control mean, causal_kit by the adjusted one.
* Anytime-valid regression t-test (Lindon et al. 2024) and the Dirichlet-multinomial SRM test
  (Lindon and Malek 2022): the authors' ``savvi`` package (``LinearRegression``, ``Multinomial``
  with k = 100), numbers made by ``make_savvi_sequential.py`` beside this file. savvi fits by
  recursive least squares from a ``1e6 * I`` prior, which moves its numbers by about 1e-9
  relative; tolerance 1e-6 relative. savvi's p-value is ``1 / BF`` uncapped; ours is capped at 1.
* Lan-DeMets and classic boundaries: Jennison and Turnbull (2000), Table 2.1 (Pocock ``C_P``) and
  Table 2.3 (O'Brien-Fleming ``C_B``), two-sided alpha 0.05, equally spaced looks, published to
  3 decimals; Lan-DeMets O'Brien-Fleming and Pocock-type bounds for 5 equally spaced looks as
  printed by ``ldbounds`` / ``gsDesign`` (4 decimals for O'Brien-Fleming, 3 for Pocock-type).
  Tolerance: half a unit in the last published digit (5e-5 for 4 decimals, 5e-4 for 3).
"""

from __future__ import annotations

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.inference.alpha_spending import (
    constant_boundaries,
    crossing_probabilities,
    spending_boundaries,
)
from causal_kit.inference.anytime_regression import anytime_valid_ols
from causal_kit.inference.sequential_srm import sequential_srm_p_value

# (kind, scale, tuning, alpha, estimate, ci_low, ci_high, p_value) from gbstats 0.8.0
GBSTATS = [
    ("plain", "absolute", 5000, 0.05, 0.29807370806146416, -0.18353272014802263, 0.7796801362709509, 0.7588933619502249),
    ("cuped", "absolute", 5000, 0.05, 0.25602567235854146, 0.07204965140026814, 0.44000169331681477, 0.0008048217347957497),
    ("plain", "relative", 5000, 0.05, 0.030687083963994707, -0.019793667234405433, 0.08116783516239484, 0.805494503300736),
    ("plain", "absolute", 5000, 0.1, 0.29807370806146416, -0.14098785005809844, 0.7371352661810268, 0.7000968953499356),
    ("cuped", "absolute", 5000, 0.1, 0.25602567235854146, 0.08830200073129962, 0.4237493439857833, 0.0008218360906804559),
    ("plain", "relative", 5000, 0.1, 0.030687083963994707, -0.015334223016099595, 0.07670839094408902, 0.7424311432552728),
    ("plain", "absolute", 20000, 0.05, 0.29807370806146416, -0.18700797260995228, 0.7831553887328806, 0.5313803890210897),
    ("cuped", "absolute", 20000, 0.05, 0.25602567235854146, 0.0707220878913086, 0.4413292568257743, 0.0015847601103190535),
    ("plain", "relative", 20000, 0.05, 0.030687083963994707, -0.02015793428859431, 0.08153210221658372, 0.5589592269737628),
    ("plain", "absolute", 20000, 0.1, 0.29807370806146416, -0.14513974375413335, 0.7412871598770616, 0.5216416513917387),
    ("cuped", "absolute", 20000, 0.1, 0.25602567235854146, 0.0867159569476274, 0.4253353877694555, 0.002064190475030053),
    ("plain", "relative", 20000, 0.1, 0.030687083963994707, -0.01576941386986573, 0.07714358179785515, 0.547366457025841),
]


@pytest.fixture(scope="module")
def data():
    return ck.datasets.load("ab_cuped_sim")


@pytest.mark.parametrize("kind, scale, tuning, alpha, est, low, high, p", GBSTATS)
def test_confidence_sequence_matches_gbstats(data, kind, scale, tuning, alpha, est, low, high, p):
    spec = ck.ExperimentSpec(
        name="ref", design="ab", outcome="y", treatment="treat", alpha=alpha,
        pre_covariate="pre" if kind == "cuped" else None, sequential={"planned_n": tuning},
    )
    res = ck.estimate(data, spec)
    assert res.details["sequential"]["rho"] == pytest.approx(
        np.sqrt((-2 * np.log(alpha) + np.log(-2 * np.log(alpha) + 1)) / tuning), abs=1e-15)
    if scale == "absolute":
        assert res.estimate == pytest.approx(est, abs=1e-9)
        assert res.ci == pytest.approx((low, high), abs=1e-6)
        assert res.p_value == pytest.approx(p, abs=1e-6)
    else:
        comp = res.tables["comparisons"].iloc[0]
        assert comp["relative_lift"] == pytest.approx(est, abs=1e-9)
        assert res.relative_ci == pytest.approx((low, high), abs=1e-6)


# Jennison & Turnbull (2000) Table 2.1 / 2.3, two-sided alpha = 0.05
POCOCK_CP = {2: 2.178, 3: 2.289, 4: 2.361, 5: 2.413, 10: 2.555}
OBF_CB = {2: 1.977, 3: 2.004, 4: 2.024, 5: 2.040, 10: 2.087}


@pytest.mark.parametrize("k", sorted(POCOCK_CP))
def test_classic_pocock_constants(k):
    assert constant_boundaries(k, 0.05, "pocock")[0] == pytest.approx(POCOCK_CP[k], abs=5e-4)


@pytest.mark.parametrize("k", sorted(OBF_CB))
def test_classic_obrien_fleming_constants(k):
    b = constant_boundaries(k, 0.05, "obrien_fleming")
    assert b[-1] == pytest.approx(OBF_CB[k], abs=5e-4)
    assert b[0] == pytest.approx(OBF_CB[k] * np.sqrt(k), abs=5e-4 * np.sqrt(k))


def test_lan_demets_obrien_fleming_five_looks():
    # ldbounds / gsDesign, sfLDOF, 5 equally spaced looks, two-sided symmetric alpha = 0.05
    b = spending_boundaries([0.2, 0.4, 0.6, 0.8, 1.0], 0.05, "obrien_fleming")
    assert b == pytest.approx([4.8769, 3.3570, 2.6803, 2.2898, 2.0310], abs=5e-5)


def test_lan_demets_pocock_five_looks():
    b = spending_boundaries([0.2, 0.4, 0.6, 0.8, 1.0], 0.05, "pocock")
    assert b == pytest.approx([2.438, 2.427, 2.410, 2.397, 2.386], abs=5e-4)


def test_spending_is_exact_and_grid_converged():
    t = [0.15, 0.4, 0.55, 0.9, 1.0]  # unequal spacing
    for kind in ("obrien_fleming", "pocock"):
        b = spending_boundaries(t, 0.05, kind)
        assert crossing_probabilities(b, t).sum() == pytest.approx(0.05, abs=1e-9)


def test_boundaries_hold_by_monte_carlo():
    """Independent check: Brownian paths at the looks cross the boundary with probability alpha."""
    rng = np.random.default_rng(2024)
    t = np.array([0.2, 0.4, 0.6, 0.8, 1.0])
    R = 400_000
    increments = rng.standard_normal((R, t.size)) * np.sqrt(np.diff(np.concatenate([[0.0], t])))
    z = increments.cumsum(1) / np.sqrt(t)
    mcse = np.sqrt(0.05 * 0.95 / R)
    for kind in ("obrien_fleming", "pocock"):
        crossed = (np.abs(z) >= spending_boundaries(t, 0.05, kind)).any(axis=1).mean()
        assert abs(crossed - 0.05) < 3 * mcse


# (phi, rows, estimate, ci_low, ci_high, p_value) from savvi LinearRegression on [1, treat, pre] -> y
SAVVI_REGRESSION = [
    (1.0, 1000, 0.47272061452003794, -0.17798658934461126, 1.123427818384687, 0.7520204562487524),
    (1.0, 4000, 0.3007136331882558, -0.04448592818816427, 0.6459131945646759, 0.23636893769696254),
    (1.0, 10000, 0.2560278177722425, 0.03255206506282307, 0.4795035704816619, 0.005783174780977389),
    (0.5, 1000, 0.47272061452003794, -0.19666961129787403, 1.1421108403379499, 1.0559869760882314),
    (0.5, 4000, 0.3007136331882558, -0.05355896232106322, 0.6549862286975747, 0.33337446939624676),
    (0.5, 10000, 0.2560278177722425, 0.02703527764161595, 0.485020357902869, 0.008163002814844715),
]


@pytest.mark.parametrize("phi, rows, est, low, high, p", SAVVI_REGRESSION)
def test_anytime_regression_matches_savvi(data, phi, rows, est, low, high, p):
    df = data.iloc[:rows]
    X = np.column_stack([np.ones(rows), df["treat"], df["pre"]])
    e, _, lo, hi, pv = anytime_valid_ols(df["y"].to_numpy(), X, 1, phi=phi)
    assert (e, lo, hi) == pytest.approx((est, low, high), rel=1e-6)
    assert pv == pytest.approx(min(p, 1.0), rel=1e-6)


# (counts, expected shares, p) from savvi Multinomial(k=100): p = 1 / BF, uncapped
SAVVI_SRM = [
    ([5000, 5000], [0.5, 0.5], 10.074781943411992),
    ([5150, 4850], [0.5, 0.5], 0.1168917697658948),
    ([3100, 3000, 3500], [0.3, 0.3, 0.4], 5.533702515891917e-10),
]


@pytest.mark.parametrize("counts, shares, p", SAVVI_SRM)
def test_sequential_srm_matches_savvi(counts, shares, p):
    assert sequential_srm_p_value(counts, shares, concentration=100.0) == pytest.approx(min(p, 1.0), rel=1e-6)
