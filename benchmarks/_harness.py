"""Tiny timing harness shared by the benchmark modules.

Each ``benchmarks/bench_*.py`` module defines ``run(quick: bool) -> list[dict]``; each dict
is one row with at least ``case``, ``ours_s`` and optionally ``peer``, ``peer_s``, ``goal``
and ``match`` (whether the numbers agree). ``ratio`` is filled in here.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["best_time", "interleaved", "busy_core", "modes", "validation_share", "row", "peer_available"]


def best_time(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall time over ``repeat`` calls, and the last return value."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def interleaved(fns: dict[str, Callable[[], Any]], repeat: int = 5) -> dict[str, tuple[float, Any]]:
    """Median wall time of each function over ``repeat`` rounds, run in turn within each round.

    Interleaving puts ours and the peer under the same background load, so their ratio is
    meaningful on a shared machine even when the absolute times are not.
    """
    times: dict[str, list[float]] = {k: [] for k in fns}
    outs: dict[str, Any] = {}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            outs[name] = fn()
            times[name].append(time.perf_counter() - t0)
    return {k: (statistics.median(v), outs[k]) for k, v in times.items()}


@contextmanager
def busy_core() -> Iterator[None]:
    """Keep one core busy (a child process spinning) for the duration of the block."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        yield
    finally:
        proc.kill()
        proc.wait()


def modes() -> list[tuple[str, Any]]:
    """The two conditions every case runs in: default threading, and one core kept busy."""
    from contextlib import nullcontext

    return [("default", nullcontext), ("busy", busy_core)]


def validation_share(data: Any, spec: Any, total_s: float, repeat: int = 3) -> float:
    """Share of ``total_s`` spent validating ``data`` against ``spec`` (median of ``repeat``)."""
    from causal_kit._data import validate_data

    t = interleaved({"v": lambda: validate_data(data, spec)}, repeat=repeat)["v"][0]
    return t / total_s if total_s else float("nan")


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
