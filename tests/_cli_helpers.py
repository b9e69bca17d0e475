"""What the CLI test modules share: an isolated default registry and an in-process CLI runner."""

from __future__ import annotations

import pytest

from causal_kit import cli

AB_SPEC = "name: cuped\ndesign: ab\noutcome: y\ntreatment: treat\npre_covariate: pre\n"


@pytest.fixture(autouse=True)
def _isolated_registry(tmp_path, monkeypatch):
    """Never touch the user's registry: the default path points into the test's folder."""
    monkeypatch.setenv("CAUSAL_KIT_REGISTRY", str(tmp_path / "default.duckdb"))


def run(capsys, *argv):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err
