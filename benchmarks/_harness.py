"""Tiny timing harness shared by the benchmark modules.

Each ``benchmarks/bench_*.py`` module defines ``run(quick: bool) -> list[dict]``; each dict
is one row with at least ``case``, ``ours_s`` and optionally ``peer``, ``peer_s``, ``goal``
and ``match`` (whether the numbers agree). ``ratio`` is filled in here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["best_time", "row", "peer_available"]


def best_time(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall time over ``repeat`` calls, and the last return value."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peer_available(module: str) -> bool:
    """True when the peer package imports (peers come from the ``bench`` extra)."""
    from importlib.util import find_spec

    return find_spec(module) is not None


def row(case: str, ours_s: float, peer: str = "", peer_s: float | None = None, goal: str = "",
        match: bool | None = None, note: str = "") -> dict[str, Any]:
    """One result row; ``ratio`` is ours / peer."""
    ratio = ours_s / peer_s if peer_s else None
    return {"case": case, "ours_s": ours_s, "peer": peer, "peer_s": peer_s, "ratio": ratio,
            "goal": goal, "match": match, "note": note}
