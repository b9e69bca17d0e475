"""The movement report and its runner: headline numbers, sections, caveats, browser check."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from causal_kit.errors import SpecError
from causal_kit.explain import explain, load_movement_spec, simulate_deliveries
from causal_kit.report.movement import headline, render_movement

SPEC = {"name": "on_time_w8", "question": "Why did the on-time rate fall?", "metric": "on-time rate",
        "period": "week", "before": 11, "after": 12,
        "mix_rate": {"numerator": "on_time", "dimensions": ["route_type", "carrier"]},
        "kpi_tree": {"nodes": {"cost_per_kg": {"op": "divide", "of": ["cost", "weight_kg"]}}},
        "oaxaca": {"outcome": "cost", "covariates": ["weight_kg"]},
        "anomalies": {"segment": "station"},
        "experiment": {"unit": "station", "durations": [2, 3], "n_windows": 4}}


@pytest.fixture(scope="module")
def analysis():
    return explain(simulate_deliveries(30_000, weeks=12, seed=4), SPEC)


def test_headline_states_the_numbers_of_the_decomposition(analysis):
    d = analysis.primary
    text = headline(d, "week")
    mix = sum(v for c, v in zip(d.components["component"], d.components["value"]) if c.startswith("mix"))
    assert text.startswith(f"on-time rate fell {abs(100 * d.change):.2f} points from week 11 to week 12")
    assert f"{100 * mix:+.2f} points are mix" in text or f"{100 * mix:+.3g} points are mix" in text
    assert "route_type = rural" in text


def test_report_has_every_section_and_no_external_resources(analysis):
    html = render_movement(analysis)
    for title in ("Mix versus rate", "KPI tree drivers (LMDI)", "Oaxaca-Blinder, twofold", "Unusual segments",
                  "Suggested experiment"):
        assert title in html
    assert "accounting" in html and "Draft experiment spec" in html
    assert html.count('data-ck-fig="') == 3
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?://', html)


def test_movement_spec_errors_name_the_field():
    with pytest.raises(SpecError, match=r"field 'mix_rate.dimensions'"):
        load_movement_spec({"name": "x", "period": "week", "mix_rate": {"numerator": "y", "dimensions": []}})
    with pytest.raises(SpecError, match=r"asks for no decomposition"):
        explain(simulate_deliveries(500), {"name": "x", "period": "week"})
    with pytest.raises(SpecError, match=r"anomalies and experiment blocks score the mix_rate metric"):
        explain(simulate_deliveries(500), {"name": "x", "period": "week", "anomalies": {"segment": "station"},
                                           "oaxaca": {"outcome": "cost", "covariates": ["weight_kg"]}})


@pytest.mark.browser
@pytest.mark.slow
def test_report_renders_in_chromium_at_phone_and_desktop_widths(analysis, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "report"))
    from _chromium import Browser, find_chromium

    exe = find_chromium()
    if exe is None:
        pytest.skip("headless Chromium is not installed")
    page = tmp_path / "movement.html"
    page.write_text(render_movement(analysis), encoding="utf-8")
    with Browser(exe, width=1400) as b:
        for width in (1400, 390):
            b.set_width(width)
            report = b.load(page, screenshot=tmp_path / f"movement_{width}.png")
            assert report["errors"] == [] and report["requests"] == [] and report["drawn"] == ["True"]
            over = b.overflow()
            assert over["scroll"] <= over["inner"], over


def test_decomposition_plot_is_a_waterfall_that_ends_at_after(analysis):
    d = analysis.primary
    fig = d.plot("week")
    trace = fig.data[0]
    assert trace.type == "waterfall" and list(trace.x)[0] == "week 11" and list(trace.x)[-1] == "week 12"
    assert trace.y[0] == d.before and trace.y[-1] == d.after
    assert sum(trace.y[1:-1]) == pytest.approx(d.change, abs=1e-12)
