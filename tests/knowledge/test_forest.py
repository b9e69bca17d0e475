"""The forest-plot report of an evidence synthesis: its sentences and, in headless Chromium, its layout."""

from __future__ import annotations

import importlib.util
import math
from dataclasses import replace
from pathlib import Path

import pytest

from causal_kit.knowledge.forest import forest_figure, pooled_sentence, render_forest
from causal_kit.knowledge.synthesis import meta_analysis

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BCG = ([-0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.0120, -0.4694, -1.3713, -0.3394, 0.4459,
        -0.0173], [0.3256, 0.1946, 0.4154, 0.0200, 0.0512, 0.0069, 0.2230, 0.0040, 0.0564, 0.0730, 0.0124, 0.5325,
                   0.0714])


def _syntheses():
    bcg = meta_analysis(BCG[0], [math.sqrt(v) for v in BCG[1]], labels=[f"trial {i + 1}" for i in range(13)])
    bcg = replace(bcg, intervention="BCG vaccine", outcome="tuberculosis (log risk ratio)")
    null = meta_analysis([0.3, 0.5, 0.1, -0.2], [0.2, 0.3, 0.25, 0.3], labels=["north", "south", "east", "west"])
    null = replace(null, intervention="shorter delivery windows", outcome="repeat orders", unit="orders")
    return bcg, null


def test_a_pooled_null_never_reads_like_an_effect():
    bcg, null = _syntheses()
    assert "includes no effect" in pooled_sentence(null)
    assert "includes no effect" not in pooled_sentence(bcg)
    assert "Pooled over 13 studies, the effect is -0.715" in pooled_sentence(bcg)


def test_the_figure_shows_every_study_and_the_pooled_diamond():
    bcg, _ = _syntheses()
    fig = forest_figure(bcg)
    assert list(fig.data[0].y) == list(bcg.labels) and fig.data[2].x[0] == bcg.estimate
    assert fig.layout.xaxis.title.text.startswith("Effect on tuberculosis")


def _load_chromium():
    here = Path(__file__).resolve().parents[1] / "report" / "_chromium.py"
    spec = importlib.util.spec_from_file_location("ck_chromium", here)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.browser
@pytest.mark.slow
def test_the_forest_report_in_chromium_at_phone_and_desktop_widths():
    chromium = _load_chromium()
    exe = chromium.find_chromium()
    if exe is None:
        pytest.skip("headless Chromium not found (install Debian's 'chromium' package)")
    ARTIFACTS.mkdir(exist_ok=True)
    page = ARTIFACTS / "report-synthesis.html"
    page.write_text(render_forest(list(_syntheses())), encoding="utf-8")
    with chromium.Browser(exe) as browser:
        for width in (390, 1400):
            browser.set_width(width)
            outcome = browser.load(page, ARTIFACTS / f"report-synthesis-{width}.png")
            assert outcome["errors"] == [] and outcome["requests"] == []
            assert outcome["drawn"] == ["True"]
            fit = browser.overflow()
            assert fit["scroll"] <= fit["inner"], (width, fit)
