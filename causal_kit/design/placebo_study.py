"""Placebo studies: how often a readout rejects a true null, and how often it covers a known lift.

A placebo study (Arkhangelsky et al. 2021, section 5; Abadie 2021) takes a panel with no
treatment, pretends that randomly chosen units adopt at a randomly chosen time, optionally
multiplies their post-adoption outcomes by ``1 + effect`` (a known lift), and runs the readout
exactly as :func:`causal_kit.estimate` would, with the spec's default options. Over many
replications the share of intervals that exclude zero (``effect = 0``) is the false-positive
rate, and the share that covers the true lift the coverage; both come with their Monte Carlo
standard error (MCSE), ``sqrt(p (1 - p) / n)``.

Functions
---------
placebo_study(data, spec, ...)
    Per-replication estimates, intervals, truth, rejection and coverage.
summarise_placebo_study(frame, alpha)
    Rate, MCSE and 95% interval per method, as one table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._parallel import map_tasks, spawn_seeds
from ..errors import DataError, IdentificationError, SpecError

__all__ = ["placebo_study", "summarise_placebo_study"]

#: methods a placebo study runs by default (the three geo readouts)
GEO_METHODS: tuple[str, ...] = ("sdid", "synthetic_control", "did")


def _long_to_wide(df: pd.DataFrame, spec: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    for role in ("unit", "time", "outcome"):
        col = getattr(spec, role)
        if col is None or col not in df.columns:
            raise SpecError(f"a placebo study needs spec.{role} naming a column of the data; got {col!r}.")
    wide = df.pivot(index=spec.unit, columns=spec.time, values=spec.outcome).sort_index().sort_index(axis=1)
    if wide.isna().any().any():
        raise DataError(
            f"the panel is unbalanced: {int(wide.isna().sum().sum())} unit-period cells of "
            f"{spec.outcome!r} are missing; a placebo study needs a balanced panel. Fill or drop them."
        )
    keep = np.ones(len(wide), dtype=bool)
    if spec.treatment is not None and spec.treatment in df.columns:
        ever = df.groupby(spec.unit)[spec.treatment].max().reindex(wide.index).fillna(0).to_numpy() > 0
        keep = ~ever  # really treated units never enter a placebo study
    return wide.index.to_numpy()[keep], wide.columns.to_numpy(), wide.to_numpy(dtype=float)[keep], keep


def _one(Y: np.ndarray, units: np.ndarray, times: np.ndarray, spec: Any, methods: Sequence[str],
         n_treated: int, effect: float, log_scale: bool, min_pre: int, min_post: int,
         seed: int) -> list[dict[str, Any]]:
    import causal_kit as ck

    rng = np.random.default_rng(seed)
    N, T = Y.shape
    g = int(rng.integers(min_pre, T - min_post + 1))
    chosen = rng.choice(N, size=n_treated, replace=False)
    Yr = Y.copy()
    y0_post = Yr[chosen, g:]
    if log_scale:
        truth = float(np.log1p(effect))
        Yr[chosen, g:] = y0_post + truth
    else:
        truth = float(effect * y0_post.mean())
        Yr[chosen, g:] = y0_post * (1.0 + effect)
    treated = np.zeros((N, T), dtype=int)
    treated[chosen, g:] = 1
    frame = pd.DataFrame({"unit": np.repeat(units, T), "time": np.tile(times, N), "y": Yr.ravel(),
                          "d": treated.ravel()})
    rows = []
    for m in methods:
        s = ck.ExperimentSpec(name="placebo", design=m, outcome="y", treatment="d", unit="unit",
                              time="time", seed=seed, alpha=spec.alpha)
        res = ck.estimate(frame, s)
        lo, hi = res.ci
        rows.append({"method": m, "seed": seed, "adoption": times[g], "estimate": res.estimate, "se": res.se,
                     "ci_low": lo, "ci_high": hi, "p_value": res.p_value, "truth": truth,
                     "reject": bool(not (lo <= 0.0 <= hi)), "cover": bool(lo <= truth <= hi),
                     "inference": res.inference})
    return rows


def placebo_study(
    data: pd.DataFrame | Callable[[int], pd.DataFrame],
    spec: Any,
    *,
    n_treated: int = 1,
    n_reps: int = 500,
    effect: float = 0.0,
    log_scale: bool = False,
    methods: Sequence[str] = GEO_METHODS,
    min_pre: int | None = None,
    min_post: int | None = None,
    seed: int = 0,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Run a placebo study: random placebo-treated units and adoption times, known truth.

    Parameters
    ----------
    data : DataFrame, or callable ``seed -> DataFrame``
        A long panel (``spec.unit``, ``spec.time``, ``spec.outcome``); units ever treated
        (``spec.treatment`` > 0) are dropped first. A callable draws a fresh panel per
        replication (e.g. ``lambda s: simulate_geo_panel(n_geos=40, n_days=119, seed=s)``).
    spec : ExperimentSpec
        Roles and alpha; the design is replaced by each of ``methods``.
    n_treated : int
        Placebo-treated units per replication.
    n_reps : int
        Replications, each with its own seed spawned from ``seed`` (``numpy.random.SeedSequence``).
    effect : float
        True multiplicative lift on the placebo-treated units' post-adoption outcomes; the
        truth is ``effect`` times their untreated post mean (``log(1 + effect)`` with
        ``log_scale``, where the lift is added to the log outcome).
    log_scale : bool
        The outcome is already a log; add ``log(1 + effect)`` instead of multiplying.
    methods : sequence of str
        Designs to read out with their default options (``sdid``, ``synthetic_control``, ``did``).
    min_pre, min_post : int, optional
        The adoption period is drawn uniformly so that at least ``min_pre`` pre-periods and
        ``min_post`` post-periods remain (defaults: a third of the periods, and 5).
    seed : int
        Base seed.
    n_jobs : int
        Local workers over replications, or the active Dask cluster (results do not depend on it).

    Returns
    -------
    DataFrame
        One row per replication and method: ``estimate``, ``se``, ``ci_low``, ``ci_high``,
        ``p_value``, ``truth``, ``reject`` (0 outside the interval), ``cover``, ``inference``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.design.placebo_study import placebo_study, summarise_placebo_study
    >>> spec = ck.ExperimentSpec(name="p", design="did", outcome="PacksPerCapita", unit="State",
    ...                          time="Year", treatment="treated")
    >>> out = placebo_study(ck.datasets.load("california_prop99"), spec, n_reps=4, methods=["did"])
    >>> summarise_placebo_study(out)["n_reps"].tolist()
    [4]
    """
    if isinstance(n_treated, bool) or not isinstance(n_treated, (int, np.integer)) or n_treated < 1:
        raise SpecError(f"The 'n_treated' parameter of placebo_study must be an int >= 1. Got {n_treated!r} instead.")
    if isinstance(n_reps, bool) or not isinstance(n_reps, (int, np.integer)) or n_reps < 1:
        raise SpecError(f"The 'n_reps' parameter of placebo_study must be an int >= 1. Got {n_reps!r} instead.")
    fresh = callable(data)
    first = data(seed) if fresh else data
    units, times, Y, _ = _long_to_wide(first, spec)
    N, T = Y.shape
    if N - n_treated < n_treated + 1:
        raise IdentificationError(
            f"a placebo study with n_treated={n_treated} placebo-treated units needs at least "
            f"{n_treated + 1} donors besides them, but the panel has {N} never-treated units in "
            f"{spec.unit!r} (spec.unit), leaving {N - n_treated} donor(s). Lower n_treated to at most "
            f"{max((N - 1) // 2, 0)} or add units."
        )
    lo = T // 3 if min_pre is None else int(min_pre)
    hi = 5 if min_post is None else int(min_post)
    if lo < 2 or hi < 1 or lo + hi > T:
        raise SpecError(f"min_pre={lo} and min_post={hi} do not fit the panel's {T} periods (need "
                        "min_pre >= 2, min_post >= 1 and min_pre + min_post <= the number of periods).")

    # independent per-replication seeds: studies with different base seeds share no replication
    rep_seeds = [int(s.generate_state(1)[0]) for s in spawn_seeds(seed, n_reps)]
    shared = {"data": data if fresh else None, "panel": None if fresh else (units, times, Y), "spec": spec,
              "methods": tuple(methods), "n_treated": int(n_treated), "effect": float(effect),
              "log_scale": log_scale, "lo": lo, "hi": hi}
    parts = map_tasks(_replication, rep_seeds, n_jobs=n_jobs, shared=shared)
    return pd.DataFrame([row for part in parts for row in part])


