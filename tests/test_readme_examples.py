"""Every fenced python/bash block of README.md and analyses/README.md runs verbatim.

Blocks run in order in one temporary folder (so a YAML block named by its first line,
``# geo_test.yaml``, is there for the commands after it), each python block as its own script.
Lines starting with ``make`` are left out: they create the virtual environment these tests
already run in (CI runs ``make test`` itself). A block preceded by
``<!-- readme-test: skip (reason) -->`` is not run; the reason must say what it needs.
The registry goes to the temporary folder, never to the user's home.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
READMES = ["README.md", "analyses/README.md"]
RUN = {"python", "bash"}
SHOWN_ONLY = {"cron", "text", "yaml"}
FENCE = re.compile(
    r"(?:<!-- readme-test: skip \((?P<why>[^)]+)\) -->\n)?^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```\s*$", re.S | re.M
)


def blocks(readme: str) -> list[tuple[str, str, str | None]]:
    """(language, body, skip reason) of every fenced block, in order."""
    text = (ROOT / readme).read_text()
    return [(m["lang"], m["body"], m["why"]) for m in FENCE.finditer(text)]


def yaml_file_name(body: str) -> str | None:
    first = body.splitlines()[0].strip() if body.strip() else ""
    match = re.fullmatch(r"#\s*([\w.-]+\.ya?ml)", first)
    return match.group(1) if match else None


def shell_lines(body: str) -> list[str]:
    joined = body.replace("\\\n", " ")
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("readme", READMES)
def test_every_block_has_a_known_language(readme):
    found = blocks(readme)
    assert found
    for lang, body, _ in found:
        assert lang in RUN | SHOWN_ONLY, f"{readme}: a ```{lang} block; use one of {sorted(RUN | SHOWN_ONLY)}"
        if lang == "yaml":
            assert yaml_file_name(body), f"{readme}: a YAML block must start with '# <file>.yaml'"


@pytest.mark.parametrize("readme", READMES)
def test_every_cli_line_parses(readme):
    """Every causal-kit command in the docs uses flags the CLI has (a fast check of the spelling)."""
    from causal_kit.cli import build_parser

    parser = build_parser()
    for lang, body, _ in blocks(readme):
        if lang not in {"bash", "cron"}:
            continue
        for line in shell_lines(body):
            for command in re.split(r"&&|;|\|", line):
                words = shlex.split(command.split(" #")[0])
                if "causal-kit" not in words:
                    continue
                argv = words[words.index("causal-kit") + 1:]
                args, extra = parser.parse_known_args(argv)
                assert not extra, f"{readme}: {command.strip()!r} has unknown arguments {extra}"


def _environment(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["CAUSAL_KIT_REGISTRY"] = str(tmp_path / "registry.duckdb")
    env["MPLBACKEND"] = "Agg"
    return env


def run_readme(readme: str, tmp_path: Path) -> None:
    env = _environment(tmp_path)
    shutil.copytree(ROOT / "analyses", tmp_path / "analyses")  # commands written from the repo root
    for i, (lang, body, why) in enumerate(blocks(readme)):
        if why is not None:
            assert len(why) > 5
            continue
        if lang == "yaml":
            (tmp_path / yaml_file_name(body)).write_text(body)
            continue
        if lang == "python":
            script = tmp_path / f"block_{i}.py"
            script.write_text(body)
            cmd = [sys.executable, str(script)]
        elif lang == "bash":
            lines = [line for line in shell_lines(body) if not line.lstrip().startswith("make ")]
            if not lines:
                continue
            cmd = ["bash", "-e", "-c", "\n".join(lines)]
        else:
            continue
        done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{readme} block {i} ({lang}) failed:\n{body}\n--- stderr\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr, done.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("readme", READMES)
def test_readme_runs_verbatim(readme, tmp_path):
    run_readme(readme, tmp_path)
