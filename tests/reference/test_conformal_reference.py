"""Conformal inference for synthetic control against ``scinference`` 0.1.0 on Prop 99.

California against the 38 other states, 19 pre-years (1970-1988), 12 post-years; numbers made
once by ``make_scinference_conformal.py`` (scinference 0.1.0, cvxpy 1.9.3): moving-block
p-values of constant effects, and pointwise 90% intervals on the grid ``linspace(-60, 20, 201)``
for the ``sc`` and ``did`` counterfactual models. p-values are ranks among 31 blocks and the
interval ends are grid points, so they must agree exactly (atol 1e-6).
"""

from __future__ import annotations

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.inference.conformal import conformal_pointwise, conformal_pvalue

P_VALUES = {  # (model, theta0) -> p-value
    ("sc", 0.0): 3 / 31, ("sc", -5.0): 5 / 31, ("sc", -10.0): 6 / 31, ("sc", -20.0): 9 / 31,
    ("did", 0.0): 11 / 31, ("did", -5.0): 12 / 31, ("did", -10.0): 12 / 31, ("did", -20.0): 11 / 31,
}
INTERVALS = {
    "sc": (
        [-12.8, -14.0, -16.0, -16.8, -20.4, -26.0, -26.4, -30.4, -35.6, -27.2, -36.0, -36.4],
        [-4.8, -2.0, -8.4, -8.4, -13.2, -16.8, -16.0, -18.0, -18.0, -15.6, -20.4, -20.4],
    ),
    "did": (
        [-24.0, -24.8, -32.4, -32.8, -36.4, -40.4, -43.6, -43.6, -44.8, -45.6, -47.2, -47.6],
        [-0.4, -0.8, -8.8, -8.8, -12.4, -16.4, -20.0, -19.6, -21.2, -21.6, -23.6, -23.6],
    ),
}


@pytest.fixture(scope="module")
def prop99():
    wide = ck.datasets.load("california_prop99").pivot(index="Year", columns="State", values="PacksPerCapita")
    return wide.pop("California").to_numpy(), wide.to_numpy()


@pytest.mark.parametrize(("model", "theta0"), list(P_VALUES))
def test_moving_block_p_values_match_scinference(prop99, model, theta0):
    y1, Y0 = prop99
    assert conformal_pvalue(y1, Y0, 19, theta0, model=model) == pytest.approx(P_VALUES[model, theta0], abs=1e-12)


@pytest.mark.parametrize("model", ["sc", "did"])
def test_pointwise_intervals_match_scinference(prop99, model):
    y1, Y0 = prop99
    lo, hi = conformal_pointwise(y1, Y0, 19, np.linspace(-60, 20, 201), alpha=0.1, model=model)
    np.testing.assert_allclose(lo, INTERVALS[model][0], atol=1e-6)
    np.testing.assert_allclose(hi, INTERVALS[model][1], atol=1e-6)
