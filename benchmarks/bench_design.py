"""Geo-experiment planning: simulation power with synthetic control as the planned estimator.

Case: 100 geos x 730 days (``simulate_geo_panel``), a market search over 10 candidate
designs x 8 effect sizes x 20 historical windows with synthetic control, then the chosen
design simulated at 28 days. Timed with 1 and 2 joblib workers (goal < 60 s on 2 cores; the
worker pool is started once before timing). A second case times the simulation alone on a
larger batch, where the work rather than process start-up dominates, for the speed-up.

Peer: mlsynth's GeoLift-style market selection (``GEOLIFT``) on the same data, run in a
subprocess with a time cap so that a slow peer gives a row with a note, not a hang. The two
tools search different candidate sets with different inference (conformal permutations
there, t-tests on simulated windows here), so the selected markets and MDEs are reported
side by side rather than required to match.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from benchmarks._harness import best_time, peer_available, row

EFFECTS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15)

_PEER_SCRIPT = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
from causal_kit.datasets import simulate_geo_panel
from mlsynth import GEOLIFT
cfg = json.loads(sys.argv[1])
h = simulate_geo_panel(n_geos=cfg["n_geos"], n_days=cfg["n_days"], seed=0)
t0 = time.perf_counter()
res = GEOLIFT({"df": h[["geo", "date", "kpi"]], "outcome": "kpi", "unitid": "geo", "time": "date",
               "treatment_size": cfg["n_treated"], "durations": [cfg["duration"]],
               "effect_sizes": cfg["effects"], "lookback_window": cfg["windows"],
               "n_jobs": cfg["n_jobs"], "display_graphs": False}).fit()
print(json.dumps({"seconds": time.perf_counter() - t0, "selected": [str(u) for u in (res.selected_units or [])]}))
"""


def _ours(n_geos: int, n_days: int, n_treated: int, duration: int, n_windows: int, n_candidates: int,
          n_jobs: int, repeat: int = 1) -> tuple[float, Any]:
    import causal_kit as ck
    from causal_kit.datasets import simulate_geo_panel

    history = simulate_geo_panel(n_geos=n_geos, n_days=n_days, seed=0)
    spec = ck.ExperimentSpec(
        name="bench", design="synthetic_control", outcome="kpi", unit="geo", time="date", treatment="treated",
        plan={"n_treated": n_treated, "duration": duration, "n_windows": n_windows, "n_candidates": n_candidates,
              "effect_grid": list(EFFECTS), "candidate_estimators": ["synthetic_control"], "n_jobs": n_jobs},
    )
    return best_time(lambda: ck.design.plan(history, spec), repeat=repeat)


def _scaling(n_jobs: int, quick: bool) -> float:
    """Simulation only: 40 designs x 60 windows of synthetic control (work dominates start-up)."""
    import numpy as np

    from causal_kit.datasets import simulate_geo_panel
    from causal_kit.design.simulation import simulate_power

    h = simulate_geo_panel(n_geos=100, n_days=730, seed=0)
    Y = h.pivot(index="geo", columns="date", values="kpi").to_numpy()
    rng = np.random.default_rng(0)
    n_designs, n_windows = (10, 20) if quick else (40, 60)
    designs = np.zeros((n_designs, 100), dtype=int)
    for i in range(n_designs):
        designs[i, rng.choice(100, 10, replace=False)] = 1
    t, _ = best_time(lambda: simulate_power(Y, designs, estimator="synthetic_control", duration=28,
                                            pre_periods=84, n_windows=n_windows, n_jobs=n_jobs,
                                            progress=False), repeat=3)
    return t


def _peer(cfg: dict[str, Any], timeout: float) -> tuple[float | None, str]:
    try:
        proc = subprocess.run([sys.executable, "-c", _PEER_SCRIPT, json.dumps(cfg)], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"mlsynth GEOLIFT did not finish within {timeout:.0f} s"
    if proc.returncode != 0:
        return None, "mlsynth GEOLIFT failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:120]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return float(out["seconds"]), "GEOLIFT selected " + ", ".join(out["selected"][:5])


def run(quick: bool = False) -> list[dict[str, Any]]:
    rows = []
    size = dict(n_geos=40, n_days=365, n_treated=5, duration=28, n_windows=8, n_candidates=4) if quick else \
        dict(n_geos=100, n_days=730, n_treated=10, duration=28, n_windows=20, n_candidates=10)
    case = (f"plan: {size['n_geos']} geos x {size['n_days']} days, {size['n_candidates']} designs x "
            f"{len(EFFECTS)} effects x {size['n_windows']} windows, SC")
    _scaling(2, quick=True)  # start the joblib workers once, so n_jobs=2 is timed warm
    t1, d1 = _ours(**size, n_jobs=1, repeat=2)
    t2, d2 = _ours(**size, n_jobs=2, repeat=2)
    same = d1.assignment.equals(d2.assignment) and d1.mde == d2.mde
    rows.append(row(case + ", n_jobs=1", t1, goal="< 60 s on 2 cores",
                    note=f"MDE {d1.mde:.2%} at 80% power; A/A type-I {d1.type1_error:.3f}"))
    rows.append(row(case + ", n_jobs=2", t2, goal="< 60 s on 2 cores", match=same,
                    note=f"speed-up {t1 / t2:.2f}x over n_jobs=1; same design and MDE: {same}"))
    s1, s2 = _scaling(1, quick), _scaling(2, quick)
    scale_case = "simulate_power only: " + ("10 designs x 20" if quick else "40 designs x 60") + " windows, SC"
    rows.append(row(scale_case + ", n_jobs=1", s1, note="best of 3"))
    rows.append(row(scale_case + ", n_jobs=2", s2, note=f"best of 3; speed-up {s1 / s2:.2f}x over n_jobs=1"))
    if not peer_available("mlsynth"):
        rows.append(row("GeoLift market selection (mlsynth)", float("nan"), peer="mlsynth",
                        note="mlsynth is not installed in this environment (pip install mlsynth)"))
        return rows
    small = dict(n_geos=30, n_days=365, n_treated=5, duration=28, n_windows=2, n_candidates=10)
    for label, cfg, timeout in (
        ("same data as above", size, 60.0 if quick else 300.0),
        ("30 geos x 365 days, 5 treated, 2 lookback windows", small, 60.0 if quick else 600.0),
    ):
        ours_t, ours_d = (t1, d1) if cfg is size else _ours(**cfg, n_jobs=1)
        peer_cfg = {"n_geos": cfg["n_geos"], "n_days": cfg["n_days"], "n_treated": cfg["n_treated"],
                    "duration": cfg["duration"], "effects": list(EFFECTS), "windows": cfg["n_windows"], "n_jobs": 1}
        t0 = time.perf_counter()
        peer_s, note = _peer(peer_cfg, timeout)
        if peer_s is None:
            note += f" (waited {time.perf_counter() - t0:.0f} s)"
        rows.append(row(f"market selection vs GeoLift ({label}), n_jobs=1", ours_t, peer="mlsynth GEOLIFT",
                        peer_s=peer_s, note=f"ours: MDE {ours_d.mde:.2%}; {note}"))
    return rows


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(r)
