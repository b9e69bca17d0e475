"""Sequential readouts in the reports: status and decision near the headline, the looks figure,
the history of looks, and the design's sequential operating characteristics."""

from __future__ import annotations

import html as html_lib
import re

import pytest

import causal_kit as ck
from causal_kit import fmt
from causal_kit.estimators.ab import ABTest
from causal_kit.report import render
from causal_kit.report.notebook import result_card


def _text(html: str) -> str:
    body = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def _marked(html: str, key: str) -> str:
    m = re.search(rf'data-ck="{key}"[^>]*>(.*?)</', html, flags=re.S)
    assert m, f"no data-ck={key} element"
    return html_lib.unescape(re.sub(r"\s+", " ", m.group(1))).strip()


def _badge(html: str) -> tuple[str, str]:
    m = re.search(r'class="ck-verdict (\w+)" data-ck="verdict">([^<]+)<', html)
    assert m
    return m.group(1), m.group(2)


@pytest.fixture(scope="module")
def data():
    return ck.datasets.load("ab_cuped_sim")


@pytest.fixture(scope="module")
def spending(data):
    """Look 2 of 3 with O'Brien-Fleming spending: the first look from a registry, the second fitted here."""
    spec = ck.ExperimentSpec(name="seq", design="ab", outcome="y", treatment="treat", pre_covariate="pre",
                             sequential={"method": "alpha_spending", "looks": [2500, 5000, 10_000]})
    first = ck.estimate(data.iloc[:2500], spec)
    s1 = first.details["sequential"]
    prior = [{"look": 1, "key": 2500, "n_obs": 2500, "estimate": first.estimate, "ci_low": first.ci[0],
              "ci_high": first.ci[1], "p_value": first.p_value, "boundary_z": s1["boundary_z"],
              "decision": s1["decision"]}]
    return ABTest(prior_looks=prior).fit(data.iloc[:5000], spec)


def test_effect_report_states_the_group_sequential_look_and_boundary(spending):
    seq = spending.details["sequential"]
    html = render(spending)
    line = _marked(html, "sequential")
    assert line.startswith(f"Sequential readout: look 2 of 3, boundary z = {fmt.num(seq['boundary_z'], 3)}.")
    words = {"continue": "continue to the next look", "stop_efficacy": "stop for efficacy",
             "stop_futility": "stop for futility"}[seq["decision"]]
    assert line.endswith(f"Decision: {words}.")
    # the looks figure is drawn from the look table
    assert "Repeated 95% interval by look (2 of 3 planned looks)" in html
    # the card carries the same sentence
    assert _marked(result_card(spending), "sequential") == line


def test_continue_look_is_never_a_green_badge(data):
    spec = ck.ExperimentSpec(name="seq", design="ab", outcome="y", treatment="treat",
                             sequential={"rho": 0.05, "looks": [2500, 5000, 10_000, 20_000]})
    res = ABTest(adjustment="none").fit(data, spec)
    assert res.details["sequential"]["decision"] == "continue"
    html = render(res)
    assert _marked(html, "sequential") == ("Sequential readout: valid at any look (always-valid confidence "
                                           "sequence, look 3 of 4). Decision: continue to the next look.")
    status, label = _badge(html)
    assert (status, label) == ("not_applicable", "Inconclusive")
    assert "interim result, not a final one" in _text(html)


def test_stop_for_efficacy_can_be_a_win(data):
    spec = ck.ExperimentSpec(name="seq", design="ab", outcome="y", treatment="treat", pre_covariate="pre",
                             sequential={"planned_n": 10_000, "looks": [2500, 5000, 10_000]})
    res = ck.estimate(data, spec)
    assert res.details["sequential"]["decision"] == "stop_efficacy" and res.ci[0] > 0
    html = render(res)
    assert _marked(html, "sequential").endswith("Decision: stop for efficacy.")
    assert "look 3 of 3" in _marked(html, "sequential")
    status, label = _badge(html)
    assert label in ("Robust", "Moderate") and status in ("pass", "warn")
    assert "stopped for efficacy (look 3 of 3)" in _text(html)


