"""The causal-kit command line: commands, exit codes, one-line errors, registry, scheduled readouts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from _cli_helpers import AB_SPEC, _isolated_registry, run  # noqa: F401 (autouse fixture)

from causal_kit import cli
from causal_kit.errors import ConvergenceError, IdentificationError
from causal_kit.registry import Registry


@pytest.fixture
def ab(tmp_path, load):
    spec = tmp_path / "ab.yaml"
    spec.write_text(AB_SPEC)
    data = tmp_path / "ab.csv"
    load("ab_cuped_sim").to_csv(data, index=False)
    return spec, data



def test_estimate_writes_report_json_and_registry(tmp_path, ab, capsys):
    spec, data = ab
    reg = tmp_path / "reg.duckdb"
    code, out, err = run(capsys, "--registry", reg, "estimate", spec, "--data", data,
                         "--out", tmp_path / "r.html", "--json-out", tmp_path / "r.json")
    assert code == 0, err
    assert "cuped: ab ATE = 0.256" in out and "report:" in out
    assert (tmp_path / "r.html").read_text().lstrip().lower().startswith("<!doctype html")
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["method"] == "ab" and saved["estimate"] == pytest.approx(0.256, abs=5e-4)
    hist = Registry(reg).history("cuped")
    assert len(hist) == 1 and hist["report_path"].iloc[0].endswith("r.html")

    code, out, err = run(capsys, "report", tmp_path / "r.json", "--out", tmp_path / "again.html")
    assert code == 0, err
    assert (tmp_path / "again.html").stat().st_size > 1000


def test_machine_output_and_no_registry(tmp_path, ab, capsys):
    spec, data = ab
    code, out, err = run(capsys, "--json", "estimate", spec, "--data", data, "--no-registry")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["status"] == "ok" and payload["run_id"] is None
    assert payload["results"][0]["method"] == "ab"
    assert {d["name"] for d in payload["results"][0]["diagnostics"]} >= {"sample_ratio_mismatch"}
    assert not (tmp_path / "default.duckdb").exists()
    # global options are accepted after the command as well; --quiet prints nothing
    code, out, err = run(capsys, "estimate", spec, "--data", data, "--quiet")
    assert code == 0 and out == "" and err == ""
    assert len(Registry(tmp_path / "default.duckdb").history("cuped")) == 1


def test_failed_diagnostic_exits_3_only_when_asked(tmp_path, load, capsys):
    df = load("ab_cuped_sim")
    skewed = df[(df["treat"] == 0) | (df.index % 10 < 8)]  # drop 20% of treated users: SRM fails
    skewed.to_csv(tmp_path / "skewed.csv", index=False)
    (tmp_path / "ab.yaml").write_text(AB_SPEC)
    args = ("estimate", tmp_path / "ab.yaml", "--data", tmp_path / "skewed.csv", "--no-registry")
    code, out, err = run(capsys, *args)
    assert code == 0 and "diagnostics: fail" in out
    code, out, err = run(capsys, "--json", *args, "--fail-on-diagnostic")
    assert code == 3
    assert json.loads(out)["status"] == "diagnostic_failed"
    assert err.strip() == "causal-kit: diagnostic failed: ab/sample_ratio_mismatch"


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("{dir}/missing.csv", "DataError: data file '.*missing.csv' does not exist"),
        ("duckdb://?query=SELEC y FROM t", "DataError: the SQL query failed in DuckDB: Parser Error"),
        ("duckdb://?query=SELECT 1 AS y, 1 AS treat, 1 AS pre WHERE false", "DataError: the SQL query returned no rows"),
        ("duckdb://?query=SELECT 1 AS y", r"DataError: column 'treat' \(spec.treatment\) is not in the data"),
    ],
)
def test_bad_sources_exit_2_with_one_line(tmp_path, ab, capsys, data, match):
    import re

    spec, _ = ab
    code, out, err = run(capsys, "estimate", spec, "--data", data.format(dir=tmp_path), "--no-registry")
    assert code == 2
    assert re.search("^causal-kit: error: " + match, _one_line(err))


def test_column_missing_after_aggregation_exits_2(tmp_path, load, capsys):
    (tmp_path / "agg.yaml").write_text(AB_SPEC + "aggregate:\n  by: [user]\n")
    load("ab_cuped_sim").assign(user=lambda d: d.index // 2).drop(columns="pre").to_csv(tmp_path / "raw.csv", index=False)
    code, out, err = run(capsys, "estimate", tmp_path / "agg.yaml", "--data", tmp_path / "raw.csv")
    assert code == 2
    assert "'pre' (spec.pre_covariate) is missing after aggregation" in _one_line(err)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (None, "SpecError: spec file '.*' does not exist"),
        ("name: x\ndesign: [ab\n", "SpecError: the spec is not valid YAML at line"),
        ("name: x\ndesign: ab\noutcome: y\ntreatment: treat\ncolour: red\n", r"spec.colour: is not a spec field"),
        ("name: x\ndesign: sdid\noutcome: y\n", "design 'sdid' needs the role"),
    ],
)
def test_spec_errors_exit_2(tmp_path, ab, capsys, text, match):
    import re

    spec = tmp_path / "bad.yaml"
    if text is not None:
        spec.write_text(text)
    code, out, err = run(capsys, "estimate", spec, "--data", ab[1], "--no-registry")
    assert code == 2
    assert re.search(match, _one_line(err))


def test_spec_data_block_is_read_relative_to_the_spec(tmp_path, load, capsys):
    folder = tmp_path / "study"
    folder.mkdir()
    load("ab_cuped_sim").to_parquet(folder / "users.parquet")
    (folder / "ab.yaml").write_text(
        AB_SPEC + "data:\n  path: users.parquet\n  query: SELECT * FROM data WHERE pre IS NOT NULL\n"
    )
    code, out, err = run(capsys, "--json", "estimate", folder / "ab.yaml", "--no-registry")
    assert code == 0, err
    assert json.loads(out)["results"][0]["n_obs"] == 10_000


def test_estimate_loads_the_data_once(tmp_path, ab, capsys, monkeypatch):
    from causal_kit import io

    calls = []
    real = io.load
    monkeypatch.setattr(io, "load", lambda *a, **k: calls.append(a) or real(*a, **k))
    (tmp_path / "two.yaml").write_text(AB_SPEC + "estimators: [ab, ab]\n")
    code, out, err = run(capsys, "estimate", tmp_path / "two.yaml", "--data", ab[1], "--no-registry")
    assert code == 0, err
    assert len(calls) == 1 and out.count("cuped: ab ATE") == 2


def test_history_export_and_schema(tmp_path, ab, capsys):
    spec, data = ab
    reg = tmp_path / "reg.duckdb"
    for _ in range(2):
        assert run(capsys, "estimate", spec, "--data", data, "--registry", reg)[0] == 0
    code, out, err = run(capsys, "history", "cuped", "--registry", reg, "--out", tmp_path / "h.html")
    assert code == 0, err
    assert out.count(" ab ") == 2 and "h.html" in out
    assert "<html" in (tmp_path / "h.html").read_text().lower()
    code, out, err = run(capsys, "--json", "history", "cuped", "--registry", reg)
    assert len(json.loads(out)["runs"]) == 2
    code, out, err = run(capsys, "history", "unknown-study", "--registry", reg)
    assert code == 2 and "has no runs named 'unknown-study'" in _one_line(err)
    code, out, err = run(capsys, "history", "cuped", "--no-registry")
    assert code == 2 and "drop --no-registry" in _one_line(err)

    code, out, err = run(capsys, "registry", "export", "--format", "parquet", "--out", tmp_path / "runs.parquet",
                         "--registry", reg)
    assert code == 0, err
    assert len(pd.read_parquet(tmp_path / "runs.parquet")) == 2

    code, out, err = run(capsys, "schema")
    schema = json.loads(out)
    assert {"data", "aggregate", "estimators", "design"} <= set(schema["properties"])


def test_report_rejects_a_file_that_is_not_a_result(tmp_path, capsys):
    (tmp_path / "x.json").write_text('{"hello": 1}')
    code, out, err = run(capsys, "report", tmp_path / "x.json", "--out", tmp_path / "x.html")
    assert code == 2
    assert "is not a causal_kit result or design" in _one_line(err)
    (tmp_path / "y.json").write_text("{not json")
    code, out, err = run(capsys, "report", tmp_path / "y.json", "--out", tmp_path / "y.html")
    assert code == 2 and "is not valid JSON" in _one_line(err)


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [
        (RuntimeError("something broke\nacross lines"), 1,
         "causal-kit: error: RuntimeError: something broke across lines (run with --debug for the traceback)"),
        (IdentificationError("no pre-period: every unit is treated from the first period"), 2,
         "causal-kit: error: IdentificationError: no pre-period: every unit is treated from the first period"),
        (ConvergenceError("the solver did not converge"), 1,
         "causal-kit: error: ConvergenceError: the solver did not converge"),
    ],
)
def test_error_classes_map_to_exit_codes(ab, capsys, monkeypatch, exc, code, line):
    import causal_kit.api

    def boom(data, spec):
        raise exc

    monkeypatch.setattr(causal_kit.api, "estimate", boom)
    got, out, err = run(capsys, "estimate", ab[0], "--data", ab[1], "--no-registry")
    assert got == code
    assert _one_line(err) == line
    got, out, err = run(capsys, "--json", "estimate", ab[0], "--data", ab[1], "--no-registry")
    assert json.loads(out) == {"status": "error", "exit_code": code, "error": type(exc).__name__,
                               "message": line.split(": ", 3)[-1].removesuffix(" (run with --debug for the traceback)")}


def test_console_script_is_declared(capsys):
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "causal-kit"]
    assert script.value == "causal_kit.cli:main"
    with pytest.raises(SystemExit, match="0"):
        cli.main(["--version"])
    assert capsys.readouterr().out.startswith("causal-kit ")


def test_console_entry_point_in_a_fresh_process(tmp_path, ab):
    proc = subprocess.run(
        [sys.executable, "-m", "causal_kit.cli", "estimate", str(ab[0]), "--data", str(tmp_path / "nope.parquet")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert _one_line(proc.stderr).startswith("causal-kit: error: DataError: data file")


@pytest.fixture
def design_api(monkeypatch):
    """The real ``causal_kit.design.plan`` where it exists, else a stand-in with the same surface."""
    import types

    import causal_kit.design
    from causal_kit import report

    if hasattr(causal_kit.design, "plan"):
        return
    from dataclasses import asdict, dataclass

    @dataclass(frozen=True)
    class StandInDesign:
        method: str
        mde: float

        def to_dict(self):
            return asdict(self)

        def to_json(self):
            return json.dumps(self.to_dict())

        @classmethod
        def from_json(cls, text):
            return cls(**json.loads(text))

    module = types.ModuleType("causal_kit.design.result")
    module.DesignResult = StandInDesign
    monkeypatch.setitem(sys.modules, "causal_kit.design.result", module)
    monkeypatch.setattr(causal_kit.design, "plan", lambda history, spec: StandInDesign("did", 0.05), raising=False)
    real_save = report.save_html

    def save_html(obj, path, **kwargs):
        if isinstance(obj, StandInDesign):
            Path(path).write_text("<!doctype html><html>design</html>")
            return Path(path)
        return real_save(obj, path, **kwargs)

    monkeypatch.setattr(report, "save_html", save_html)


def test_design_command(tmp_path, capsys, design_api):
    from causal_kit.datasets.simulate import simulate_geo_panel

    history = simulate_geo_panel(n_geos=12, n_days=7 * 30, seed=2)
    history.to_csv(tmp_path / "history.csv", index=False)
    (tmp_path / "geo.yaml").write_text(
        "name: geo-plan\ndesign: did\noutcome: kpi\nunit: geo\ntime: date\ntreatment: treated\n"
        "aggregate:\n  by: [geo, date]\n  period: week\n"
        "plan:\n  n_treated: 3\n  duration: 4\n  n_windows: 4\n  n_candidates: 2\n  candidate_estimators: [did]\n"
    )
    reg = tmp_path / "reg.duckdb"
    code, out, err = run(capsys, "design", tmp_path / "geo.yaml", "--history", tmp_path / "history.csv",
                         "--out", tmp_path / "design.html", "--json-out", tmp_path / "design.json", "--registry", reg)
    assert code == 0, err
    assert (tmp_path / "design.html").exists() and json.loads((tmp_path / "design.json").read_text())
    assert Registry(reg).history("geo-plan", kind="design")["kind"].tolist() == ["design"]
    code, out, err = run(capsys, "report", tmp_path / "design.json", "--out", tmp_path / "design2.html")
    assert code == 0, err


@pytest.mark.slow
def test_demo_command(tmp_path, capsys):
    """The README's main job: plan, run and read out the geo test, and write both reports."""
    code, out, err = run(capsys, "--json", "demo", "--out", tmp_path / "demo")
    assert code == 0, err
    payload = json.loads(out)  # the demo's own progress lines stay off stdout in --json mode
    report = Path(payload["report"])
    assert report.exists() and report.stat().st_size > 1000
    assert report.parent == tmp_path / "demo"
    assert (tmp_path / "demo" / "geo_design.html").exists()
    html = report.read_text()
    assert "Synthetic DiD" in html and "Regional promotion" in html


