"""The CLI on user mistakes: exit 2 with one line (no traceback), a quiet broken pipe, one --json spelling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _cli_helpers import AB_SPEC, _isolated_registry, run  # noqa: F401 (autouse fixture)

from causal_kit import cli


@pytest.fixture
def ab(tmp_path, load):
    spec = tmp_path / "ab.yaml"
    spec.write_text(AB_SPEC)
    data = tmp_path / "ab.csv"
    load("ab_cuped_sim").head(2000).to_csv(data, index=False)
    return spec, data



def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("causal-kit: error")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_spec_not_utf8_exits_2(tmp_path, ab, capsys):
    spec = tmp_path / "latin1.yaml"
    spec.write_bytes((AB_SPEC + "question: caf\u00e9?\n").encode("latin-1"))
    code, _, err = run(capsys, "estimate", spec, "--data", ab[1], "--no-registry")
    assert code == 2
    assert "is not UTF-8 text" in one_line_error(err)


def test_spec_path_is_a_directory_exits_2(tmp_path, ab, capsys):
    code, _, err = run(capsys, "estimate", tmp_path, "--data", ab[1], "--no-registry")
    assert code == 2
    assert "is a directory" in one_line_error(err)


def test_out_is_a_directory_exits_2(tmp_path, ab, capsys):
    folder = tmp_path / "reports"
    folder.mkdir()
    code, _, err = run(capsys, "estimate", ab[0], "--data", ab[1], "--out", folder, "--no-registry")
    assert code == 2
    assert "--out" in one_line_error(err) and "is a directory" in err


def test_json_out_is_a_directory_exits_2(tmp_path, ab, capsys):
    code, _, err = run(capsys, "estimate", ab[0], "--data", ab[1], "--json-out", tmp_path, "--no-registry")
    assert code == 2
    assert "--json-out" in one_line_error(err)


def test_registry_path_is_a_directory_exits_2(tmp_path, ab, capsys):
    code, _, err = run(capsys, "estimate", ab[0], "--data", ab[1], "--registry", tmp_path)
    assert code == 2
    line = one_line_error(err)
    assert "RegistryPathError" in line and "is a directory" in line


def test_registry_path_not_duckdb_exits_2(tmp_path, ab, capsys):
    bogus = tmp_path / "registry.duckdb"
    bogus.write_text("this is not a database, it is a note to self\n" * 5)
    code, _, err = run(capsys, "estimate", ab[0], "--data", ab[1], "--registry", bogus)
    assert code == 2
    assert "is not a DuckDB database file" in one_line_error(err)
    assert bogus.read_text().startswith("this is not a database")  # left as it was


def test_history_with_bad_registry_exits_2(tmp_path, capsys):
    code, _, err = run(capsys, "history", "x", "--registry", tmp_path)
    assert code == 2
    assert "is a directory" in one_line_error(err)


def test_json_flag_before_and_after_the_command(ab, capsys):
    before = run(capsys, "--json", "estimate", ab[0], "--data", ab[1], "--no-registry")
    after = run(capsys, "estimate", ab[0], "--data", ab[1], "--no-registry", "--json")
    assert before[0] == after[0] == 0
    first, second = json.loads(before[1]), json.loads(after[1])
    assert first["results"] == second["results"]


def test_json_out_writes_the_result_file(tmp_path, ab, capsys):
    code, out, err = run(capsys, "--json", "estimate", ab[0], "--data", ab[1], "--no-registry",
                         "--json-out", tmp_path / "r.json")
    assert code == 0, err
    assert json.loads(out)["result_json"] == str(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["method"] == "ab"


def test_json_with_a_file_name_points_to_json_out(tmp_path, ab, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([str(a) for a in ("estimate", ab[0], "--data", ab[1], "--json", tmp_path / "r.json")])
    assert exc.value.code == 2
    assert f"--json-out {tmp_path / 'r.json'}" in capsys.readouterr().err


def test_broken_pipe_is_quiet(ab):
    """`causal-kit --json estimate ... | head -c 700`: the reader leaves early; no traceback."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(cli.__file__).parents[1]),
                                                         os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "causal_kit.cli", "--json", "estimate", str(ab[0]), "--data", str(ab[1]),
         "--no-registry"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    proc.stdout.close()  # the reader is gone before anything is written
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == 141


def test_demo_data_only_writes_the_readme_data(tmp_path, capsys):
    import pandas as pd

    code, out, err = run(capsys, "demo", "--data-only", "--out", tmp_path)
    assert code == 0, err
    data = pd.read_parquet(tmp_path / "sales.parquet")
    assert {"geo", "date", "kpi", "cost", "treated"} <= set(data.columns)
    assert data.groupby("geo")["treated"].max().sum() == 8
    assert f"demo data: {tmp_path / 'sales.parquet'}" in out


def test_yaml_alias_bomb_exits_2_fast(tmp_path, ab, capsys):
    import time

    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")]
    lines += ["name: bomb", "design: ab", "outcome: y", "treatment: treat", "options: {junk: *i}"]
    spec = tmp_path / "bomb.yaml"
    spec.write_text("\n".join(lines))
    start = time.perf_counter()
    code, _, err = run(capsys, "estimate", spec, "--data", ab[1], "--no-registry")
    assert time.perf_counter() - start < 1.0
    assert code == 2
    assert "alias" in one_line_error(err)
