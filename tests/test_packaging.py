"""The built wheel ships the templates, the bundled data and py.typed, and imports in a fresh venv."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    (whl,) = out.glob("causal_kit-*.whl")
    return whl


@pytest.mark.slow
def test_wheel_contains_templates_data_and_py_typed(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    templates = sorted(p.name for p in (ROOT / "templates").glob("*.html"))
    assert templates, "the templates/ folder has no templates"
    for name in templates:
        assert f"causal_kit/templates/{name}" in names
    assert "causal_kit/py.typed" in names
    assert "causal_kit/datasets/data/mpdta.csv" in names


@pytest.mark.slow
def test_wheel_installs_in_fresh_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # --no-deps keeps this test offline and fast; the package is located, not imported (importing needs numpy)
    inst = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True)
    assert inst.returncode == 0, inst.stderr
    code = (
        "import importlib.util, pathlib; "
        "t = pathlib.Path(importlib.util.find_spec('causal_kit').origin).parent / 'templates'; "
        "print(sorted(p.name for p in t.iterdir() if p.name.endswith('.html'))[:1])"
    )
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("['")
