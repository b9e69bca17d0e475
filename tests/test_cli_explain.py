"""``causal-kit explain SPEC --data FILE --out movement.html``: report, headline, registry row, errors."""

from __future__ import annotations

import json

from _cli_helpers import _isolated_registry, run  # noqa: F401 (autouse fixture)

from causal_kit.explain import simulate_deliveries
from causal_kit.registry import Registry

SPEC = """\
name: on_time_week_12
question: Why did the on-time rate fall in week 12?
metric: on-time rate
period: week
before: 11
after: 12
mix_rate: {numerator: on_time, dimensions: [route_type, carrier]}
"""


def test_explain_writes_the_report_and_records_the_run(tmp_path, capsys):
    data = tmp_path / "deliveries.csv"
    simulate_deliveries(12_000, weeks=12, seed=3).to_csv(data, index=False)
    (tmp_path / "movement.yaml").write_text(SPEC)
    reg = tmp_path / "runs.duckdb"
    code, out, err = run(capsys, "explain", tmp_path / "movement.yaml", "--data", data, "--out",
                         tmp_path / "movement.html", "--registry", reg)
    assert code == 0, err
    assert out.startswith("on-time rate fell") and "are mix" in out and "are rate" in out
    html = (tmp_path / "movement.html").read_text()
    assert 'data-ck="movement-headline"' in html and "accounting" in html
    runs = Registry(reg).runs()
    row = runs[runs["kind"] == "movement"].iloc[0]
    assert row["name"] == "on_time_week_12" and row["method"] == "mix_rate"
    comps = json.loads(row["details"])
    assert abs(sum(c["value"] for c in comps) - row["estimate"]) < 1e-12


def test_explain_machine_output_and_named_errors(tmp_path, capsys):
    data = tmp_path / "d.csv"
    simulate_deliveries(3000, seed=1).to_csv(data, index=False)
    (tmp_path / "ok.yaml").write_text(SPEC.replace("before: 11\nafter: 12\n", ""))
    code, out, _ = run(capsys, "--json", "explain", tmp_path / "ok.yaml", "--data", data, "--no-registry")
    assert code == 0 and json.loads(out)["decompositions"][0]["method"] == "mix_rate"
    (tmp_path / "bad.yaml").write_text(SPEC.replace("route_type", "route"))
    code, _, err = run(capsys, "explain", tmp_path / "bad.yaml", "--data", data, "--no-registry")
    assert code == 2 and "not in the data: 'route'" in err
    (tmp_path / "typo.yaml").write_text(SPEC + "mixrate: {}\n")
    code, _, err = run(capsys, "explain", tmp_path / "typo.yaml", "--data", data, "--no-registry")
    assert code == 2 and "field 'mixrate'" in err