def _replication(seed: int, *, data: Callable[[int], pd.DataFrame] | None, panel: tuple[Any, Any, Any] | None,
                 spec: Any, methods: Sequence[str], n_treated: int, effect: float, log_scale: bool,
                 lo: int, hi: int) -> list[dict[str, Any]]:
    """One replication (a map_tasks task): a fresh panel from ``data(seed)`` or the shared one."""
    if data is not None:
        units, times, Y, _ = _long_to_wide(data(seed), spec)
    else:
        units, times, Y = panel  # type: ignore[misc]
    return _one(Y, units, times, spec, methods, n_treated, effect, log_scale, lo, hi, seed)


def summarise_placebo_study(frame: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Rejection rate, coverage, RMSE and their Monte Carlo SEs per method.

    ``reject_mcse`` and ``cover_mcse`` are ``sqrt(p (1 - p) / n)``; ``size_ok`` says whether
    the rejection rate lies within ``alpha +- 2 MCSE`` (MCSE at ``alpha``).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"method": ["did"] * 4, "reject": [0, 0, 0, 1], "cover": [1, 1, 1, 0],
    ...                   "estimate": [0.1, -0.1, 0.2, 3.0], "truth": [0.0] * 4})
    >>> summarise_placebo_study(f)["reject_rate"].item()
    0.25
    """
    rows = []
    for m, g in frame.groupby("method", sort=False):
        n = len(g)
        rej, cov = float(g["reject"].mean()), float(g["cover"].mean())
        err = g["estimate"].to_numpy() - g["truth"].to_numpy()
        mc_alpha = math.sqrt(alpha * (1 - alpha) / n)
        rows.append({
            "method": m, "n_reps": n, "reject_rate": rej, "reject_mcse": math.sqrt(rej * (1 - rej) / n),
            "cover_rate": cov, "cover_mcse": math.sqrt(cov * (1 - cov) / n),
            "rmse": float(np.sqrt(np.mean(err**2))), "bias": float(np.mean(err)),
            "size_ok": bool(abs(rej - alpha) <= 2 * mc_alpha),
        })
    return pd.DataFrame(rows)
