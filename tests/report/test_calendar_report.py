"""The calendar Gantt, the design report's calendar view, the concurrent-studies page and the
portfolio's Concurrent studies section (and all of them in headless Chromium at 390 and 1400 px)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_geo_panel
from causal_kit.plots.calendar import calendar_gantt, overlap_pairs

GEOS = [f"geo_{i:03d}" for i in range(1, 31)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _rows(study, treated, control, start, end, owner=None):
    return ([(study, g, "treatment", "treated", start, end, owner) for g in treated]
            + [(study, g, "control", "control", start, end, owner) for g in control])


CALENDAR = pd.DataFrame(
    _rows("promo", GEOS[:5], GEOS[5:12], "2029-12-20", "2030-01-20", "growth")
    + _rows("pricing", GEOS[5:8], GEOS[15:20], "2030-01-10", "2030-02-20", "pricing")
    + _rows("staffing", GEOS[20:24], GEOS[15:20], "2030-01-15", "2030-03-01", "ops")
    + _rows("later", GEOS[:3], GEOS[3:9], "2030-03-02", "2030-03-20"),
    columns=["study", "unit", "cell", "role", "start", "end", "owner"],
)


def test_overlap_pairs_and_gantt_colours():
    pairs = overlap_pairs(CALENDAR)
    assert pairs[["study_a", "study_b", "kind", "n_units"]].to_dict("records") == [
        {"study_a": "pricing", "study_b": "promo", "kind": "conflict", "n_units": 3},
        {"study_a": "pricing", "study_b": "staffing", "kind": "shared", "n_units": 5}]
    fig = calendar_gantt(CALENDAR)
    names = {t.name: t for t in fig.data}
    assert set(names) == {"shares treated units in the window", "shares control units only", "no shared units"}
    conflict_rows = {y for y in names["shares treated units in the window"].y if y}
    assert conflict_rows == {"promo · treatment (5)", "promo · control (7)", "pricing · treatment (3)",
                             "pricing · control (5)"}
    assert {y for y in names["no shared units"].y if y} == {"later · treatment (3)", "later · control (6)"}
    # bars run from the start to the end of the last day
    x = [v for v in names["no shared units"].x if v][:2]
    assert x == ["2030-03-02", "2030-03-21"]
    focused = calendar_gantt(CALENDAR, focus="pricing")
    assert "this study" in {t.name for t in focused.data} and len(focused.layout.shapes) == 1
    assert "no studies" in calendar_gantt(CALENDAR.iloc[:0]).layout.annotations[0].text


def test_integer_period_gantt():
    table = CALENDAR.assign(start=3, end=9)
    fig = calendar_gantt(table, focus="promo")
    bar = [v for v in fig.data[0].x if v is not None][:2]
    assert bar == [3, 10]


def test_design_report_draws_the_calendar_only_when_planned_with_one():
    history = simulate_geo_panel(n_geos=30, n_days=90, seed=3)
    spec = ck.ExperimentSpec(
        name="geo_test", design="did", outcome="kpi", unit="geo", time="date", treatment="treated",
        plan={"n_treated": 4, "duration": 21, "n_candidates": 1, "n_windows": 2, "candidate_estimators": ["did"],
              "inference": "approximate", "start": "2030-01-01", "conflicts": "warn", "allow_overlap": True})
    design = ck.design.plan(history, spec, calendar=CALENDAR, progress=False)
    assert design.plot_kinds()[-1] == "calendar"
    fig = design.plot("calendar")
    assert "this study" in {t.name for t in fig.data}
    assert any("promo" in (y or "") for t in fig.data for y in t.y)
    assert not any("later" in (y or "") for t in fig.data for y in t.y)  # outside the window
    html = ck.report.render(design)
    assert "Concurrent studies in this test" in html and "calendar_exposure_balance" in html.replace(" ", "_")
    plain = ck.design.plan(history, spec.update(plan={**spec.plan.model_dump(), "conflicts": "exclude"}),
                           progress=False)
    assert "calendar" not in plain.plot_kinds()
    with pytest.raises(ck.errors.SpecError, match=r"'kind' parameter of DesignResult.plot must be one of"):
        plain.plot("calendar")


def test_concurrent_studies_page_and_portfolio_section():
    html = ck.report.render_calendar(CALENDAR, title="Q1 tests")
    assert "4 studies in the calendar; 2 overlapping pair(s), 1 sharing treated units." in html
    assert "Largest conflict: pricing and promo share 3 units" in html
    assert "geo_016, geo_017, geo_018, geo_019, geo_020" in html
    empty = ck.report.render_calendar(CALENDAR.iloc[:0])
    assert "The calendar is empty" in empty
    spec = ck.ExperimentSpec(name="checkout", design="ab", outcome="y", treatment="treat")
    res = ck.estimate(ck.datasets.load("ab_cuped_sim"), spec)
    res2 = ck.estimate(ck.datasets.load("ab_cuped_sim"), spec.update(name="checkout2"))
    folio = ck.report.render([res, res2], calendar=CALENDAR)
    assert 'data-ck="concurrent"' in folio and "1 sharing treated units" in folio
    assert 'data-ck="concurrent"' not in ck.report.render([res, res2])


@pytest.mark.browser
@pytest.mark.slow
def test_calendar_pages_in_chromium():
    try:
        from ._chromium import Browser, find_chromium
    except ImportError:  # tests/report is not a package
        from _chromium import Browser, find_chromium
    exe = find_chromium()
    if exe is None:
        pytest.skip("headless Chromium not found (install Debian's 'chromium' package)")
    history = simulate_geo_panel(n_geos=30, n_days=90, seed=3)
    spec = ck.ExperimentSpec(
        name="geo_test", design="did", outcome="kpi", unit="geo", time="date", treatment="treated",
        plan={"n_treated": 4, "duration": 21, "n_candidates": 1, "n_windows": 2, "candidate_estimators": ["did"],
              "inference": "approximate", "start": "2030-01-01", "conflicts": "warn", "allow_overlap": True})
    pages = {"calendar": ck.report.render_calendar(CALENDAR),
             "design-calendar": ck.report.render(ck.design.plan(history, spec, calendar=CALENDAR, progress=False))}
    ARTIFACTS.mkdir(exist_ok=True)
    with Browser(exe) as browser:
        for name, html in pages.items():
            page = ARTIFACTS / f"report-{name}.html"
            page.write_text(html, encoding="utf-8")
            for width in (390, 1400):
                browser.set_width(width)
                outcome = browser.load(page, ARTIFACTS / f"report-{name}-{width}.png")
                assert outcome["errors"] == [] and outcome["requests"] == []
                assert outcome["drawn"] == ["True"], "figures were not drawn"
                fit = browser.overflow()
                assert fit["scroll"] <= fit["inner"], (name, width, fit)
