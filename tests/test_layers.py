"""The import floors of ``causal_kit``: a module imports only from its own floor or below.

Every import counts, including those inside functions and under ``TYPE_CHECKING`` is exempt
(type hints never run). Upper layers provide services to lower ones through
``causal_kit._hooks``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "causal_kit"

#: floor of each top-level module or package, from the ground up (see the layers in the design notes)
FLOORS = {
    "errors": 0, "_typing": 0, "_hooks": 0, "fmt": 0, "_threads": 0,
    "spec": 1, "_spec_interference": 1,
    "_data": 2, "_panel": 2,
    "result": 3, "outcome": 3, "verdict": 3,
    "inference": 4, "diagnostics": 4, "plots": 4, "solvers": 4, "_parallel": 4,
    "estimators": 5, "datasets": 5, "bandits": 5,
    "design": 6,
    "compare": 7, "report": 7, "explain": 7,
    "api": 8, "registry": 8, "io": 8, "knowledge": 8, "warehouse": 8,
    "cli": 9, "demo": 9,
}


def _top(module: Path) -> str:
    rel = module.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imported_tops(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    rel = path.relative_to(PACKAGE)
    package_parts = list(rel.parts[:-1])
    out = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
                if not target:  # "from . import x" at the package root
                    out += [(node.lineno, a.name) for a in node.names]
                else:
                    out.append((node.lineno, target[0]))
            elif node.module and node.module.startswith("causal_kit."):
                out.append((node.lineno, node.module.split(".")[1]))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".")[1]) for a in node.names if a.name.startswith("causal_kit.")]
    return out


def _violations(top: str) -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if _top(path) != top or path.name == "__init__.py" and path.parent == PACKAGE:
            continue
        own = FLOORS[top]
        for line, target in _imported_tops(path):
            if target in FLOORS and FLOORS[target] > own:
                bad.append(f"{path.relative_to(PACKAGE)}:{line} imports {target} (floor {FLOORS[target]} > {own})")
    return bad


@pytest.mark.parametrize("top", ["errors", "_typing", "_hooks", "fmt", "_threads", "spec", "_spec_interference", "_data",
                                 "_panel", "result", "outcome",
                                 "verdict", "inference", "solvers", "plots", "diagnostics", "estimators",
                                 "datasets", "design", "compare", "report", "api", "registry", "io",
                                 "knowledge"])
def test_lower_floors_never_import_upper_ones(top):
    assert (PACKAGE / top).exists() or (PACKAGE / f"{top}.py").exists(), f"{top} is in FLOORS but not in the package"
    assert _violations(top) == []


def test_nothing_below_the_report_floor_imports_report():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        top = _top(path)
        if top in FLOORS and FLOORS[top] < FLOORS["report"]:
            offenders += [f"{path.relative_to(PACKAGE)}:{ln}" for ln, t in _imported_tops(path) if t == "report"]
    assert offenders == []
