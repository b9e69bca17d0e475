"""Each defect once seen on bundled data, pinned as a test: verdicts, units, totals, dates, design numbers, noise."""

from __future__ import annotations

import html as html_lib
import re
import warnings

import pytest

import causal_kit as ck
from causal_kit.report import render

try:
    from .conftest import fit_case, render_case
    from .test_consistency import badge_status, marked
except ImportError:  # tests/report is not a package
    from conftest import fit_case, render_case
    from test_consistency import badge_status, marked


def _text(html: str) -> str:
    body = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def _spec(result, **report):
    """The result's own spec with a different report block (rendering needs no refit)."""
    spec = dict(result.lineage.spec)
    spec["report"] = {**(spec.get("report") or {}), **report} if report else None
    return spec


@pytest.fixture(scope="module")
def prop99_methods():
    """Four methods on Proposition 99 (three cached from the contract examples, DiD fitted here)."""
    from cases import PROP99, PROP99_REPORT

    spec = ck.ExperimentSpec(name="contract-synthetic_control", design="did", report=PROP99_REPORT, **PROP99)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        did = ck.estimate(ck.datasets.load("california_prop99"), spec)
    return [fit_case("synthetic_control"), fit_case("sdid"), fit_case("augmented_sc"), did]


def test_no_green_badge_for_synthetic_control_on_prop99():
    html = render_case("synthetic_control")
    result = fit_case("synthetic_control")
    assert result.ci[0] < 0 < result.ci[1]
    assert badge_status(html, "verdict") == ["not_applicable"]
    assert ">Robust<" not in html and "Inconclusive" in html


def test_no_green_agree_badge_when_four_methods_cannot_tell(prop99_methods):
    html = render(ck.compare(prop99_methods))
    text = _text(html)
    assert "The data cannot tell" in text
    assert badge_status(html, "agreement") != ["pass"] and badge_status(html, "verdict") != ["pass"]


@pytest.mark.parametrize("method", ["sdid", "synthetic_control"])
def test_no_cost_per_unit_tile_when_the_answer_is_cannot_tell(method):
    result = fit_case(method)
    html = render(result, spec=_spec(result, outcome_kind="count", cost=50_000.0, currency="USD"))
    assert marked(html, "tile-total")  # a count adds up ...
    assert not marked(html, "tile-cost_per_unit")  # ... but its interval includes zero
    assert "cost per incremental unit is not shown: the interval of the incremental total includes zero" in _text(html)


@pytest.mark.parametrize("method", ["event_study", "staggered_did"])
def test_log_outcome_lift_is_one_number(method):
    result = fit_case(method)
    html = render_case(method)
    tile = marked(html, "tile-effect")[0]
    assert tile == f"{100 * (2.718281828459045 ** result.estimate - 1):+.1f}%"
    assert marked(html, "table-effect")[0] == tile
    rel = f"{100 * result.estimate / result.baseline:.1f}%"  # the log read as a level: must appear nowhere
    assert rel not in _text(html).replace(tile, "")


def test_rd_effect_in_points_at_the_cutoff():
    text = _text(render_case("rdd"))
    assert "raised vote share at the cutoff by 7.41 points" in text
    assert "by 16.4%" not in text and "vote share points" not in text
    assert "+16.4% of the counterfactual mean 45.2 points just below the cutoff" in text


def test_rates_and_means_per_unit_are_never_summed():
    sc = fit_case("synthetic_control")
    html = render(sc, spec=_spec(sc))  # no report block: "PacksPerCapita" is inferred a mean per person
    assert not marked(html, "tile-total") and "Added up" not in _text(html) and "Summed" not in _text(html)
    dml = render_case("dml")
    assert not marked(dml, "tile-total") and "Added up" not in _text(dml)
    assert marked(dml, "tile-effect")[0] == "+$1,759"


def test_effects_carry_their_unit_and_axes_their_label():
    assert marked(render_case("iv"), "tile-effect")[0].endswith("%")
    assert marked(render_case("synthetic_control"), "tile-effect")[0].endswith(" packs")
    html = render_case("staggered_did")
    assert "Effect on lemp" not in html and "Effect on teen employment" in html


