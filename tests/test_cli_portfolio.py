"""``causal-kit portfolio``: several studies' result JSON rendered as one portfolio page, with links."""

from __future__ import annotations

import json

import causal_kit as ck
from causal_kit.cli import main


def test_portfolio_command_links_each_study(tmp_path, capsys):
    df = ck.datasets.load("ab_cuped_sim")
    for name in ("checkout", "banner"):
        spec = ck.ExperimentSpec(name=name, design="ab", outcome="y", treatment="treat", pre_covariate="pre")
        result = ck.estimate(df, spec)
        (tmp_path / f"{name}.json").write_text(result.to_json())
        if name == "checkout":
            (tmp_path / "checkout.html").write_text(ck.report.render(result))
    out = tmp_path / "portfolio.html"
    code = main(["--json", "portfolio", str(tmp_path / "checkout.json"), str(tmp_path / "banner.json"),
                 "--out", str(out), "--title", "Q3"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert payload["studies"] == 2 and payload["command"] == "portfolio"
    html = out.read_text()
    assert "2 studies at a glance" in html and 'href="checkout.html"' in html and 'href="#study-2"' in html


def test_portfolio_command_names_a_missing_file(tmp_path, capsys):
    code = main(["portfolio", str(tmp_path / "nope.json"), "--out", str(tmp_path / "p.html")])
    assert code != 0 and "nope.json" in capsys.readouterr().err


def test_history_command_marks_the_planned_end(tmp_path, capsys):
    data = tmp_path / "ab.csv"
    ck.datasets.load("ab_cuped_sim").to_csv(data, index=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: cuped\ndesign: ab\noutcome: y\ntreatment: treat\npre_covariate: pre\n")
    reg = tmp_path / "reg.duckdb"
    for _ in range(2):
        assert main(["estimate", str(spec), "--data", str(data), "--registry", str(reg)]) == 0
    out = tmp_path / "h.html"
    assert main(["history", "cuped", "--registry", str(reg), "--out", str(out), "--planned-end", "2024-03-10"]) == 0
    html = out.read_text()
    assert "The design planned the test to end on 2024-03-10." in html
    assert "run time" in html  # the registry does not record the data period: said so, not hidden
