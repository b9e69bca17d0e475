"""Design-time spillover buffer: neighbours of treated units leave the control group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.design import apply_buffer, buffer_zone
from causal_kit.errors import DataError, SpecError
from causal_kit.inference.exposure import nearest_distance_km


def _spec(**kw):
    return ck.ExperimentSpec(**{"name": "b", "design": "spillover", "outcome": "y", "unit": "geo",
                                "treatment": "treated", "coordinates": ["lat", "lon"],
                                "spillover": {"bands_km": [15]}, **kw})


def _geo():
    return ck.datasets.load("spillover_sim").drop_duplicates("geo")


def test_buffer_is_every_untreated_unit_within_reach():
    geo = _geo().sort_values("geo")
    treated = geo["geo"].iloc[::10].tolist()
    zone = buffer_zone(geo, treated, _spec()).set_index("unit")
    d = nearest_distance_km(geo["lat"].to_numpy(), geo["lon"].to_numpy(), geo["geo"].isin(treated).to_numpy())
    want = np.where(geo["geo"].isin(treated), "treated", np.where(d <= 15.0, "buffer", "control"))
    assert (zone.loc[geo["geo"], "role"].to_numpy() == want).all()


def test_apply_buffer_drops_controls_and_reports_it():
    geo = _geo()
    a = pd.DataFrame({"unit": geo["geo"], "cell": ["treatment"] * 10 + ["control"] * 110, "kpi": 1.0,
                      "kpi_share": 1 / 120, "cost": 0.0})
    d = ck.design.DesignResult(method="did", spec=_spec(), spec_hash="", assignment=a, power_curve=pd.DataFrame(),
                               duration_table=pd.DataFrame(), estimator_ranking=pd.DataFrame(), mde=0.05,
                               mde_absolute=1.0, target_power=0.8, alpha=0.05, recommended_duration=4,
                               type1_error=0.05)
    out = apply_buffer(d, geo)
    n_buf = len(out.tables["buffer"])
    assert len(out.assignment) == 120 - n_buf and (out.assignment["cell"] == "treatment").sum() == 10
    assert not set(out.tables["buffer"]["unit"]) & set(out.assignment.loc[out.assignment["cell"] == "control", "unit"])
    diag = {x.name: x for x in out.diagnostics}["spillover_buffer"]
    assert diag.status == "pass" and f"{n_buf} of 110 control units" in diag.message


def test_named_errors():
    geo = _geo()
    with pytest.raises(DataError, match="1 treated unit\\(s\\) are not in 'geo'"):
        buffer_zone(geo, ["nowhere"], _spec())
    spec = ck.ExperimentSpec(name="x", design="did", outcome="y", unit="geo", time="period", treatment="treated")
    with pytest.raises(SpecError, match="needs spec.coordinates"):
        buffer_zone(geo, ["g0000"], spec)


def test_plan_applies_the_buffer_when_the_spec_asks():
    from causal_kit.datasets import simulate_geo_panel

    hist = simulate_geo_panel(n_geos=30, n_days=120, seed=1)
    rng = np.random.default_rng(0)
    coords = pd.DataFrame({"geo": sorted(hist["geo"].unique()), "lat": rng.uniform(40, 40.6, 30),
                           "lon": rng.uniform(-95, -94.2, 30)})
    hist = hist.merge(coords, on="geo")
    spec = ck.ExperimentSpec(name="geo", design="did", outcome="kpi", unit="geo", time="date", treatment="treated",
                             coordinates=["lat", "lon"], spillover={"bands_km": [8], "buffer": True})
    d = ck.design.plan(hist, spec, n_treated=4, duration=14, n_candidates=1, n_windows=4,
                       candidate_estimators=("did",), inference="approximate", progress=False)
    buf = d.tables["buffer"]
    assert len(buf) > 0 and (buf["distance"] <= 8.0).all() and d.details["buffer_units"] <= len(buf)
    assert not set(d.tables["buffer"]["unit"]) & set(d.assignment.loc[d.assignment["cell"] == "control", "unit"])
