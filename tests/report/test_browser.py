"""Reports in a real browser: every page loads in headless Chromium with no console error and
no network request, its figures draw, and a screenshot lands in test-artifacts/."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

from causal_kit.estimators import ESTIMATORS
from causal_kit.report import render, render_history

try:
    from ._chromium import Browser, find_chromium
    from ._stand_ins import stand_in_design
    from .conftest import fit_case, render_case
except ImportError:  # tests/report is not a package
    from _chromium import Browser, find_chromium
    from _stand_ins import stand_in_design
    from conftest import fit_case, render_case

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _design():
    """A real DesignResult when the planner is available, else the documented stand-in."""
    import causal_kit as ck

    try:
        from causal_kit.datasets import simulate_geo_panel
        from causal_kit.design import plan
    except ImportError:
        return stand_in_design()
    history = simulate_geo_panel(n_geos=30, n_days=240, seed=5)
    spec = ck.ExperimentSpec(
        name="geo_test", design="did", outcome="kpi", unit="geo", time="date", treatment="treated",
        question="How long must the geo test run?", report={"currency": "USD"},
        plan={"n_treated": 8, "duration": [21, 14, 28], "cost_column": "cost", "kpi_value": 2.0},
    )
    return plan(history, spec, n_candidates=2, n_windows=8, candidate_estimators=("did", "time_regression"))


@pytest.fixture(scope="module")
def browser():
    exe = find_chromium()
    if exe is None:
        pytest.skip("headless Chromium not found (install Debian's 'chromium' package)")
    with Browser(exe) as b:
        yield b


WIDTHS = (390, 768, 1400)  # phone, tablet, desktop


def _check(browser, html: str, name: str, widths=WIDTHS) -> dict:
    """Load the page at each width: no errors, no network, figures drawn, nothing wider than the viewport."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = ARTIFACTS / f"report-{name}.html"
    page.write_text(html, encoding="utf-8")
    for width in widths:
        browser.set_width(width)
        outcome = browser.load(page, ARTIFACTS / f"report-{name}-{width}.png")
        assert outcome["errors"] == [], outcome["errors"]
        assert outcome["requests"] == [], outcome["requests"]
        assert outcome["loaded"] == ["True"]
        assert outcome["drawn"] == ["True"], "figures were not drawn"
        fit = browser.overflow()
        assert fit["scroll"] <= fit["inner"], (name, width, fit)
    browser.set_width(1100)
    return outcome


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


@pytest.mark.parametrize("method", sorted(ESTIMATORS))
def test_effect_report_in_browser(browser, method):
    # The narrowest and widest screens per method (every other report is checked at all three widths).
    _check(browser, render_case(method), f"effect-{method}", widths=(390, 1400))


def test_robustness_report_in_browser(browser):
    from cases import PROP99

    import causal_kit as ck

    wanted = ["sdid", "synthetic_control", "did"]
    spec = ck.ExperimentSpec(name="prop99", design="sdid", estimators=wanted, question="Did Proposition 99 cut smoking?",
                             report={"outcome_label": "packs per capita", "title": "Proposition 99: robustness"}, **PROP99)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = ck.estimate(ck.datasets.load("california_prop99"), spec)
    _check(browser, render(results), "robustness")


def test_portfolio_design_and_history_in_browser(browser):
    available = [m for m in ("ab", "did", "rdd", "iv") if m in ESTIMATORS]
    studies = []
    for m in available:
        try:
            studies.append(fit_case(m))
        except pytest.skip.Exception:
            continue
    if studies:
        _check(browser, render(studies, title="Portfolio"), "portfolio")
    _check(browser, render(_design()), "design")
    runs = pd.DataFrame({
        "run_id": ["r1", "r2", "r3", "r4"],
        "timestamp": ["2024-01-01T00:00:00", "2024-01-08T00:00:00", "2024-01-15T00:00:00", "2024-01-22T00:00:00"],
        "name": "checkout", "method": "ab", "estimate": [0.21, 0.26, 0.24, 0.25], "ci_low": [0.02, 0.12, 0.13, 0.15],
        "ci_high": [0.40, 0.40, 0.35, 0.35], "p_value": [0.03, 0.001, 0.0001, 0.0001],
        "worst_status": ["warn", "pass", "pass", "pass"],
    })
    _check(browser, render_history(runs, "Checkout test: estimate across runs"), "history")
    # Printing gives a PDF (print CSS: A4 pages, no modebar, collapsed sections stay collapsed).
    pdf = browser.pdf()
    assert pdf[:5] == b"%PDF-" and _pages(pdf) <= 3
    # The gzip-compressed plotly.js path (used for large reports) unpacks and draws too.
    _check(browser, render_history(runs, "Compressed", plotlyjs="compressed"), "history-compressed")


