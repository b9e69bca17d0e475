"""IV benchmark: 2SLS with its full diagnostics on 1M rows and 5 controls.

Ours: ``causal_kit`` IV (engine "auto", which is numpy above 50,000 rows) with first-stage
F, Kleibergen-Paap, effective F, partial R², Wu-Hausman / Durbin, robust endogeneity test,
the Anderson-Rubin set and the binned-scatter tables. Peers in the same process:
linearmodels ``IV2SLS`` with ``first_stage.diagnostics``, ``wu_hausman`` and ``durbin``, and a
plain numpy 2SLS with HC0 SEs and nothing else (the floor). Goal: within 3x the floor.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks._harness import best_time, peer_available, row


def _data(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, 5))
    z = rng.normal(size=n) + 0.2 * w[:, 0]
    u = rng.normal(size=n)
    d = 0.5 * z + w @ np.full(5, 0.2) + u + rng.normal(size=n)
    y = 1.0 + 0.7 * d + w @ np.linspace(0.1, 0.5, 5) + u + rng.normal(size=n)
    df = pd.DataFrame(w, columns=[f"w{i}" for i in range(5)])
    return df.assign(y=y, d=d, z=z)


def _numpy_2sls(df: pd.DataFrame) -> tuple[float, float]:
    n = len(df)
    X = np.column_stack([df["d"].to_numpy(), np.ones(n), df[[f"w{i}" for i in range(5)]].to_numpy()])
    Z = np.column_stack([df["z"].to_numpy(), X[:, 1:]])
    y = df["y"].to_numpy()
    xhat = Z @ np.linalg.solve(Z.T @ Z, Z.T @ X)
    bread = np.linalg.inv(xhat.T @ X)
    beta = bread @ (xhat.T @ y)
    e = y - X @ beta
    s = xhat * e[:, None]
    cov = bread @ (s.T @ s) @ bread.T
    return float(beta[0]), float(np.sqrt(cov[0, 0]))


def run(quick: bool = False) -> list[dict]:
    import causal_kit as ck

    n = 100_000 if quick else 1_000_000
    df = _data(n)
    spec = ck.ExperimentSpec(name="bench-iv", design="iv", outcome="y", endogenous=["d"],
                             instruments=["z"], covariates=[f"w{i}" for i in range(5)])
    case = f"IV 2SLS + full diagnostics, n={n:,}, 5 controls"
    repeat = 1 if not quick else 2
    ours_s, res = best_time(lambda: ck.estimate(df, spec, vcov="robust"), repeat=repeat)
    rows = []
    floor_s, (b_np, se_np) = best_time(lambda: _numpy_2sls(df), repeat=repeat)
    match = bool(np.isclose(res.estimate, b_np, rtol=1e-8) and np.isclose(res.se, se_np, rtol=1e-6))
    rows.append(row(case, ours_s, "numpy 2SLS + HC0 (floor)", floor_s, "<= 3x", match,
                    note=f"engine={res.details['engine']}"))
    if not peer_available("linearmodels"):
        rows.append(row(case, ours_s, "linearmodels", None, "faster", None, note="linearmodels not installed"))
        return rows

    def peer():
        from linearmodels.iv import IV2SLS

        exog = df[[f"w{i}" for i in range(5)]].assign(const=1.0)
        fit = IV2SLS(df["y"], exog, df[["d"]], df[["z"]]).fit(cov_type="robust")
        diag = fit.first_stage.diagnostics
        return fit, diag, fit.wu_hausman(), fit.durbin()

    peer_s, (fit, diag, wu, durbin) = best_time(peer, repeat=1)
    match = bool(
        np.isclose(res.estimate, fit.params["d"], rtol=1e-8)
        and np.isclose(res.se, fit.std_errors["d"], rtol=1e-6)
        and np.isclose(res.details["wu_hausman"], wu.stat, rtol=1e-6)
        and np.isclose(res.details["durbin"], durbin.stat, rtol=1e-6)
        and np.isclose(res.details["partial_r2"], float(diag["partial.rsquared"].iloc[0]), rtol=1e-6)
    )
    rows.append(row(case, ours_s, "linearmodels IV2SLS + diagnostics", peer_s, "faster", match))
    return rows
