"""Sequential inference against published / independently computed reference values.

* Asymptotic confidence sequence and always-valid p-value: GrowthBook ``gbstats`` 0.8.0,
  ``SequentialTwoSidedTTest`` on ``ab_cuped_sim`` (numbers made by ``make_gbstats_sequential.py``
  beside this file and pasted here), tolerance 1e-6 absolute. CUPED relative lift is not
  compared: gbstats divides by the *unadjusted* control mean, causal_kit by the adjusted one.
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
from causal_kit.inference.alpha_spending import constant_boundaries, crossing_probabilities, spending_boundaries

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