def test_demo_readout_prints_in_six_pages(browser, tmp_path):
    from causal_kit.demo import run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = run(tmp_path, n_geos=24, history_days=200, verbose=False)
    for path, limit in ((out.readout_report, 6), (out.design_report, 7)):
        _check(browser, path.read_text(encoding="utf-8"), path.stem)
        pdf = browser.pdf()
        (ARTIFACTS / f"{path.stem}.pdf").write_bytes(pdf)
        assert _pages(pdf) <= limit, (path.name, _pages(pdf))


def test_sequential_reports_in_browser(browser, tmp_path):
    """A group-sequential effect report (look 2 of 3) and its history fit phone and desktop screens."""
    import causal_kit as ck
    from causal_kit.estimators.ab import ABTest
    from causal_kit.registry import Registry

    data = ck.datasets.load("ab_cuped_sim")
    spec = ck.ExperimentSpec(name="seq", design="ab", outcome="y", treatment="treat", pre_covariate="pre",
                             question="Does the new checkout raise spend per visitor?",
                             sequential={"method": "alpha_spending", "looks": [2500, 5000, 10_000]})
    reg = Registry(tmp_path / "runs.duckdb")
    reg.record(ck.estimate(data.iloc[:2500], spec), spec=spec)
    second = ABTest(prior_looks=reg.prior_looks("seq")).fit(data.iloc[:5000], spec)
    reg.record(second, spec=spec)
    _check(browser, render(second), "effect-sequential", widths=(390, 1400))
    _check(browser, render_history(reg.history("seq")), "history-sequential", widths=(390, 1400))


def test_sequential_design_in_browser(browser):
    """A geo design with weekly looks: the sequential operating table fits a phone screen."""
    import causal_kit as ck
    from causal_kit.datasets import simulate_geo_panel

    history = simulate_geo_panel(n_geos=20, n_days=200, seed=3)
    spec = ck.ExperimentSpec(name="geo", design="did", outcome="kpi", unit="geo", time="date", treatment="treated",
                             plan={"n_treated": 6, "duration": 21, "n_candidates": 1, "n_windows": 6,
                                   "candidate_estimators": ["did"], "look_every": 7, "inference": "approximate"})
    _check(browser, render(ck.design.plan(history, spec)), "design-sequential", widths=(390, 1400))


def test_pricing_reports_in_browser(browser):
    """The price-test readout, the price-test design and the bandit simulation pages."""
    import numpy as np

    import causal_kit as ck
    from causal_kit.bandits.demand import DemandModel
    from causal_kit.bandits.simulate import simulate_bandit
    from causal_kit.design import plan_price_test
    from causal_kit.estimators.price_test import PriceTest
    from causal_kit.report.pricing import render_bandit

    spec = ck.ExperimentSpec(name="price", design="price_test", outcome="units", treatment="price", unit="product",
                             time="week", question="Which price maximises margin?")
    data = ck.datasets.load("price_test_sim")
    _check(browser, render(PriceTest(cost_share=0.6).fit(data, spec)), "price-test", widths=(390, 1400))
    plan = plan_price_test(data.query("week <= 4"), spec, design="switch", durations=(2, 4), n_sims=60)
    _check(browser, render(plan), "price-design", widths=(390, 1400))
    sim = simulate_bandit(DemandModel(elasticity=-2.5), np.linspace(6, 14, 9), unit_cost=5.0, horizon=60, n_reps=50,
                          policies=["thompson_gaussian", "ucb1", "fixed_ab"])
    _check(browser, render_bandit(sim), "bandit", widths=(390, 1400))