def test_fixed_horizon_report_has_no_sequential_line(data):
    res = ck.estimate(data, ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat"))
    html = render(res)
    assert 'data-ck="sequential"' not in html and "by look" not in html


def test_history_report_draws_the_interval_per_look(data, tmp_path):
    """Two looks recorded in a registry: the history page draws each look's repeated interval and
    states the latest look, its boundary and its decision; the verdict reads the decision."""
    from causal_kit.registry import Registry
    from causal_kit.report import render_history

    spec = ck.ExperimentSpec(name="seq", design="ab", outcome="y", treatment="treat",
                             sequential={"method": "alpha_spending", "looks": [2500, 5000, 10_000]})
    reg = Registry(tmp_path / "runs.duckdb")
    first = ck.estimate(data.iloc[:2500], spec)
    reg.record(first, spec=spec)
    second = ABTest(prior_looks=reg.prior_looks("seq")).fit(data.iloc[:5000], spec)
    reg.record(second, spec=spec)
    runs = reg.history("seq")
    html = render_history(runs)
    s2 = second.details["sequential"]
    assert "Repeated confidence interval by look" in html
    assert '"look 1 of 3"' in html and '"look 2 of 3"' in html  # x labels of the looks figure
    assert s2["decision"] == "continue"  # unadjusted, the interval at look 2 still includes zero
    line = f"Look 2 of 3 (boundary z = {fmt.num(s2['boundary_z'], 3)}): continue to the next look."
    assert _marked(html, "sequential") == line
    assert re.findall(r'data-ck="look">([^<]*)</td><td>([^<]*)<', html) == [
        ("2 of 3", "continue to the next look"), ("1 of 3", "continue to the next look")]
    assert _badge(html) == ("not_applicable", "Inconclusive") and "interim result" in _text(html)


def test_history_without_looks_has_no_sequential_figure():
    import pandas as pd

    from causal_kit.report import render_history

    runs = pd.DataFrame({"run_id": ["a", "b"], "timestamp": ["2024-01-02", "2024-01-09"],
                         "data_end": ["2024-01-01", "2024-01-08"], "name": "ab", "method": "ab",
                         "estimate": [0.2, 0.25], "ci_low": [-0.1, 0.15], "ci_high": [0.5, 0.35],
                         "p_value": [0.2, 0.001], "worst_status": "pass", "look": [None, None]})
    html = render_history(runs)
    assert "by look" not in html and 'data-ck="sequential"' not in html and 'data-ck="look"' not in html


@pytest.fixture(scope="module")
def geo_design():
    from causal_kit.datasets import simulate_geo_panel

    history = simulate_geo_panel(n_geos=20, n_days=200, seed=3)
    spec = ck.ExperimentSpec(name="geo", design="did", outcome="kpi", unit="geo", time="date", treatment="treated",
                             plan={"n_treated": 6, "duration": 21, "n_candidates": 1, "n_windows": 6,
                                   "candidate_estimators": ["did"], "look_every": 7, "inference": "approximate"})
    return ck.design.plan(history, spec)


def test_design_report_compares_sequential_and_fixed(geo_design):
    op = geo_design.tables["sequential_operating"]
    html = render(geo_design)
    assert "<h2>Sequential looks</h2>" in html and "Planned looks after 7, 14, 21 periods." in html
    assert "expected stopping period (simulated on 6 historical windows)" in html
    table = re.search(r'data-ck="sequential-table">(.*?)</table>', html, flags=re.S).group(1)
    heads = [html_lib.unescape(h) for h in re.findall(r"<th[^>]*>([^<]*)</th>", table)]
    assert heads == ["lift", "O'Brien-Fleming spending", "Pocock spending", "calibrated on history",
                     "fixed horizon (one look at the end)"]
    rows = re.findall(r"<tr><td[^>]*>([^<]*)</td>(.*?)</tr>", table, flags=re.S)
    assert [r[0] for r in rows] == [fmt.pct(e, 1) for e in sorted(op["effect"].unique())]
    # every cell is the table's power / expected stopping period, through fmt
    order = ["obrien_fleming", "pocock", "calibrated", "fixed_horizon"]
    for (_lift, cells), effect in zip(rows, sorted(op["effect"].unique())):
        got = re.findall(r"<td[^>]*>([^<]*)</td>", cells)
        want = []
        for m in order:
            r = op.loc[(op["method"] == m) & (op["effect"] == effect)].iloc[0]
            want.append(f"{fmt.pct(r['power'], 0)} / {fmt.num(r['expected_stop'], 3)}")
        assert got == want
    # the headline sentence: the fixed horizon never reaches 80% power here, so the largest lift is used
    cal = op.loc[(op["method"] == "calibrated") & (op["effect"] == op["effect"].max())].iloc[0]
    fixed = op.loc[(op["method"] == "fixed_horizon") & (op["effect"] == op["effect"].max())].iloc[0]
    sentence = _marked(html, "sequential-operating")
    assert sentence.startswith(f"At the largest simulated lift, {fmt.pct(op['effect'].max(), 1)}, the boundary "
                               f"calibrated on history detects the effect with power {fmt.pct(cal['power'], 0)}")
    assert f"against power {fmt.pct(fixed['power'], 0)} for the fixed horizon" in sentence
    assert f"stops after {fmt.num(cal['expected_stop'], 3)} periods on average" in sentence


def test_design_without_looks_has_no_sequential_section(geo_design):
    from dataclasses import replace

    plain = replace(geo_design, tables={k: v for k, v in geo_design.tables.items() if not k.startswith("sequential")})
    html = render(plain)
    assert "Sequential looks" not in html and 'data-ck="sequential-table"' not in html


def test_continue_look_recommends_waiting_and_never_ships(data):
    from dataclasses import replace

    spec = ck.ExperimentSpec(name="seq", design="ab", outcome="y", treatment="treat",
                             sequential={"rho": 0.05, "looks": [2500, 5000, 10_000, 20_000]})
    res = ABTest(adjustment="none").fit(data, spec)
    html = render(res)
    assert "The study continues: read it again at the next planned look" in _text(html)
    # a break-even far below the interval would say "Ship" on a fixed-horizon result; not at a continue look
    spec_dict = dict(res.lineage.spec)
    spec_dict["report"] = {"break_even": -0.5, "break_even_metric": "lift"}
    line = _marked(render(res, spec=spec_dict), "decision")
    assert line.startswith("Continue to the next look: the interval of the lift lies above the break-even")
    final = replace(res, details={**res.details, "sequential": {**res.details["sequential"], "decision": "final"}})
    assert _marked(render(final, spec=spec_dict), "decision").startswith("Ship:")


def test_history_with_nullable_empty_look_column(data, tmp_path):
    """Regression: a registry of fixed-horizon runs has a nullable ``look`` column full of pd.NA."""
    from causal_kit.registry import Registry
    from causal_kit.report import render_history

    spec = ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat")
    reg = Registry(tmp_path / "runs.duckdb")
    reg.record(ck.estimate(data, spec), spec=spec)
    runs = reg.history("ab")
    html = render_history(runs)
    assert "by look" not in html and _badge(html)[1] in ("Robust", "Moderate", "Inconclusive")
