"""Holdback (inverse) geo tests: the switch-off read out, reported as the campaign's effect."""

from __future__ import annotations

import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_geo_panel
from causal_kit.errors import SpecError

ROLES = dict(outcome="kpi", unit="geo", time="date", treatment="treated")


def test_holdback_is_the_readout_with_the_sign_flipped():
    df = simulate_geo_panel(n_geos=30, n_days=150, treated=8, effect=-0.05, seed=4)
    res = ck.estimate(df, ck.ExperimentSpec(name="h", design="holdback", options={"readout": "did"}, **ROLES))
    off = ck.estimate(df, ck.ExperimentSpec(name="h", design="did", **ROLES))
    assert res.estimate == pytest.approx(-off.estimate, rel=1e-12)
    assert res.ci == pytest.approx((-off.ci[1], -off.ci[0]), rel=1e-12)
    assert res.p_value == off.p_value and res.se == off.se
    # the campaign's effect is measured against what the held-back geos did without it (observed)
    held = df[df["treated"] == 1]
    assert res.baseline == pytest.approx(held["kpi"].mean(), rel=1e-9)
    assert res.details["lift_pct"] == pytest.approx(100 * res.estimate / res.baseline, rel=1e-12)
    assert res.details["cumulative_effect"] == pytest.approx(res.estimate * res.exposure, rel=1e-12)
    assert res.diagnostics[0].name == "holdback_sign"
    # switching off cost 5% of Y(on), so the campaign adds 1/0.95 - 1 = 5.26% of Y(off)
    truth = float(held["kpi"].mean() * (1 / 0.95 - 1))
    assert res.ci[0] <= truth <= res.ci[1] and res.estimate > 0


def test_holdback_named_errors():
    df = simulate_geo_panel(n_geos=12, n_days=60, treated=3, effect=-0.05, seed=1)
    with pytest.raises(SpecError, match="The 'readout' parameter of Holdback"):
        ck.estimate(df, ck.ExperimentSpec(name="h", design="holdback", options={"readout": "ab"}, **ROLES))
    with pytest.raises(SpecError, match="readout_options"):
        ck.estimate(df, ck.ExperimentSpec(name="h", design="holdback", options={"readout_options": 3}, **ROLES))


@pytest.mark.parametrize("design", ["holdback", "multi_cell"])
def test_plan_simulates_the_readout_estimator_of_holdback_and_multi_cell_designs(design):
    history = simulate_geo_panel(n_geos=24, n_days=160, seed=1)
    extra = {"cell": "cell"} if design == "multi_cell" else {}
    spec = ck.ExperimentSpec(name="p", design=design, options={"readout": "did"}, **ROLES, **extra,
                             plan={"n_windows": 4, "duration": 14, "cells": 2 if design == "multi_cell" else 1,
                                   "n_candidates": 2, "candidate_estimators": ["did"]})
    plan = ck.design.plan(history, spec, progress=False)
    assert plan.method == "did"
    cells = set(plan.assignment["cell"])
    assert cells == ({"control", "treatment", "treatment_2"} if design == "multi_cell" else {"control", "treatment"})
