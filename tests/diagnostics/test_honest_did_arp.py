"""Exact HonestDiD (Andrews-Roth-Pakes) confidence sets: reference values, errors and validity."""

from __future__ import annotations

import numpy as np
import pytest

from causal_kit.diagnostics.honest_did_arp import (
    exact_relative_magnitudes,
    honest_breakdown,
    honest_confidence_set,
    honest_sensitivity,
)
from causal_kit.errors import SpecError

# The did2s event study on mpdta (leads -4..-2, reference -1, lags 0..3) and its GMM covariance,
# as produced by causal_kit.estimators.did_two_stage.TwoStageDiD (pinned to diff-diff 3.13.0 in
# tests/reference/test_did_imputation_reference.py).
B = np.array([-0.00984915690579631, 0.00953578930428319, 0.00764359019124851, -0.03106692719257374,
              -0.05223485674850445, -0.13607811444031132, -0.10470747157659974])
V = np.array([
    [8.1016715273222038e-05, 1.9906189154410417e-06, -2.3921485454422710e-05, -4.7093032282126372e-05,
     -4.4950191079404693e-06, -7.0219302450290295e-06, -2.4405545580297161e-05],
    [1.9906189154410417e-06, 4.0537433940138707e-05, -1.1006789039075706e-05, -2.5864121964337547e-05,
     -3.0447860157114950e-05, -1.8310638039058185e-06, -7.1538298779767034e-06],
    [-2.3921485454422710e-05, -1.1006789039075706e-05, 3.6207272076969557e-05, 3.0493105640404293e-06,
     -1.4462385264048243e-05, -8.0236409780255812e-06, -4.1901487405163412e-06],
    [-4.7093032282126365e-05, -2.5864121964337550e-05, 3.0493105640404288e-06, 1.8613325915910957e-04,
     1.0371683728819557e-04, 6.8066958965344614e-05, 9.8948380560842837e-05],
    [-4.4950191079404693e-06, -3.0447860157114950e-05, -1.4462385264048245e-05, 1.0371683728819556e-04,
     3.5962713398728118e-04, 3.4084843295326513e-04, 3.1680622785825791e-04],
    [-7.0219302450290295e-06, -1.8310638039058183e-06, -8.0236409780255829e-06, 6.8066958965344628e-05,
     3.4084843295326513e-04, 1.2490549942761613e-03, 8.0647646745840562e-04],
    [-2.4405545580297165e-05, -7.1538298779767042e-06, -4.1901487405163412e-06, 9.8948380560842837e-05,
     3.1680622785825791e-04, 8.0647646745840562e-04, 1.1401328529798901e-03],
])
E = np.array([-4, -3, -2, 0, 1, 2, 3])
GRID = np.linspace(-0.15, 0.1, 251)

# honestdid 0.1.1 (Python port of R HonestDiD): computeConditionalCS_DeltaRM / _DeltaSD on B, V with
# numPrePeriods=3, numPostPeriods=4, default l_vec (first post period), gridPoints=251 over [-0.15, 0.1];
# hybrid_flag "ARP" (conditional) and "LF" (hybrid). Endpoints are the extreme accepted grid points.
PEER = {
    ("rm", "conditional", 0.5): (-0.06599999999999999, 0.006000000000000005),
    ("rm", "conditional", 1.0): (-0.07799999999999999, 0.019000000000000017),
    ("sd", "conditional", 0.01): (-0.062, 0.015000000000000013),
    ("rm", "hybrid", 0.5): (-0.06599999999999999, 0.006000000000000005),
    ("rm", "hybrid", 1.0): (-0.07799999999999999, 0.019000000000000017),
    ("sd", "hybrid", 0.01): (-0.061, 0.014000000000000012),
}


@pytest.mark.parametrize("key", sorted(PEER))
def test_confidence_sets_match_honestdid(key):
    restriction, method, m = key
    lo, hi = honest_confidence_set(B, V, E, m, restriction=restriction, method=method, grid=GRID)
    # endpoints are grid points (step 0.001); 1e-4 asks for the same accepted grid points
    assert lo == pytest.approx(PEER[key][0], abs=1e-4)
    assert hi == pytest.approx(PEER[key][1], abs=1e-4)


def test_sets_widen_with_m_and_breakdown_is_consistent():
    tab = honest_sensitivity(B, V, E, [0, 0.5, 1, 2], grid_points=400)
    assert (np.diff(tab["upper"]) >= -1e-3).all() and (np.diff(tab["lower"]) <= 1e-3).all()
    bd = honest_breakdown(B, V, E, grid_points=400, tol=1e-2)
    assert 0 < bd < 2
    lo, hi = honest_confidence_set(B, V, E, bd + 0.05, grid_points=400)
    assert lo <= 0 <= hi + 1e-3


def test_exact_table_for_the_average_effect():
    tab, bd = exact_relative_magnitudes(B, V, E, mbar=[0, 1], grid_points=300)
    assert list(tab.columns) == ["mbar", "lower", "upper", "method"]
    assert tab.loc[0, "upper"] < 0 and np.isfinite(bd) and bd > 0


def test_named_errors():
    with pytest.raises(SpecError, match="Mbar grid must be finite values >= 0; 1 of 3"):
        honest_sensitivity(B, V, E, [0, -0.5, 1])
    with pytest.raises(SpecError, match="consecutive event times around the reference period"):
        honest_confidence_set(B, V, np.array([-5, -3, -2, 0, 1, 2, 3]), 1.0)
    with pytest.raises(SpecError, match="'restriction' parameter must be 'rm' or 'sd'"):
        honest_confidence_set(B, V, E, 1.0, restriction="rmsd")
    with pytest.raises(SpecError, match="l_vec must have one weight per post period"):
        honest_confidence_set(B, V, E, 1.0, l_vec=[1.0, 0.0])


@pytest.mark.slow
def test_conditional_sets_cover_under_parallel_trends():
    # delta = 0 (parallel trends) lies in every Delta, so the exact sets must cover theta (>= 95%
    # asymptotically; these tests are conservative away from the point-identified M = 0 case)
    rng = np.random.default_rng(11)
    chol = np.linalg.cholesky(V)
    truth = np.r_[0, 0, 0, -0.03, -0.05, -0.13, -0.1]
    reps, hits = 400, np.zeros((400, 2), dtype=bool)
    grid = np.linspace(-0.2, 0.1, 301)
    for i in range(reps):
        b = truth + chol @ rng.standard_normal(7)
        for j, (r, m) in enumerate((("rm", 0.5), ("sd", 0.01))):
            lo, hi = honest_confidence_set(b, V, E, m, restriction=r, method="conditional", grid=grid)
            hits[i, j] = lo - 5e-4 <= truth[3] <= hi + 5e-4
    rate = hits.mean(axis=0)
    assert np.all(rate >= 0.935), rate