def test_dates_and_years_print_cleanly():
    from causal_kit.datasets import simulate_geo_panel

    panel = simulate_geo_panel(n_geos=12, n_days=70, seed=1, treated=["geo_001", "geo_002"], effect=0.05,
                               test_start="2024-02-20")
    spec = ck.ExperimentSpec(name="geo", design="did", outcome="kpi", unit="geo", time="date", treatment="treated",
                             report={"outcome_label": "orders"})
    html = render(ck.estimate(panel, spec))
    # Visible text and legend names carry no midnight times (axis data stay ISO for plotly's date axis).
    assert "T00:00:00" not in _text(html) and not re.search(r'"(name|text)":"[^"]*T00:00:00', html)
    assert "Effect on kpi" not in html
    fig = fit_case("synthetic_control").plot("trajectory")
    assert fig.layout.xaxis.tickformat == "d" and float(fig.layout.xaxis.dtick).is_integer()


def test_iv_settings_show_values_and_no_raw_p_values():
    html = render_case("iv")
    text = _text(html)
    assert "0.000000" not in text
    settings = re.search(r"Method settings \((\d+)\)</summary>(.*?)</details>", html, flags=re.S)
    assert settings is not None
    values = re.findall(r'<td class="n">(.*?)</td>', settings.group(2))
    assert values and all(v.strip() for v in values)


def test_noise_is_left_out():
    for method in ("synthetic_control", "rdd", "dml", "iv"):
        html = render_case(method)
        assert "not drawn" not in html
    assert "No time weights" not in render_case("synthetic_control")  # a flat chart says nothing
    rd = _text(render_case("rdd"))
    assert "Instrument strength" not in rd


def test_lineage_and_sentences_once(prop99_methods):
    html = render(ck.compare(prop99_methods[:3]))
    text = _text(html)
    assert text.count("Spec hash") == 1
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s", text) if len(s.strip()) > 40]
    repeated = {s for s in sentences if sentences.count(s) > 1 and "methods" in s}
    assert not repeated, repeated


@pytest.fixture(scope="module")
def small_design():
    from causal_kit.datasets import simulate_geo_panel
    from causal_kit.design import plan

    history = simulate_geo_panel(n_geos=24, n_days=200, seed=5)
    spec = ck.ExperimentSpec(
        name="geo_test", design="did", outcome="kpi", unit="geo", time="date", treatment="treated",
        report={"currency": "USD", "outcome_label": "orders"},
        plan={"n_treated": 6, "duration": [21, 14, 28], "cost_per_unit": 0.15, "n_candidates": 2, "n_windows": 8,
              "candidate_estimators": ["did", "time_regression"]})
    return plan(history, spec, progress=False)


def test_design_report_numbers_agree(small_design):
    d = small_design
    html = render(d)
    text = _text(html)
    cost = ck.report.fmt.money(d.cost, "USD")
    # The headline cost and the treated cell's cost are one number (the recommended duration).
    assert text.count(cost) >= 2
    cells = re.search(r"<th>cell</th>.*?</table>", html, flags=re.S).group(0)
    assert cost in cells
    # A false-positive rate comes with its interval and the number of windows, never bare.
    assert re.search(r"False-positive rate \S+% 95% CI \S+% to \S+%; \d+ (historical windows|no-effect tests on \d+ historical windows)", text)
    # Leadership tables carry percents, not raw fractions such as 0.03775.
    ranking = re.search(r"estimator ranking.*?</table>", html, flags=re.S).group(0)
    assert not re.search(r">0\.\d{3,}<", ranking)
    assert "T00:00:00" not in text


def _runs():
    import pandas as pd

    return pd.DataFrame({
        "run_id": ["r1", "r2", "r1", "r2", "r3"],
        "timestamp": ["2024-03-01T10:00:00", "2024-03-02T10:00:00", "2024-03-01T10:00:00", "2024-03-02T10:00:00",
                      "2024-03-03T10:00:00"],
        "data_end": ["2024-02-11", "2024-02-18", "2024-02-11", "2024-02-18", "2024-02-25"],
        "name": "promo", "method": ["sdid", "sdid", "did", "did", "sdid"],
        "estimate": [30.0, 45.0, 20.0, 50.0, 50.0], "ci_low": [-5.0, 10.0, -30.0, -10.0, -4.0],
        "ci_high": [65.0, 80.0, 70.0, 110.0, 104.0], "p_value": [0.09, 0.01, 0.4, 0.1, 0.07],
        "worst_status": ["pass", "pass", "warn", "warn", "pass"],
        "report_path": ["/tmp/r1.html", "/tmp/r2.html", "/tmp/r1.html", "/tmp/r2.html", "/tmp/r3.html"],
    })


