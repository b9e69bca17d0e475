"""Ring DiD and Conley SEs against diff-diff 3.13.0 (computed once; see make_diffdiff_interference.py).

diff-diff's ``SpilloverDiD`` (Butts 2021, two-stage Gardner form) and its Conley covariance (which its
documentation states matches R ``conleyreg`` 0.1.9 to ~1e-14) were run on the bundled ``spillover_sim``
panel; the numbers below are its printout. Point estimates agree to 1e-9 absolute (diff-diff absorbs the fixed effects iteratively); the SEs of the ring DiD
differ slightly by construction (diff-diff: GMM-corrected two-stage CR1; here: one-stage TWFE CRV1 with
the fixest factor), so they are compared at 1%.
"""

from __future__ import annotations

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.estimators.spillover import RingDiD
from causal_kit.inference.conley import conley_vcov

# diff-diff 3.13.0 SpilloverDiD(rings=[0, 15, 30], cluster="geo") on spillover_sim
DD_DIRECT, DD_DIRECT_SE = 1.8469046770359578, 0.20164479887792042
DD_RING = {"spillover 0-15 km": (0.965935729667536, 0.21081485748852644),
           "spillover 15-30 km": (0.04152171380066289, 0.2019663330943511)}
# diff-diff 3.13.0 compute_robust_vcov(vcov_type="conley", cutoff 60 km) on the demeaned TWFE: SE of the slope
DD_CONLEY = {("bartlett", 0): 0.1533803432173917, ("bartlett", 3): 0.14651046776755675,
             ("uniform", 0): 0.15696566956045882, ("uniform", 3): 0.1502598046735939}


def test_ring_did_matches_diffdiff_spillover_did():
    spec = ck.ExperimentSpec(name="ring", design="spillover", outcome="y", unit="geo", time="period",
                             treatment="treated", coordinates=["lat", "lon"], spillover={"bands_km": [15, 30]})
    res = RingDiD().fit(ck.datasets.load("spillover_sim"), spec)
    eff = res.tables["effects"].set_index("term")
    assert res.estimate == pytest.approx(DD_DIRECT, rel=1e-9)
    assert res.se == pytest.approx(DD_DIRECT_SE, rel=1e-2)
    for term, (est, se) in DD_RING.items():
        assert eff.loc[term, "estimate"] == pytest.approx(est, rel=1e-8, abs=1e-9)  # diff-diff absorbs FEs iteratively
        assert eff.loc[term, "se"] == pytest.approx(se, rel=1e-2)


@pytest.mark.parametrize("kernel,lag", list(DD_CONLEY))
def test_conley_matches_diffdiff_conleyreg_parity(kernel, lag):
    df = ck.datasets.load("spillover_sim")
    wide_y = df.pivot(index="geo", columns="period", values="y").sort_index().to_numpy()
    wide_d = df.pivot(index="geo", columns="period", values="treated").sort_index().to_numpy().astype(float)

    def dm(a):
        return (a - a.mean(1, keepdims=True) - a.mean(0, keepdims=True) + a.mean()).ravel()

    x, y = dm(wide_d), dm(wide_y)
    beta = x @ y / (x @ x)
    n_u, n_t = wide_y.shape
    units = np.repeat(np.arange(n_u), n_t)
    coords = df.drop_duplicates("geo").sort_values("geo")[["lat", "lon"]].to_numpy()[units]
    V = conley_vcov(x[:, None], y - beta * x, coords[:, 0], coords[:, 1], np.tile(np.arange(n_t), n_u), units,
                    cutoff_km=60.0, kernel=kernel, lag_cutoff=lag)
    assert float(np.sqrt(V[0, 0])) == pytest.approx(DD_CONLEY[(kernel, lag)], rel=1e-6)
