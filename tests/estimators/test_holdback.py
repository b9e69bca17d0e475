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
