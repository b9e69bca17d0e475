"""SDID, synthdid-SC and DiD on California Proposition 99 against R synthdid 0.0.9.

Source of every value: Arkhangelsky et al. (2021), Table 1, re-run with R synthdid 0.0.9
(``synthdid_estimate``, ``sc_estimate``, ``did_estimate`` on ``california_prop99``), as
listed in the project's reference-value file (section "Synthetic control and SDID").
"""

from __future__ import annotations

import numpy as np
import pytest

import causal_kit as ck

PROP99 = dict(outcome="PacksPerCapita", treatment="treated", unit="State", time="Year")


def _fit(load, **options):
    spec = ck.ExperimentSpec(name="prop99", design="sdid", **PROP99, options=options)
    return ck.estimate(load("california_prop99"), spec)


@pytest.fixture(scope="module")
def fits():
    from causal_kit import datasets

    return {k: _fit(datasets.load, estimator=k) for k in ("sdid", "sc", "did")}


def test_point_estimates(fits):
    # R synthdid: synthdid_estimate -15.6038278727, sc_estimate -19.6196634709 (R's default
    # stopping rule), did_estimate -27.3491110836
    np.testing.assert_allclose(fits["sdid"].estimate, -15.6038278727, rtol=1e-4)
    np.testing.assert_allclose(fits["sc"].estimate, -19.6196634709, rtol=1e-6)
    np.testing.assert_allclose(fits["did"].estimate, -27.3491110836, rtol=1e-9)


def test_regularisation(fits):
    # R synthdid: zeta_omega = 10.2262, zeta_lambda = 5.494e-06
    d = fits["sdid"].details
    np.testing.assert_allclose(d["zeta_omega"], 10.2262, atol=5e-5)
    np.testing.assert_allclose(d["zeta_lambda"], 5.494e-06, atol=5e-10)


def test_sdid_unit_and_time_weights(fits):
    # R synthdid: omega (8 largest) and lambda (nonzero) of synthdid_estimate
    uw = fits["sdid"].tables["unit_weights"].set_index("unit")["weight"]
    expected = {"Nevada": 0.1245, "New Hampshire": 0.1050, "Connecticut": 0.0783, "Delaware": 0.0704,
                "Colorado": 0.0575, "Illinois": 0.0534, "Nebraska": 0.0479, "Montana": 0.0451}
    for state, w in expected.items():
        assert uw[state] == pytest.approx(w, abs=5e-5), state
    assert list(uw.index[:8]) == list(expected)
    tw = fits["sdid"].tables["time_weights"].set_index("time")["weight"]
    for year, w in {1986: 0.3665, 1987: 0.2065, 1988: 0.4271}.items():
        assert tw[year] == pytest.approx(w, abs=5e-5)
    assert tw.drop([1986, 1987, 1988]).abs().max() < 1e-12


def test_sc_weights_match_synthdid(fits):
    # R synthdid sc_estimate weights with its default stopping rule
    uw = fits["sc"].tables["unit_weights"].set_index("unit")["weight"]
    expected = {"Utah": 0.3961, "Montana": 0.2323, "Nevada": 0.2044, "Connecticut": 0.1045,
                "New Hampshire": 0.0454, "Colorado": 0.0133, "Delaware": 0.0041}
    for state, w in expected.items():
        assert uw[state] == pytest.approx(w, abs=1e-3), state
    assert uw.drop(list(expected)).max() < 1e-3


def test_enumerated_placebo_se(fits):
    # population SD of the 38 placebo estimates (every control once, seed-free):
    # DiD 17.2868, SC 10.6153, SDID 9.3710
    assert fits["did"].se == pytest.approx(17.2868, abs=1e-4)
    assert fits["sc"].se == pytest.approx(10.6153, abs=1e-4)
    assert fits["sdid"].se == pytest.approx(9.3710, abs=1e-4)
    assert len(fits["sdid"].tables["placebo_estimates"]) == 38


def test_random_placebo_se_seeded_and_in_range(load):
    # R synthdid's placebo SE with 200 random replications ranges over 8.4-10.1 across seeds;
    # a single seed of ours varies similarly (7.8-10.9 over seeds 0-5), so the test checks
    # reproducibility per seed and that the average over six seeds lies in R's range.
    ses = [
        ck.estimate(load("california_prop99"), ck.ExperimentSpec(
            name="p", design="sdid", **PROP99, seed=seed, options={"placebo_draws": "random"})).se
        for seed in range(6)
    ]
    again = ck.estimate(load("california_prop99"), ck.ExperimentSpec(
        name="p", design="sdid", **PROP99, seed=0, options={"placebo_draws": "random"})).se
    assert again == ses[0]
    assert 8.4 <= float(np.mean(ses)) <= 10.1
    assert 7.0 < min(ses) and max(ses) < 12.0
