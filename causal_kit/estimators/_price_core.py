"""Shared maths of the price-test readout and its design: the log-log elasticity with product
and period fixed effects (cluster-robust by product), batched over simulated tests, and the
profit curve and profit-maximising price under constant elasticity.

The two-way within transformation is written here (alternating projections; one pass for a
balanced panel) because it must also run on ``(replications, products, periods)`` arrays in
the coverage and power simulations, which a regression package cannot batch.
"""

from __future__ import annotations

import numpy as np

from ..inference.cluster import crv1, ssc_factor

__all__ = ["twoway_within", "loglog_elasticity", "loglog_elasticity_batch", "profit_curve", "best_relative_price"]


def twoway_within(cols: np.ndarray, unit: np.ndarray, time: np.ndarray, *, tol: float = 1e-11,
                  max_iter: int = 10_000) -> np.ndarray:
    """Remove unit and time means from ``cols`` ``(n, p)`` (alternating projections).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.arange(6.0)[:, None]
    >>> twoway_within(y, np.array([0, 0, 0, 1, 1, 1]), np.array([0, 1, 2, 0, 1, 2])).ravel().round(12).tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    out = np.array(cols, dtype=float, copy=True)
    nu, nt = int(unit.max()) + 1, int(time.max()) + 1
    cu, ct = np.bincount(unit, minlength=nu), np.bincount(time, minlength=nt)
    for _ in range(max_iter):
        biggest = 0.0
        for codes, counts, size in ((unit, cu, nu), (time, ct, nt)):
            means = np.stack([np.bincount(codes, weights=out[:, j], minlength=size) for j in range(out.shape[1])], 1)
            means /= np.maximum(counts, 1)[:, None]
            step = means[codes]
            out -= step
            biggest = max(biggest, float(np.abs(step).max()))
        if biggest < tol:
            break
    return out


def loglog_elasticity(log_units: np.ndarray, log_price: np.ndarray, unit: np.ndarray, time: np.ndarray,
                      cluster: np.ndarray) -> dict[str, float | np.ndarray]:
    """Elasticity from ``log units ~ log price | unit + time`` with CRV1 standard errors by ``cluster``.

    The small-sample factor counts the slope and the period effects (unit effects are nested in
    unit clusters), as R fixest does; inference uses t with G - 1 degrees of freedom.
    """
    w = twoway_within(np.column_stack([log_units, log_price]), unit, time)
    y, x = w[:, 0], w[:, 1]
    sxx = float(x @ x)
    beta = float(x @ y) / sxx
    resid = y - beta * x
    n_time = int(time.max()) + 1
    n_clusters = int(cluster.max()) + 1
    k = 1 + (n_time - 1)
    var = float(crv1(x[:, None], resid, cluster, k=k, bread=np.array([[1.0 / sxx]]))[0, 0])
    return {"beta": beta, "se": float(np.sqrt(var)), "df": n_clusters - 1, "resid": resid, "n_clusters": n_clusters,
            "x_within": x}


def loglog_elasticity_batch(log_units: np.ndarray, log_price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same estimator on balanced panels ``(R, N, T)``: elasticity and CRV1 SE per replication."""
    def within(a: np.ndarray) -> np.ndarray:
        return a - a.mean(axis=2, keepdims=True) - a.mean(axis=1, keepdims=True) + a.mean(axis=(1, 2), keepdims=True)

    y, x = within(log_units), within(log_price)
    sxx = (x * x).sum(axis=(1, 2))
    beta = (x * y).sum(axis=(1, 2)) / sxx
    resid = y - beta[:, None, None] * x
    scores = (x * resid).sum(axis=2)  # (R, N): one score per product cluster
    _, n, t = x.shape
    c = ssc_factor(n * t, 1 + (t - 1), n)
    se = np.sqrt(c * (scores * scores).sum(axis=1)) / sxx
    return beta, se


def profit_curve(rel_prices: np.ndarray, beta: np.ndarray | float, base_units: np.ndarray, ref_price: np.ndarray,
                 unit_cost: np.ndarray) -> dict[str, np.ndarray]:
    """Units, revenue and profit summed over products at each relative price (1 = reference).

    ``beta`` may be a vector (one curve per value): outputs are then ``(len(beta), len(grid))``.
    """
    r = np.asarray(rel_prices, dtype=float)[None, :]
    b = np.atleast_1d(np.asarray(beta, dtype=float))[:, None]
    scale = r ** b  # (B, G)
    units = base_units.sum() * scale
    revenue = (base_units * ref_price).sum() * r * scale
    cost = (base_units * unit_cost).sum() * scale
    return {"units": units, "revenue": revenue, "profit": revenue - cost}


def best_relative_price(beta: np.ndarray | float, lo: float, hi: float, base_units: np.ndarray,
                        ref_price: np.ndarray, unit_cost: np.ndarray, n_grid: int = 4001) -> np.ndarray:
    """The profit-maximising relative price within ``[lo, hi]`` for each ``beta`` (grid search)."""
    grid = np.linspace(lo, hi, n_grid)
    prof = profit_curve(grid, beta, base_units, ref_price, unit_cost)["profit"]
    return grid[np.argmax(prof, axis=1)]
