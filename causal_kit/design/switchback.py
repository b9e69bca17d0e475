"""Switchback design: the schedule and power by simulation on history.

:func:`switchback_schedule` draws the policy of every randomisation block in every period.
:func:`plan_switchback` replays thousands of schedules over a history panel (units x time
steps, no treatment yet), adds a known lift to the treated non-burn-in steps and reads the
test out exactly as the readout will (difference in means without burn-in, period-cluster
SEs, ``t(K - 1)``), giving the power curve, the MDE at the target power for several test
lengths and the A/A false-positive rate. Adding a constant lift moves every replayed
estimate by exactly that lift and leaves its SE unchanged, so one set of null replays gives
the whole power curve: 100 units x 365 days x 1,000 schedules take well under a second.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ..inference.switchback import burn_in_mask, dim_draws, draw_schedules, period_sums
from ..result import Diagnostic, make_lineage
from .result import DesignResult

__all__ = ["switchback_schedule", "plan_switchback", "switchback_power_benchmark"]

DEFAULT_LIFTS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1)


def switchback_schedule(blocks: Any, n_periods: int, period_length: int, *, p: float = 0.5,
                        seed: int = 0) -> pd.DataFrame:
    """The policy of each block in each period: ``block``, ``period`` (1-based), ``first_step``, ``treated``.

    Examples
    --------
    >>> s = switchback_schedule(["north", "south"], 4, 6, seed=1)
    >>> s.shape, sorted(s["treated"].unique().tolist())
    ((8, 4), [0, 1])
    """
    blocks = np.asarray(blocks)
    W = draw_schedules(1, np.arange(len(blocks)), int(n_periods), float(p), int(seed))[0]
    return pd.DataFrame({
        "block": np.repeat(blocks, n_periods), "period": np.tile(np.arange(1, n_periods + 1), len(blocks)),
        "first_step": np.tile(np.arange(n_periods) * period_length, len(blocks)),
        "treated": W.astype(int).ravel(),
    })


def _history_panel(history: Any, spec: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from .._data import to_pandas

    frame = to_pandas(history)
    need = {"spec.outcome": spec.outcome, "spec.unit": spec.unit, "spec.time": spec.time}
    if spec.switchback.block is not None:
        need["spec.switchback.block"] = spec.switchback.block
    missing = {k: v for k, v in need.items() if v not in frame.columns}
    if missing:
        role, col = next(iter(missing.items()))
        raise DataError(f"column {col!r} ({role}) is not in the history; it has {list(frame.columns)[:10]}.")
    y = pd.to_numeric(frame[spec.outcome], errors="coerce")
    if y.isna().any():
        raise DataError(f"column {spec.outcome!r} (spec.outcome) has {int(y.isna().sum())} missing or non-numeric "
                        "values in the history; fill or drop them.")
    if frame.duplicated([spec.unit, spec.time]).any():
        raise DataError(f"the history repeats {int(frame.duplicated([spec.unit, spec.time]).sum())} "
                        f"({spec.unit!r}, {spec.time!r}) rows; aggregate to one row per unit and step.")
    wide = frame.assign(_y=y).pivot(index=spec.unit, columns=spec.time, values="_y").sort_index().sort_index(axis=1)
    if wide.isna().to_numpy().any():
        raise DataError(f"the history is unbalanced: {int(wide.isna().to_numpy().sum())} (unit, step) cells are "
                        "missing; switchback power needs every unit at every step.")
    if spec.switchback.block is not None:
        labels = frame.groupby(spec.unit)[spec.switchback.block].first().reindex(wide.index).to_numpy()
    else:
        labels = wide.index.to_numpy()
    blocks, block_of_unit = np.unique(labels.astype(str), return_inverse=True)
    return wide.to_numpy(dtype=float), block_of_unit, blocks, wide.index.to_numpy()


def _mde(lifts: np.ndarray, power: np.ndarray, target: float) -> float:
    above = np.flatnonzero(power >= target)
    if len(above) == 0:
        return float("nan")
    j = int(above[0])
    if j == 0:
        return float(lifts[0])
    x0, x1, p0, p1 = lifts[j - 1], lifts[j], power[j - 1], power[j]
    return float(x0 + (target - p0) * (x1 - x0) / max(p1 - p0, 1e-12))


def plan_switchback(history: Any, spec: Any, *, lifts: tuple[float, ...] = DEFAULT_LIFTS, n_draws: int = 1000,
                    target_power: float = 0.8, seed: int | None = None) -> DesignResult:
    """Plan a switchback test on a history panel: schedule, power curve, MDE and A/A rate.

    Parameters
    ----------
    history : DataFrame
        One row per unit and time step with ``spec.outcome`` (no treatment yet).
    spec : ExperimentSpec
        Design ``switchback`` with ``spec.switchback`` (period length, carryover, blocks, p,
        and ``n_periods``: the planned test length; default every whole period of the history).
    lifts : tuple of float
        Relative lifts (of the mean outcome) at which power is simulated.
    n_draws : int
        Simulated schedules (default 1,000).
    target_power : float
        Power at which the MDE is read.
    seed : int, optional
        Defaults to ``spec.seed``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> hist = ck.datasets.load("switchback_sim").drop(columns=["policy", "in_force"])
    >>> spec = ck.ExperimentSpec(name="sb", design="switchback", outcome="orders", unit="city", time="hour",
    ...     treatment="policy", switchback={"period_length": 6, "carryover": 1})
    >>> d = plan_switchback(hist, spec, n_draws=200)
    >>> d.recommended_duration, 0 < d.mde < 0.2
    (40, True)
    """
    from scipy import stats

    cfg = spec.switchback
    if spec.design != "switchback" or cfg is None:
        raise SpecError("plan_switchback needs design 'switchback' with a spec.switchback block.")
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 100:
        raise SpecError(f"The 'n_draws' parameter of plan_switchback must be an int >= 100. Got {n_draws!r} instead.")
    if not 0 < target_power < 1:
        raise SpecError(f"The 'target_power' parameter of plan_switchback must be in (0, 1). Got {target_power!r}.")
    seed = spec.seed if seed is None else int(seed)
    Y, block_of_unit, blocks, units = _history_panel(history, spec)
    L, m = cfg.period_length, cfg.carryover
    n, t = Y.shape
    k_avail = t // L
    k_plan = cfg.n_periods or k_avail
    if k_plan > k_avail or k_plan < 2:
        raise DataError(f"the history holds {k_avail} whole periods of {L} steps; the planned test needs "
                        f"{k_plan} (spec.switchback.n_periods). Shorten the test or give more history.")
    baseline = float(Y.mean())
    if not baseline or not np.isfinite(baseline):
        raise DataError(f"the mean of {spec.outcome!r} over the history is {baseline}; relative lifts need a "
                        "non-zero baseline.")
    lifts_arr = np.asarray(sorted(set((0.0, *lifts))), dtype=float)
    durations = sorted({d for d in (k_plan // 4, k_plan // 2, k_plan) if d >= 4} | {k_plan})
    curve, table = [], []
    for dur in durations:
        Yd = Y[:, t - dur * L:] if t >= dur * L else Y
        S, C = period_sums(Yd, burn_in_mask(dur * L, L, m), L)
        draws = draw_schedules(n_draws, block_of_unit, dur, cfg.p, seed + dur)
        est0, se = dim_draws(S, C, draws)
        ok = np.isfinite(est0) & (se > 0)
        crit = float(stats.t.ppf(1 - spec.alpha / 2, dur - 1))
        power = np.array([np.mean(np.abs(est0[ok] + lift * baseline) > crit * se[ok]) for lift in lifts_arr])
        for lift, pw in zip(lifts_arr, power):
            curve.append({"estimator": "switchback", "cell": "treatment", "duration": dur, "effect": float(lift),
                          "power": float(pw), "power_se": float(np.sqrt(pw * (1 - pw) / ok.sum())),
                          "bias": float(est0[ok].mean() / baseline), "coverage": float(1 - power[0])})
        mde = _mde(lifts_arr, power, target_power)
        table.append({"duration": dur, "mde": mde, "mde_absolute": mde * baseline,
                      "se_median": float(np.median(se[ok])), "type1_error": float(power[0])})
    power_curve, duration_table = pd.DataFrame(curve), pd.DataFrame(table)
    final = duration_table.iloc[-1]
    schedule = switchback_schedule(blocks, k_plan, L, p=cfg.p, seed=seed)
    kpi = pd.Series(Y.mean(axis=1), index=np.arange(n))
    assignment = pd.DataFrame({"unit": units, "cell": "switchback", "block": blocks[block_of_unit],
                               "kpi": kpi.to_numpy(), "kpi_share": (kpi / kpi.sum()).to_numpy(), "cost": np.nan})
    type1 = float(final["type1_error"])
    mcse = np.sqrt(spec.alpha * (1 - spec.alpha) / n_draws)
    diags = [
        Diagnostic("aa_false_positives", "pass" if abs(type1 - spec.alpha) <= 3 * mcse + 0.01 else "warn",
                   f"Replayed on history with no change, the readout flags {type1:.1%} of {n_draws} schedules "
                   f"(alpha {spec.alpha:g}).", statistic=type1, threshold=spec.alpha, assumption="inference"),
        Diagnostic("mde_reached", "pass" if np.isfinite(final["mde"]) else "warn",
                   f"At {target_power:.0%} power the test detects a {final['mde']:.2%} lift over {k_plan} periods."
                   if np.isfinite(final["mde"]) else
                   f"No simulated lift up to {lifts_arr[-1]:.0%} reaches {target_power:.0%} power; lengthen the test "
                   "or shorten the periods.", statistic=float(final["mde"]), assumption="other"),
        Diagnostic("burn_in_share", "pass" if m / L <= 0.25 else "warn",
                   f"Burn-in drops {m} of every {L} steps ({m / L:.0%} of the data)"
                   + ("." if m / L <= 0.25 else "; longer periods would waste less data."),
                   statistic=m / L, threshold=0.25, assumption="other"),
    ]
    ranking = pd.DataFrame([{"estimator": "switchback", "bias": float(power_curve["bias"].iloc[-1]),
                             "rmse": float(final["se_median"] / baseline), "coverage": 1 - type1,
                             "type1_error": type1, "mde": float(final["mde"]), "calibrated": False,
                             "n_simulations": n_draws, "inference": "approximate", "recommended": True}])
    from .._data import fingerprint

    return DesignResult(
        method="switchback", spec=spec, spec_hash=spec.spec_hash, assignment=assignment, power_curve=power_curve,
        duration_table=duration_table, estimator_ranking=ranking, mde=float(final["mde"]),
        mde_absolute=float(final["mde_absolute"]), target_power=target_power, alpha=spec.alpha,
        recommended_duration=int(k_plan), type1_error=type1, outcome=spec.outcome or "",
        diagnostics=tuple(diags), tables={"schedule": schedule},
        lineage=make_lineage(spec, fingerprint(pd.DataFrame(Y)), seed),
        details={"design": "switchback", "period_length": L, "carryover": m, "n_periods": int(k_plan),
                 "n_blocks": len(blocks), "p": cfg.p, "n_draws": n_draws, "baseline": baseline},
    )


def switchback_power_benchmark(n_units: int = 100, n_days: int = 365, n_draws: int = 1000) -> DesignResult:
    """The timed case of ``benchmarks/bench_interference.py``: daily history, weekly periods."""
    from ..spec import ExperimentSpec

    rng = np.random.default_rng(0)
    y = rng.normal(100, 10, (n_units, 1)) + rng.normal(0, 5, (n_units, n_days))
    hist = pd.DataFrame({"store": np.repeat(np.arange(n_units), n_days), "day": np.tile(np.arange(n_days), n_units),
                         "sales": y.ravel()})
    spec = ExperimentSpec(name="bench", design="switchback", outcome="sales", unit="store", time="day",
                          treatment="policy", switchback={"period_length": 7, "carryover": 1})
    return plan_switchback(hist[hist["day"] < (n_days // 7) * 7], spec, n_draws=n_draws)