@pytest.mark.slow
def test_scheduled_geo_readout_three_runs_builds_a_history(tmp_path, capsys):
    """Done check: three scheduled CLI readouts on growing cuts of the geo test -> 3 history points."""
    from causal_kit.datasets.simulate import simulate_geo_panel

    panel = simulate_geo_panel(n_geos=20, n_days=7 * 16, start="2024-01-01", effect=0.08, treated=4,
                               test_start="2024-03-04", seed=7)
    (tmp_path / "geo.yaml").write_text(
        "name: geo-readout\ndesign: sdid\noutcome: kpi\nunit: geo\ntime: date\ntreatment: treated\n"
        "estimators: [sdid, did]\naggregate:\n  by: [geo, date]\n  period: week\n  columns: {cost: sum}\n"
    )
    reg = tmp_path / "reg.duckdb"
    for weeks in (12, 14, 16):  # each scheduled run sees two more weeks of daily data
        cut = panel[panel["date"] < pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=weeks)]
        cut.to_csv(tmp_path / "sales.csv", index=False)
        code, out, err = run(capsys, "--registry", reg, "estimate", tmp_path / "geo.yaml",
                             "--data", tmp_path / "sales.csv", "--out", tmp_path / f"readout_{weeks}.html",
                             "--json-out", tmp_path / "latest.json")
        assert code == 0, err
    code, out, err = run(capsys, "report", tmp_path / "latest.json", "--out", tmp_path / "again.html")
    assert code == 0, err  # the robustness list written by --json renders again
    hist = Registry(reg).history("geo-readout")
    assert len(hist) == 6 and hist["run_id"].nunique() == 3  # two methods per run
    assert hist["method"].value_counts().to_dict() == {"did": 3, "sdid": 3}
    hist = hist[hist["method"] == "sdid"]
    assert hist["n_obs"].tolist() == [20 * 12, 20 * 14, 20 * 16]
    assert hist["data_fingerprint"].nunique() == 3 and hist["spec_hash"].nunique() == 1
    assert hist["source"].str.endswith("sales.csv").all()
    assert ((hist["ci_low"] < hist["estimate"]) & (hist["estimate"] < hist["ci_high"])).all()
    assert hist["report_path"].str.endswith(("readout_12.html", "readout_14.html", "readout_16.html")).all()
    code, out, err = run(capsys, "history", "geo-readout", "--registry", reg, "--out", tmp_path / "history.html")
    assert code == 0, err
    html = (tmp_path / "history.html").read_text()
    assert "geo-readout" in html and "sdid" in html
    ends = pd.to_datetime(hist["data_end"])  # the data period, not the run time, drives the tracker
    assert ends.is_monotonic_increasing and ends.nunique() == 3
    assert "Data through" in html and "Run time" not in html
