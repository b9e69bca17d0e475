"""Propensity matching with exact ties: every tied nearest control is averaged (Abadie-Imbens).

Breaking ties by row order made the ATT depend on how the rows were sorted. The match set
J_M(i) of Abadie & Imbens (2006) keeps every control at least as close as the M-th nearest
(R ``Matching`` with ``ties=TRUE``); these tests check the estimate and its standard error
against a brute-force O(n^2) implementation of that definition and check row-order invariance.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _fixed_learners import FixedPropensity

import causal_kit as ck
from causal_kit.estimators.matching import PropensityMatching, tied_matches


def brute_force_att(s, y, d, k):
    """ATT and Abadie-Imbens SE with all ties kept, by direct enumeration (independent of the estimator)."""
    t_idx, c_idx = np.flatnonzero(d == 1), np.flatnonzero(d == 0)
    K, K2, effects = np.zeros(len(y)), np.zeros(len(y)), []
    for i in t_idx:
        dist = np.abs(s[c_idx] - s[i])
        kth = np.sort(dist)[k - 1]
        match = c_idx[dist <= kth + 1e-12]
        effects.append(y[i] - y[match].mean())
        K[match] += 1 / len(match)
        K2[match] += 1 / len(match) ** 2
    sig2 = np.zeros(len(y))
    for i in range(len(y)):
        same = np.flatnonzero((d == d[i]) & (np.arange(len(y)) != i))
        dist = np.abs(s[same] - s[i])
        near = same[dist <= dist.min() + 1e-12]
        sig2[i] = len(near) / (len(near) + 1) * (y[i] - y[near].mean()) ** 2
    eff = np.array(effects)
    theta = eff.mean()
    var = (np.sum((eff - theta) ** 2) + np.sum((K**2 - K2) * sig2)) / len(eff) ** 2
    return theta, np.sqrt(var)


def tied_frame(n=240, seed=4):
    rng = np.random.default_rng(seed)
    p = rng.choice([0.2, 0.35, 0.5, 0.65], size=n)  # four propensity levels: heavy exact ties
    d = (rng.random(n) < p).astype(float)
    y = 3 * p + 1.5 * d + rng.normal(size=n)
    return pd.DataFrame({"p": p, "d": d, "y": y})


SPEC = ck.ExperimentSpec(name="ties", design="dml", outcome="y", treatment="d", covariates=["p"])


@pytest.mark.parametrize("k", [1, 3])
def test_tied_matches_equal_brute_force_abadie_imbens(k):
    df = tied_frame()
    res = PropensityMatching(propensity=FixedPropensity(), caliper=None, n_neighbors=k).fit(df, SPEC)
    s = np.log(df.p / (1 - df.p)).to_numpy()
    theta, se = brute_force_att(s, df.y.to_numpy(), df.d.to_numpy(), k)
    assert res.estimate == pytest.approx(theta, rel=1e-12, abs=1e-12)
    assert res.se == pytest.approx(se, rel=1e-10)


def test_tied_matches_do_not_depend_on_row_order():
    df = tied_frame()
    est = PropensityMatching(propensity=FixedPropensity(), caliper=None)
    got = [est.fit(df.sample(frac=1, random_state=r).reset_index(drop=True), SPEC) for r in range(5)]
    assert np.ptp([g.estimate for g in got]) < 1e-12
    assert np.ptp([g.se for g in got]) < 1e-12


def test_public_data_with_tied_controls_row_order_invariant():
    """sipp401k on binary covariates only (32 propensity levels): 5 row orders, one ATT."""
    sipp = ck.datasets.load("sipp401k").sample(3000, random_state=0)
    spec = ck.ExperimentSpec(name="t", design="dml", outcome="net_tfa", treatment="e401",
                             covariates=["marr", "twoearn", "db", "pira", "hown"], estimators=["psm"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        atts = [ck.estimate(sipp.sample(frac=1, random_state=r), spec)[0].estimate for r in range(5)]
    assert np.ptp(atts) <= 1e-9 * abs(np.mean(atts))


def test_tied_matches_ranges():
    m = tied_matches(np.array([3.0, 1.0, 0.0, 1.0]), np.array([1.1, -5.0, 2.0]), k=1)
    sizes = (m.hi - m.lo).tolist()
    assert sizes == [2, 1, 3]  # both 1.0s; the 0.0; 1.0, 1.0 and 3.0 are all at distance 1
    assert m.kth_distance == pytest.approx([0.1, 5.0, 1.0])