def test_history_is_a_tracker_over_the_data_period():
    from causal_kit.report import render_history
    from causal_kit.report.history import history_figure

    runs = _runs()
    fig = history_figure(runs, planned_end="2024-03-10")
    # one panel per method (small multiples, no overlapping bands), dated by the data, not the run time
    assert fig.layout.yaxis2 is not None and fig.layout.xaxis2.title.text == "Data through"
    assert str(fig.data[3].x[-1])[:10] == "2024-02-25"  # panels: did, then sdid
    html = render_history(runs, "promo", planned_end="2024-03-10")
    text = _text(html)
    # the latest run's interval includes zero: its verdict is not green
    assert "Latest readout: sdid with data through 2024-02-25" in text
    assert badge_status(html, "verdict") == ["not_applicable"] and "Inconclusive" in text
    assert 'href="file:///tmp/r3.html"' in html and "planned the test to end on 2024-03-10" in text


def test_history_shows_the_latest_decision_when_the_spec_states_a_break_even():
    from causal_kit.report import render_history

    runs = _runs().assign(lift=0.05, lift_low=0.01, lift_high=0.09,
                          spec="name: promo\ndesign: sdid\nreport: {break_even: 0.02}\n")
    text = _text(render_history(runs, "promo"))
    assert "Extend against a break-even lift of +2.0%: P(lift above break-even) = 93% under the normal approximation" in text


def test_history_says_when_the_data_period_is_unknown():
    from causal_kit.report.history import history_figure

    fig = history_figure(_runs().drop(columns="data_end"))
    assert "did not record their data period" in fig.layout.xaxis2.title.text


def test_portfolio_has_money_decisions_totals_and_every_lift():
    iv, rd = fit_case("iv"), fit_case("rdd")
    ab = fit_case("ab")
    spec = _spec(ab, outcome_label="spend", outcome_kind="amount", currency="USD", outcome_is_currency=True,
                 exposure=5_000.0, cost=500.0, break_even=0.01, title="Checkout redesign")
    ab = ab.with_updates(lineage=type(ab.lineage)(**{**ab.lineage.to_dict(), "spec": spec}))
    html = render([ab, iv, rd], title="Q3", links={"contract-ab": "ab.html"})
    text = _text(html)
    assert "Checkout redesign" in text and 'href="ab.html"' in html
    assert "Total spend $500" in text and "Ship" in text
    fig = [f for f in re.findall(r'data-ck-fig="[^"]+">(.*?)</script>', html, flags=re.S) if "Lift of each study" in f][0]
    for name in ("Checkout redesign", "contract-iv", "contract-rdd"):  # the log-outcome IV has a lift too
        assert name in fig


def test_decision_line_against_break_even(small_design):
    ab = fit_case("ab")  # lift +2.6% [1.4%, 3.9%]
    ship = _text(render(ab, spec=_spec(ab, break_even=0.01)))
    assert "Ship: the whole interval of the lift lies above the break-even" in ship
    extend = render(ab, spec=_spec(ab, break_even=0.02), design=small_design, design_href="design.html")
    text = _text(extend)
    assert re.search(r"Extend: the interval straddles the break-even \(against a break-even lift of \+2\.0%; "
                     r"P\(effect above break-even\) = \d+% under the normal approximation\); extend the test", text)
    assert "Planned MDE" in text and 'href="design.html"' in extend
    stop = _text(render(ab, spec=_spec(ab, break_even=0.08)))
    assert "Stop: the lift is unlikely to reach the break-even" in stop


def test_segment_breakdown_in_outcome_units():
    from cases import SIPP_REPORT, SIPP_X

    from causal_kit.estimators.dml import DML

    spec = ck.ExperimentSpec(name="seg", design="dml", outcome="net_tfa", treatment="e401", covariates=SIPP_X,
                             report=SIPP_REPORT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = DML(learner_y="linear", learner_d="linear", n_folds=2, refute=False, segments=["marr"]).fit(
            ck.datasets.load("sipp401k"), spec)
    text = _text(render(result))
    seg = result.tables["segments"]
    assert "Effect by segment" in text
    for level, est in zip(seg["level"], seg["estimate"]):
        assert f"marr = {level}" in text and ck.report.fmt.money(abs(est), "USD") in text
