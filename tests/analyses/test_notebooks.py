"""Every notebook in analyses/ runs end to end on bundled data (executed with papermill)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ANALYSES = Path(__file__).resolve().parents[2] / "analyses"
NOTEBOOKS = sorted(ANALYSES.glob("*.ipynb"))
FAST_PARAMETERS = {"n_folds": 2}


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def test_analyses_folder_has_the_readouts():
    names = {p.stem for p in NOTEBOOKS}
    assert {"geo_weekly_readout", "staggered_rollout_readout", "ab_readout"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_saved_clean_with_a_parameters_cell(path):
    cells = _cells(path)
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code cell"
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), (
        f"the first code cell of {path.name} must be tagged 'parameters' (papermill)"
    )
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), (
        f"{path.name} is saved with outputs; clear them before committing"
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_end_to_end(path, tmp_path, monkeypatch):
    papermill = pytest.importorskip("papermill", reason="papermill (dev extra) runs the notebooks")
    # outputs and the registry land in the test's folder, never in the user's home
    monkeypatch.setenv("CAUSAL_KIT_REGISTRY", str(tmp_path / "registry.duckdb"))
    source = _cells(path)[0]["source"]
    source = "".join(source) if isinstance(source, list) else source
    parameters = {k: str(tmp_path / v) for k, v in (("out_dir", "out"), ("registry_path", "registry.duckdb"))
                  if f"{k} =" in source}
    # smoke-run settings: fewer cross-fitting folds keep the suite inside its time budget
    parameters.update({k: v for k, v in FAST_PARAMETERS.items() if f"{k} =" in source})
    papermill.execute_notebook(
        str(path), str(tmp_path / path.name), parameters=parameters, cwd=str(tmp_path),
        kernel_name="python3", progress_bar=False, execution_timeout=300,
    )
    if "out_dir" in parameters:
        assert any((tmp_path / "out").glob("*.html")), f"{path.name} wrote no HTML report"


def _parameters(path: Path) -> list[str]:
    """Names assigned in the notebook's parameters cell, in order."""
    import re

    code = [c for c in _cells(path) if c["cell_type"] == "code"][0]
    source = "".join(code["source"]) if isinstance(code["source"], list) else code["source"]
    return re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=", source, flags=re.M)


def _readme_parameter_table() -> dict[str, list[str]]:
    import re

    text = (ANALYSES / "README.md").read_text()
    rows = re.findall(r"^\| `([\w.]+\.ipynb)` \| ((?:`\w+`(?:, )?)+) \|$", text, flags=re.M)
    return {name: re.findall(r"`(\w+)`", params) for name, params in rows}


def test_readme_lists_every_notebook_with_its_exact_parameters():
    table = _readme_parameter_table()
    assert set(table) == {p.name for p in NOTEBOOKS}
    for path in NOTEBOOKS:
        assert table[path.name] == _parameters(path), f"analyses/README.md is out of date for {path.name}"


def test_scheduled_readouts_take_out_dir_and_registry_path():
    for stem in ("geo_weekly_readout", "staggered_rollout_readout", "ab_readout"):
        params = _parameters(ANALYSES / f"{stem}.ipynb")
        assert {"out_dir", "registry_path"} <= set(params), stem


def test_readme_papermill_commands_pass_only_existing_parameters():
    import re

    text = (ANALYSES / "README.md").read_text().replace("\\\n", " ")
    commands = re.findall(r"papermill (analyses/\w+\.ipynb) [^\n]*", text)
    assert commands
    for line in re.findall(r"papermill analyses/\w+\.ipynb [^\n]*", text):
        notebook = re.search(r"analyses/(\w+\.ipynb)", line).group(1)
        passed = re.findall(r"-p (\w+) ", line)
        assert set(passed) <= set(_parameters(ANALYSES / notebook)), (notebook, passed)
