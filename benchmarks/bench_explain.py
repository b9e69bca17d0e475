"""Metric-movement benchmarks: mix/rate over 10M rows x 3 dimensions, exact Shapley over 8 dimensions.

Goals (issue "why did the metric move?"): the decomposition of 10M rows with ~50,000 segment
cells under 2 s (aggregation included); exact Shapley across 8 dimensions on aggregated data
under 5 s.
"""

from __future__ import annotations

import time

from ._harness import best_time, row


def run(quick: bool = False) -> list[dict]:
    """Time both cases (1M rows and 6 dimensions with ``quick``)."""
    import numpy as np
    import pandas as pd

    from causal_kit.explain import mix_rate

    rng = np.random.default_rng(0)
    n = 1_000_000 if quick else 10_000_000
    levels = (50, 40, 25)  # 50,000 cells
    df = pd.DataFrame({"period": rng.integers(0, 2, n, dtype=np.int8),
                       **{f"d{j}": rng.integers(0, k, n, dtype=np.int32) for j, k in enumerate(levels)},
                       "num": rng.random(n), "den": rng.integers(1, 5, n).astype(np.float64)})
    dims = ["d0", "d1", "d2"]
    cpu0 = time.process_time()
    seconds, res = best_time(lambda: mix_rate(df, period="period", dimensions=dims, numerator="num",
                                              denominator="den"), repeat=1 if quick else 3)
    cpu = (time.process_time() - cpu0) / (1 if quick else 3)
    rows = [row(f"mix/rate, {n:,} rows x 3 dims ({len(res.tables['cells']):,} cells)", seconds, goal="< 2 s",
                match=seconds < 2.0, note=f"CPU {cpu:.2f} s per call; residual {res.residual():.2e}")]

    n_dims = 6 if quick else 8
    agg_levels = [4] * n_dims  # 65,536 cells at 8 dims
    grid = np.stack(np.meshgrid(*[np.arange(k) for k in agg_levels], indexing="ij"), -1).reshape(-1, n_dims)
    agg = pd.concat([pd.DataFrame(grid, columns=[f"d{j}" for j in range(n_dims)]).assign(period=t) for t in (0, 1)],
                    ignore_index=True)
    agg["den"] = rng.integers(1, 100, len(agg)).astype(float)
    agg["num"] = agg["den"] * rng.random(len(agg))
    dims8 = [f"d{j}" for j in range(n_dims)]
    seconds, res = best_time(lambda: mix_rate(agg, period="period", dimensions=dims8, numerator="num",
                                              denominator="den"), repeat=1 if quick else 3)
    rows.append(row(f"exact Shapley over {n_dims} dims, {len(grid):,} aggregated cells", seconds, goal="< 5 s",
                    match=seconds < 5.0, note=f"residual {res.residual():.2e}"))
    return rows
