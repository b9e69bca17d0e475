"""Design-time conflict checks against the calendar: exclusion, exposure balance, refusal."""

from __future__ import annotations

import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_geo_panel
from causal_kit.design.conflicts import (
    CalendarConflictError,
    exposure_share,
    find_conflicts,
    live_table,
    overlapping,
    planned_window,
)
from causal_kit.errors import DataError, SpecError

HISTORY = simulate_geo_panel(n_geos=30, n_days=90, seed=3)
GEOS = sorted(HISTORY["geo"].unique())
PLAN = {"n_treated": 6, "duration": 14, "n_candidates": 1, "n_windows": 2, "candidate_estimators": ["did"],
        "inference": "approximate", "assignment": "stratified", "start": "2030-01-01"}


def _spec(name="geo", **plan):
    return ck.ExperimentSpec(name=name, design="did", outcome="kpi", unit="geo", time="date", treatment="treated",
                             plan={**PLAN, **plan})


def _table(treated, control, start="2029-12-20", end="2030-01-20", study="promo", status="planned"):
    rows = [(u, "treatment", "treated") for u in treated] + [(u, "control", "control") for u in control]
    return pd.DataFrame([{"study": study, "unit": u, "cell": c, "role": r, "start": start, "end": end,
                          "status": status} for u, c, r in rows])


def _diag(design, name):
    return next(d for d in design.diagnostics if d.name == name)


def test_treated_elsewhere_are_excluded_and_named():
    table = _table(GEOS[:4], GEOS[20:24])
    design = ck.design.plan(HISTORY, _spec(), calendar=table, progress=False)
    assigned = set(design.assignment["unit"])
    assert not assigned & set(GEOS[:4])  # excluded
    treated = set(design.assignment.loc[design.assignment["cell"] == "treatment", "unit"])
    assert not treated & set(GEOS[20:24])  # promo's controls are never treated here
    d = _diag(design, "calendar_treated_elsewhere")
    assert d.status == "pass" and "4 unit(s)" in d.message and "promo: " + GEOS[0] in d.message
    assert design.details["calendar"]["overlapping_studies"] == ["promo"]
    assert design.details["calendar"]["start"] == "2030-01-01" and design.details["calendar"]["end"] == "2030-01-14"
    assert set(design.tables["calendar"]["study"]) == {"promo"}


def test_no_overlap_passes_and_closed_or_later_studies_are_ignored():
    table = pd.concat([_table(GEOS[:4], GEOS[4:8], status="closed"),
                       _table(GEOS[:4], GEOS[4:8], start="2030-02-01", end="2030-03-01", study="later")])
    design = ck.design.plan(HISTORY, _spec(), calendar=table, progress=False)
    assert len(design.assignment) == 30
    assert all(d.status == "pass" for d in design.diagnostics if d.name.startswith("calendar"))
    assert "no other study overlaps" in _diag(design, "calendar_treated_elsewhere").message


def test_warn_mode_refuses_treated_units_in_control_naming_study_and_units():
    table = _table(GEOS[:10], [])
    with pytest.raises(CalendarConflictError, match=r"study 'promo' treats \d+ unit\(s\) this study would use as control \(geo_0"):
        ck.design.plan(HISTORY, _spec(conflicts="warn"), calendar=table, progress=False)


def test_allowed_overlap_is_balanced_on_exposure_and_warned():
    table = _table(GEOS[:12], [])
    design = ck.design.plan(HISTORY, _spec(conflicts="warn", allow_overlap=True), calendar=table, progress=False)
    a = design.assignment.set_index("unit")
    exposed = a.loc[GEOS[:12], "cell"]
    # 6 treated of 30 geos: the 12 exposed geos (40%) give the treated cell 2 or 3 of them
    assert 2 <= int((exposed == "treatment").sum()) <= 3
    balance = _diag(design, "calendar_exposure_balance")
    assert balance.status == "pass" and abs(balance.statistic) <= 0.1
    assert _diag(design, "calendar_control_contamination").status == "warn"
    assert _diag(design, "calendar_treated_elsewhere").status == "warn"


def test_must_treat_a_unit_treated_elsewhere_is_refused():
    with pytest.raises(CalendarConflictError, match=r"plan.must_treat names 1 unit\(s\) treated by other live studies.*promo: geo_001"):
        ck.design.plan(HISTORY, _spec(must_treat=[GEOS[0]]), calendar=_table(GEOS[:4], []), progress=False)


def test_too_few_treatable_geos_is_a_named_error():
    with pytest.raises(SpecError, match=r"more geos than the 2 that may be treated \(24 are other live studies' controls\)"):
        ck.design.plan(HISTORY, _spec(), calendar=_table(GEOS[:4], GEOS[4:28]), progress=False)


def test_register_needs_a_calendar_object():
    with pytest.raises(SpecError, match=r"plan.register needs the experiment calendar"):
        ck.design.plan(HISTORY, _spec(register=True), calendar=_table(GEOS[:2], []), progress=False)


def test_bad_calendar_tables_are_named_errors():
    with pytest.raises(DataError, match=r"lacks column\(s\) \['role'\]"):
        live_table(_table(GEOS[:2], []).drop(columns="role"))
    with pytest.raises(DataError, match=r"column 'role' of the calendar has \['boss'\]"):
        live_table(_table(GEOS[:2], []).assign(role="boss"))
    with pytest.raises(DataError, match=r"column 'end' of the calendar has 1 missing values"):
        live_table(_table(GEOS[:1], []).assign(end=None))


def test_window_overlap_and_exposure_arithmetic():
    table = live_table(_table(["a"], ["b"], start=11, end=20))
    assert exposure_share(table, ["a", "b", "c"], 1, 20).tolist() == [0.5, 0.0, 0.0]
    assert overlapping(table, 21, 30).empty and len(overlapping(table, 20, 30)) == 2
    assert overlapping(table, "2024-01-01", "2024-02-01").empty  # dates never overlap integer periods
    assert find_conflicts(table, {"b": "treated", "a": "control"}, 1, 30) == [
        {"study": "promo", "kind": "treated_in_control", "units": ["a"]},
        {"study": "promo", "kind": "control_treated", "units": ["b"]}]
    times = pd.date_range("2024-01-01", periods=10, freq="W-MON")
    assert planned_window(times, None, 4) == (pd.Timestamp("2024-03-11"), pd.Timestamp("2024-04-01"))
    assert planned_window([1, 2, 3], None, 5) == (4, 8)
