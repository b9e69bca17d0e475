"""Scaling benchmark: the same seeded work serially and on a Dask cluster of 1 and 2 workers.

Cases (each through causal_kit's public entry points, the execution chosen by the spec's
``execution:`` block or ``use_execution``):

* design simulation: synthetic-control power on 40 geos x 400 days, 6 candidate designs,
  40 historical windows (one task per window);
* SDID unit bootstrap: 100 units x 40 periods, 10 treated, 200 resamples (one task each);
* DML cross-fitting: PLR, ``n`` x 20 features, 5 folds x 2 nuisances (one task per fit).

Every Dask run must return exactly the serial numbers (``match``). The clusters are local
(``LocalCluster(processes=True, threads_per_worker=1)``), so the speed-up is bounded by the
machine's free cores; run it on an idle machine (or against a real cluster with
``CAUSAL_KIT_BENCH_DASK=tcp://...``) to read scaling. ``python -m benchmarks.bench_scaling
--dml-rows 10000000`` runs the 10M-row DML case on 2 workers and compares it with the
single-machine answer on a 1M-row subsample.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from ._harness import row


def _geo_history(n_geos: int = 40, n_days: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    Y = 100 * np.exp(rng.normal(0, 0.3, (n_geos, 1))) + rng.normal(0, 2, (n_geos, n_days)).cumsum(axis=1) * 0.1
    designs = np.zeros((6, n_geos), dtype=int)
    for d in range(6):
        designs[d, rng.choice(n_geos, 8, replace=False)] = 1
    return Y, designs


def _sdid_panel(n_units: int = 100, n_periods: int = 40, n_treated: int = 10, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.normal(10, 2, (n_units, 1)) + rng.normal(0, 1, (n_units, n_periods)) + np.linspace(0, 3, n_periods)
    y[:n_treated, 30:] += 1.0
    return pd.DataFrame({
        "unit": np.repeat(np.arange(n_units), n_periods), "period": np.tile(np.arange(n_periods), n_units),
        "y": y.ravel(),
        "treated": ((np.arange(n_units)[:, None] < n_treated) & (np.arange(n_periods)[None, :] >= 30)).ravel().astype(int),
    })


def _dml_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 20)).astype(np.float64)
    d = np.sin(X[:, 0]) + 0.5 * X[:, 1] + rng.normal(size=n)
    y = 0.5 * d + X[:, 0] ** 2 / 2 + X[:, 2] + rng.normal(size=n)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(20)])
    frame["d"], frame["y"] = d, y
    return frame


def _cases(quick: bool) -> dict[str, Any]:
    import causal_kit as ck
    from causal_kit.design.simulation import simulate_power

    Y, designs = _geo_history(n_days=200 if quick else 400)
    n_windows = 10 if quick else 40
    panel = _sdid_panel()
    sdid = dict(name="b", design="sdid", outcome="y", treatment="treated", unit="unit", time="period", seed=3,
                options={"se_method": "bootstrap", "n_reps": 40 if quick else 200})
    dml_data = _dml_frame(20_000 if quick else 100_000)
    dml = dict(name="d", design="dml", outcome="y", treatment="d", covariates=[f"x{j}" for j in range(20)],
               seed=1, options={"refute": False, "model": "plr", "n_folds": 5})

    def design() -> tuple[float, ...]:
        out = simulate_power(Y, designs, estimator="synthetic_control", duration=28, pre_periods=56,
                             n_windows=n_windows)
        return tuple(out.tau0.ravel())

    return {
        f"design simulation: SC, 40 geos x {Y.shape[1]} days, 6 designs x {n_windows} windows": design,
        f"SDID bootstrap: 100 x 40, {sdid['options']['n_reps']} resamples":
            lambda: (lambda r: (r.estimate, r.se))(ck.estimate(panel, sdid)),
        f"DML PLR folds: {len(dml_data):,} x 20, 5 folds":
            lambda: (lambda r: (r.estimate, r.se))(ck.estimate(dml_data, dml)),
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Serial, then Dask with 1 and 2 local workers, for each case."""
    import os

    from distributed import Client, LocalCluster

    from causal_kit._parallel import use_execution

    rows = []
    for case, fn in _cases(quick).items():
        with use_execution("serial"):
            fn()  # warm: first-call imports
            t0 = time.perf_counter()
            serial = fn()
            serial_s = time.perf_counter() - t0
        rows.append(row(f"{case} | serial", serial_s, match=True))
        address = os.environ.get("CAUSAL_KIT_BENCH_DASK")
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                client.run(lambda: None)  # workers up before the clock starts
                with use_execution("dask", address=address or cluster.scheduler_address):
                    fn()  # warm: imports on the workers
                    t0 = time.perf_counter()
                    out = fn()
                    elapsed = time.perf_counter() - t0
            rows.append(row(f"{case} | dask {workers} worker(s)", elapsed, peer="serial", peer_s=serial_s,
                            match=out == serial, note="bit-identical to serial" if out == serial else "DIFFERS"))
    return rows


def dml_at_scale(n_rows: int = 10_000_000, subsample: int = 1_000_000) -> dict[str, Any]:
    """DML PLR on ``n_rows`` with folds on a 2-worker local cluster, and serially on a subsample.

    Both estimate the same effect (0.5); they must agree within the Monte Carlo tolerance
    ``3 * sqrt(se_big^2 + se_small^2)`` (the subsample's SE dominates).
    """
    from distributed import Client, LocalCluster

    import causal_kit as ck
    from causal_kit._parallel import use_execution

    frame = _dml_frame(n_rows, seed=7)
    spec = dict(name="d", design="dml", outcome="y", treatment="d", covariates=[f"x{j}" for j in range(20)],
                seed=1, options={"refute": False, "model": "plr", "n_folds": 5})
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      memory_limit=0) as cluster, Client(cluster):
        with use_execution("dask", address=cluster.scheduler_address):
            t0 = time.perf_counter()
            big = ck.estimate(frame, spec)
            big_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    small = ck.estimate(frame.iloc[:subsample], spec)
    small_s = time.perf_counter() - t0
    tol = 3 * float(np.hypot(big.se, small.se))
    return {"rows": n_rows, "dask_2_workers_s": big_s, "estimate": big.estimate, "se": big.se,
            "subsample_rows": subsample, "subsample_s": small_s, "subsample_estimate": small.estimate,
            "subsample_se": small.se, "difference": big.estimate - small.estimate, "tolerance": tol,
            "agree": abs(big.estimate - small.estimate) <= tol}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dml-rows", type=int, default=None, help="run only the DML-at-scale case with this many rows")
    parser.add_argument("--subsample", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.dml_rows:
        print(dml_at_scale(args.dml_rows, args.subsample))
    else:
        print(pd.DataFrame(run(quick=args.quick)).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
