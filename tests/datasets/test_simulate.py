"""Simulators: shapes, seeds, positivity and the known true effects."""

from __future__ import annotations

import numpy as np
import pytest

from causal_kit.datasets import (
    simulate_geo_panel,
    simulate_iv,
    simulate_rdd,
    simulate_staggered_panel,
)
from causal_kit.errors import SpecError


def test_geo_panel_shape_positivity_and_seed():
    df = simulate_geo_panel(n_geos=12, n_days=90, seed=4)
    assert df.shape == (12 * 90, 5) and list(df.columns) == ["geo", "date", "kpi", "cost", "treated"]
    assert (df["kpi"] > 0).all() and (df["cost"] >= 0).all() and df["treated"].sum() == 0
    assert df.equals(simulate_geo_panel(n_geos=12, n_days=90, seed=4))
    assert not df.equals(simulate_geo_panel(n_geos=12, n_days=90, seed=5))


def test_geo_panel_injects_the_multiplicative_effect_exactly():
    base = simulate_geo_panel(n_geos=10, n_days=60, seed=1)
    lifted = simulate_geo_panel(n_geos=10, n_days=60, seed=1, effect=0.2, treated=["geo_002", "geo_007"],
                                test_start="2024-02-01")
    on = lifted["treated"] == 1
    assert set(lifted.loc[on, "geo"]) == {"geo_002", "geo_007"}
    assert lifted.loc[on, "date"].min() == np.datetime64("2024-02-01")
    np.testing.assert_allclose(lifted.loc[on, "kpi"] / base.loc[on, "kpi"], 1.2)
    np.testing.assert_allclose(lifted.loc[~on, "kpi"], base.loc[~on, "kpi"])


def test_geo_panel_errors():
    with pytest.raises(SpecError, match="'treated' parameter"):
        simulate_geo_panel(n_geos=5, n_days=20, treated=5)
    with pytest.raises(SpecError, match="not in geo_001"):
        simulate_geo_panel(n_geos=5, n_days=20, treated=["geo_099"])
    with pytest.raises(SpecError, match="'n_geos' parameter"):
        simulate_geo_panel(n_geos=1)


def test_staggered_panel_true_effect():
    df = simulate_staggered_panel(n_units=4000, n_periods=8, cohorts=(4, 6), effect=2.0, seed=0)
    assert set(df["cohort"]) == {0, 4, 6}
    # parallel trends by construction: a 2x2 DiD of cohort 4 against never treated recovers 2
    wide = df.pivot(index="unit", columns="period", values="y")
    cohort = df.groupby("unit")["cohort"].first()
    gain = wide[5] - wide[3]
    att = gain[cohort == 4].mean() - gain[cohort == 0].mean()
    se = np.sqrt(gain[cohort == 4].var() / (cohort == 4).sum() + gain[cohort == 0].var() / (cohort == 0).sum())
    assert abs(att - 2.0) < 3 * se


def test_rdd_and_iv_true_effects():
    rd = simulate_rdd(n=20000, effect=1.5, seed=1)
    near = rd[np.abs(rd["x"]) < 0.05]
    jump = near.loc[near["x"] >= 0, "y"].mean() - near.loc[near["x"] < 0, "y"].mean()
    assert jump == pytest.approx(1.5, abs=0.1)
    assert set(simulate_rdd(n=200, fuzzy=True, seed=1)["d"]) == {0, 1}
    iv = simulate_iv(n=50000, effect=0.5, seed=2)
    wald = np.cov(iv["y"], iv["z"])[0, 1] / np.cov(iv["d"], iv["z"])[0, 1]
    ols = np.cov(iv["y"], iv["d"])[0, 1] / iv["d"].var()
    assert wald == pytest.approx(0.5, abs=0.05) and ols > 0.7
