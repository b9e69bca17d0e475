"""Group-sequential geo tests: boundaries for planned looks, calibrated on the user's own history.

A geo test read out every week needs a boundary per look so that the chance of a false "win"
at *any* look stays at alpha. Two ways are offered and compared:

* **alpha spending** (Lan-DeMets O'Brien-Fleming or Pocock type,
  :mod:`causal_kit.inference.alpha_spending`) on the readout's z-statistic, with information
  taken proportional to the post periods seen. This assumes the z-statistics across looks
  behave like Brownian motion. Synthetic control and SDID z-statistics with placebo SEs, and
  DiD on serially correlated geo panels, need not: their actual family-wise error can be off,
  which is why it is measured here, not assumed.
* **simulation-calibrated boundary**: the readout estimator (with its own inference) is run at
  every look of many historical windows with no lift injected (A/A), and the boundary ``c *
  shape_k`` is the smallest that crosses in at most alpha of the windows (``shape`` constant,
  Pocock-like, or ``sqrt(t_K / t_k)``, O'Brien-Fleming-like). Its family-wise error is
  reported in-sample and by blocked cross-validation (the boundary fitted on the other blocks
  of windows, so the estimate is honest).

For each boundary and a grid of relative lifts, the power and the expected stopping time (in
periods) are reported beside the fixed-horizon test at the last look. The calibrated boundaries
(``boundaries["boundary_calibrated"]``) go into the readout spec as ``sequential: {method:
calibrated, looks: [end period of each look], boundaries: [...]}``
(:mod:`causal_kit.inference.sequential_panel`). Lifts follow by linearity
(the estimate shifts by ``lift * baseline`` and the SE is held at its A/A value), as in
:mod:`causal_kit.design.simulation`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._parallel import map_tasks
from ..errors import DataError, SpecError
from ..result import Diagnostic

__all__ = [
    "LookSimulation", "CalibratedBoundary", "SequentialDesign",
    "simulate_looks", "calibrate_boundary", "compare_boundaries", "plan_looks", "with_looks",
]

Shape = Literal["pocock", "obrien_fleming"]

#: Fewer A/A windows than this make the calibrated boundary a coarse quantile: the result says so.
MIN_CALIBRATION_WINDOWS = 200


@dataclass(frozen=True)
class LookSimulation:
    """Readout estimates at every look of every historical window (arrays ``(W, K)``).

    ``tau0`` and ``se`` are the A/A estimate and SE, ``baseline`` the treated geos' mean KPI per
    period over the post periods seen at that look, ``crit`` the readout's own critical value
    (CI half-width / SE) used for the fixed-horizon test.
    """

    estimator: str
    looks: np.ndarray
    starts: np.ndarray
    tau0: np.ndarray
    se: np.ndarray
    baseline: np.ndarray
    crit: np.ndarray
    pre_periods: int
    inference: str

    def z(self, effect: float = 0.0) -> np.ndarray:
        """z-statistics ``(W, K)`` with a relative lift ``effect`` injected."""
        return (self.tau0 + effect * self.baseline) / self.se


@dataclass(frozen=True)
class CalibratedBoundary:
    """A boundary ``c * shape`` chosen on A/A windows, with its family-wise error."""

    bounds: np.ndarray
    c: float
    shape: str
    fwer_in_sample: float
    fwer_cross_validated: float
    n_windows: int


@dataclass(frozen=True)
class SequentialDesign:
    """Boundaries and operating characteristics of a group-sequential geo test.

    ``boundaries``: one row per look (``look``, ``periods``, ``information_fraction`` and one
    boundary column per method). ``operating``: one row per method and lift (``method``,
    ``effect``, ``power``, ``power_se``, ``expected_stop``, ``expected_stop_share``);
    ``effect == 0`` is the A/A family-wise error. ``details``: calibration numbers and notes.
    """

    boundaries: pd.DataFrame
    operating: pd.DataFrame
    details: dict[str, Any] = field(default_factory=dict)


def _check_looks(looks: Sequence[int]) -> np.ndarray:
    arr = np.asarray(looks)
    if arr.ndim != 1 or arr.size < 1 or arr.dtype.kind not in "iu":
        raise SpecError(f"plan looks must be a list of whole numbers of post periods; got {list(looks)!r}.")
    if arr[0] < 1 or np.any(np.diff(arr) <= 0):
        raise SpecError(f"plan looks must be positive and strictly increasing; got {arr.tolist()}.")
    return arr.astype(int)


def simulate_looks(
    Y: np.ndarray,
    design: np.ndarray,
    *,
    looks: Sequence[int],
    pre_periods: int,
    estimator: str = "sdid",
    n_windows: int = 20,
    alpha: float = 0.05,
    inference: Literal["readout", "approximate"] = "readout",
    spec: Any = None,
    units: Sequence[Any] | None = None,
    times: Sequence[Any] | None = None,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> LookSimulation:
    """Run the readout at every look of every historical window, with no lift (A/A).

    Parameters
    ----------
    Y : (N, T) array
        Historical KPI, geos x periods.
    design : (N,) int array
        1 = treated, 0 = control, -1 = not used.
    looks : sequence of int
        Post periods seen at each look, e.g. ``[7, 14, 21, 28, 35, 42]``.
    pre_periods : int
        Pre-period length of each window.
    estimator : {"did", "synthetic_control", "sdid"} (readout) or also "time_regression" (approximate)
    n_windows : int
        Historical windows (evenly spaced; each holds ``pre_periods + looks[-1]`` periods).
    inference : {"readout", "approximate"}
        ``readout`` fits the registered estimator with its own inference (needs ``spec``,
        ``units`` and ``times``); ``approximate`` the fast closed-form t-tests of
        :func:`causal_kit.design.simulation.simulate_power`.
    n_jobs : int
        Local workers over the readout fits, or the active Dask cluster.

    Examples
    --------
    >>> import numpy as np
    >>> Y = 100 + np.random.default_rng(0).normal(0, 1, (12, 120))
    >>> sim = simulate_looks(Y, np.array([1] * 4 + [0] * 8), looks=[7, 14], pre_periods=28,
    ...                      estimator="did", n_windows=5, inference="approximate")
    >>> sim.tau0.shape
    (5, 2)
    """
    from .simulation import _run_chunk, window_starts

    L = _check_looks(looks)
    Y = np.asarray(Y, dtype=float)
    design = np.asarray(design)
    P = int(pre_periods)
    starts = window_starts(Y.shape[1], int(L[-1]), P, n_windows)
    W, K = len(starts), len(L)
    tau0, se, base, crit = (np.empty((W, K)) for _ in range(4))
    if inference == "approximate":
        from scipy import stats

        for k, lk in enumerate(L):
            out = _run_chunk(estimator, Y, design[None, :], starts, int(lk), P)
            tau0[:, k], base[:, k] = out["tau0"][0], out["baseline"][0]
            se[:, k] = np.sqrt(np.maximum(out["se2"][0][0], 1e-300))
            crit[:, k] = stats.t.isf(alpha / 2, out["df"][0])
        note = "approximate closed-form t-statistics (design.simulation)"
    elif inference == "readout":
        if spec is None or units is None or times is None:
            raise SpecError("simulate_looks(inference='readout') needs spec, units and times to run the readout.")
        tasks = [(j, k, int(s), int(lk)) for j, s in enumerate(starts) for k, lk in enumerate(L)]

        show = (len(tasks) >= 30 and sys.stderr.isatty()) if progress is None else bool(progress)
        results = map_tasks(_look_fit, [(s, lk) for _, _, s, lk in tasks], n_jobs=n_jobs,
                            progress=f"{estimator}: looks x windows" if show else None,
                            shared={"Y": Y, "design": design, "units": units, "times": times, "spec": spec,
                                    "estimator": estimator, "P": P})
        for (j, k, _, _), (t, s_, m, c) in zip(tasks, results):
            tau0[j, k], se[j, k], base[j, k], crit[j, k] = t, s_, m, c
        note = f"the readout estimator {estimator!r} with its own inference at every look"
    else:
        raise SpecError(f"The 'inference' parameter of simulate_looks must be one of 'readout', 'approximate'. "
                        f"Got {inference!r} instead.")
    if not np.all(np.isfinite(se) & (se > 0)):
        raise DataError(f"the {estimator} readout returned {int((~(se > 0)).sum())} non-positive or missing SEs "
                        "on historical windows; use a longer pre-period or more control geos.")
    return LookSimulation(estimator, L, starts, tau0, se, base, crit, P, note)


def _look_fit(task: tuple[int, int], *, Y: np.ndarray, design: np.ndarray, units: Any, times: Any, spec: Any,
              estimator: str, P: int) -> tuple[float, float, float, float]:
    """One (window start, look) readout fit: estimate, SE, treated mean and critical value."""
    from .simulation import readout_window_fit

    s, lk = task
    res = readout_window_fit(Y, design, units=units, times=times, spec=spec, estimator=estimator,
                             start=s, duration=lk, pre_periods=P)
    m = float(Y[design == 1, s : s + lk].mean())
    half = (res.ci[1] - res.ci[0]) / 2
    return float(res.estimate), float(res.se), m, float(half / res.se) if res.se > 0 else np.nan


def _shape(looks: np.ndarray, shape: Shape) -> np.ndarray:
    if shape == "pocock":
        return np.ones(looks.size)
    if shape == "obrien_fleming":
        return np.sqrt(looks[-1] / looks)
    raise SpecError(f"The 'shape' parameter must be one of 'pocock', 'obrien_fleming'. Got {shape!r} instead.")


def _fit_c(z: np.ndarray, shape: np.ndarray, alpha: float) -> float:
    """Smallest c with at most alpha of the windows crossing ``|z_k| >= c * shape_k`` at some look."""
    stat = np.sort((np.abs(z) / shape).max(axis=1))
    allowed = int(np.floor(alpha * stat.size))  # windows allowed to cross
    if allowed == 0:
        return float(stat[-1] * (1 + 1e-9))
    return float(np.nextafter(stat[-allowed - 1], np.inf)) if allowed < stat.size else 0.0


def calibrate_boundary(sim: LookSimulation, alpha: float = 0.05, *, shape: Shape = "pocock",
                       folds: int = 5) -> CalibratedBoundary:
    """Simulation-calibrated boundary from A/A windows, with its cross-validated family-wise error.

    Windows are split into ``folds`` contiguous blocks in time; the boundary fitted on the other
    blocks is applied to each block, which keeps the error estimate honest.

    Examples
    --------
    >>> import numpy as np
    >>> Y = 100 + np.random.default_rng(0).normal(0, 1, (12, 200))
    >>> sim = simulate_looks(Y, np.array([1] * 4 + [0] * 8), looks=[7, 14], pre_periods=28,
    ...                      estimator="did", n_windows=100, inference="approximate")
    >>> b = calibrate_boundary(sim)
    >>> b.fwer_in_sample <= 0.05
    True
    """
    z = sim.z(0.0)
    if z.shape[0] < 2:
        raise DataError(f"calibrating a boundary needs at least 2 historical windows (one to fit it on, one to "
                        f"check it out of sample); got {z.shape[0]}. Use a longer history, a shorter pre-period "
                        "or more n_windows.")
    s = _shape(sim.looks, shape)
    c = _fit_c(z, s, alpha)
    crossed = (np.abs(z) >= c * s).any(axis=1)
    blocks = np.array_split(np.arange(z.shape[0]), max(2, min(int(folds), z.shape[0])))
    out = np.zeros(z.shape[0], dtype=bool)
    for idx in blocks:
        rest = np.setdiff1d(np.arange(z.shape[0]), idx)
        c_f = _fit_c(z[rest], s, alpha)
        out[idx] = (np.abs(z[idx]) >= c_f * s).any(axis=1)
    return CalibratedBoundary(c * s, c, shape, float(crossed.mean()), float(out.mean()), int(z.shape[0]))


def _operating(z_fn: Any, bounds: np.ndarray, looks: np.ndarray, effects: Sequence[float]) -> list[dict[str, Any]]:
    rows = []
    for e in effects:
        z = np.abs(z_fn(e))
        crossed = z >= bounds
        any_cross = crossed.any(axis=1)
        first = np.where(any_cross, crossed.argmax(axis=1), looks.size - 1)
        stop = looks[first].astype(float)
        power = float(any_cross.mean())
        rows.append({"effect": float(e), "power": power,
                     "power_se": float(np.sqrt(power * (1 - power) / z.shape[0])),
                     "expected_stop": float(stop.mean()), "expected_stop_share": float(stop.mean() / looks[-1])})
    return rows


def compare_boundaries(sim: LookSimulation, alpha: float = 0.05, *,
                       effects: Sequence[float] = (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1),
                       shape: Shape = "pocock", folds: int = 5) -> SequentialDesign:
    """Alpha spending vs the simulation-calibrated boundary vs the fixed horizon, on one simulation.

    Examples
    --------
    >>> import numpy as np
    >>> Y = 100 + np.random.default_rng(0).normal(0, 1, (12, 200))
    >>> sim = simulate_looks(Y, np.array([1] * 4 + [0] * 8), looks=[7, 14, 21], pre_periods=28,
    ...                      estimator="did", n_windows=100, inference="approximate")
    >>> out = compare_boundaries(sim, effects=[0.0, 0.01])
    >>> sorted(out.operating["method"].unique())
    ['calibrated', 'fixed_horizon', 'obrien_fleming', 'pocock']
    """
    from ..inference.alpha_spending import spending_boundaries

    L = sim.looks
    t = L / L[-1]
    bounds = {"obrien_fleming": spending_boundaries(t, alpha, "obrien_fleming"),
              "pocock": spending_boundaries(t, alpha, "pocock")}
    cal = calibrate_boundary(sim, alpha, shape=shape, folds=folds)
    bounds["calibrated"] = cal.bounds
    rows = []
    for name, b in bounds.items():
        rows += [{"method": name, **r} for r in _operating(sim.z, b[None, :], L, effects)]
    # fixed horizon: the readout's own test at the last look only
    for r in _operating(lambda e: sim.z(e)[:, -1:], sim.crit[:, -1:], L[-1:], effects):
        rows.append({"method": "fixed_horizon", **r})
    boundaries = pd.DataFrame({"look": np.arange(1, L.size + 1), "periods": L, "information_fraction": t,
                               **{f"boundary_{k}": v for k, v in bounds.items()}})
    n = sim.tau0.shape[0]
    few = n < MIN_CALIBRATION_WINDOWS
    details = {
        "estimator": sim.estimator, "inference": sim.inference, "n_windows": n, "looks": L.tolist(),
        "pre_periods": sim.pre_periods, "alpha": alpha, "calibrated_c": cal.c, "calibrated_shape": shape,
        "calibrated_fwer_in_sample": cal.fwer_in_sample, "calibrated_fwer_cross_validated": cal.fwer_cross_validated,
        "fwer_mcse": float(np.sqrt(alpha * (1 - alpha) / n)),
        "calibration_warning": (
            f"only {n} historical windows: the calibrated boundary is the {1 - alpha:.0%} quantile of {n} values and "
            f"its family-wise error is uncertain; use at least {MIN_CALIBRATION_WINDOWS} windows (a longer history, "
            "or inference 'approximate' which is cheap enough for many windows)." if few else None),
        "note": ("alpha spending assumes Brownian z-statistics across looks (information proportional to post "
                 "periods); placebo-based SC/SDID and serially correlated panels can break that, so its "
                 "family-wise error is the effect == 0 row, measured on history, not assumed. Windows overlap, "
                 "so the Monte Carlo SE understates the uncertainty."),
    }
    return SequentialDesign(boundaries, pd.DataFrame(rows), details)


def plan_looks(history: Any, spec: Any, *, treated: Sequence[Any], looks: Sequence[int] | None = None,
               look_every: int | None = None, n_looks: int | None = None, pre_periods: int | None = None,
               estimator: str | None = None, n_windows: int = 20,
               inference: Literal["readout", "approximate"] = "readout", shape: Shape = "pocock",
               effects: Sequence[float] = (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1), n_jobs: int = 1,
               progress: bool | None = None) -> SequentialDesign:
    """Plan the looks of a geo test on history: boundaries, power and expected stopping time.

    Parameters
    ----------
    history : DataFrame
        One row per geo (``spec.unit``) and period (``spec.time``) with the KPI (``spec.outcome``).
    spec : ExperimentSpec
        The readout spec (design did, synthetic_control or sdid; its options and seed are used).
    treated : sequence
        The treated geos (e.g. ``design.treated_units`` of :func:`causal_kit.design.plan`).
    looks, look_every, n_looks : int
        Post periods at each look, or a look every ``look_every`` periods, ``n_looks`` times.
    pre_periods : int, optional
        Pre-period of each window (default ``max(28, 2 * last look)``, within the history).
    estimator : str, optional
        Readout estimator; defaults from ``spec.design``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.datasets import simulate_geo_panel
    >>> history = simulate_geo_panel(n_geos=20, n_days=200, seed=1)
    >>> spec = ck.ExperimentSpec(name="g", design="did", outcome="kpi", unit="geo", time="date",
    ...                          treatment="treated")
    >>> geos = sorted(history["geo"].unique())
    >>> out = plan_looks(history, spec, treated=geos[:5], look_every=7, n_looks=3, n_windows=30,
    ...                  inference="approximate")
    >>> out.boundaries["periods"].tolist()
    [7, 14, 21]
    """
    from .._data import to_pandas

    if looks is None:
        if look_every is None or n_looks is None:
            raise SpecError("plan_looks needs 'looks', or 'look_every' with 'n_looks'.")
        looks = [int(look_every) * (k + 1) for k in range(int(n_looks))]
    L = _check_looks(looks)
    est = estimator or {"did": "did", "synthetic_control": "synthetic_control", "sdid": "sdid"}.get(spec.design)
    if est is None:
        raise SpecError(f"plan_looks plans did, synthetic_control or sdid readouts; spec.design is {spec.design!r}.")
    for role in ("unit", "time", "outcome"):
        if getattr(spec, role) is None:
            raise SpecError(f"plan_looks needs spec.{role}: the {role} column of the history.")
    df = to_pandas(history)
    missing = [c for c in (spec.unit, spec.time, spec.outcome) if c not in df.columns]
    if missing:
        raise DataError(f"column(s) {missing} of the spec are not in the history.")
    wide = df.pivot(index=spec.unit, columns=spec.time, values=spec.outcome).sort_index().sort_index(axis=1)
    if wide.isna().any().any():
        raise DataError(f"the history is unbalanced: {int(wide.isna().sum().sum())} geo-period cells are missing.")
    units, times, Y = wide.index.to_numpy(), wide.columns.to_numpy(), wide.to_numpy(dtype=float)
    unknown = [g for g in treated if g not in set(units)]
    if unknown:
        raise DataError(f"treated geo(s) {unknown[:5]} are not in the history's {spec.unit!r} column.")
    design = np.where(np.isin(units, list(treated)), 1, 0)
    P = int(pre_periods) if pre_periods is not None else min(max(28, 2 * int(L[-1])), Y.shape[1] - int(L[-1]))
    sim = simulate_looks(Y, design, looks=L, pre_periods=P, estimator=est, n_windows=n_windows, alpha=spec.alpha,
                         inference=inference, spec=spec, units=units, times=times, n_jobs=n_jobs, progress=progress)
    return compare_boundaries(sim, spec.alpha, effects=effects, shape=shape)


def with_looks(design: Any, history: Any, cfg: Any) -> Any:
    """Add group-sequential looks to a planned geo design (called by ``design.plan`` for ``plan.looks``).

    The looks are ``plan.looks``, or one every ``plan.look_every`` periods up to the recommended
    duration (which is always the last look). Adds ``tables["sequential_boundaries"]``,
    ``tables["sequential_operating"]`` and ``details["sequential"]``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.datasets import simulate_geo_panel
    >>> history = simulate_geo_panel(n_geos=20, n_days=200, seed=3)
    >>> spec = ck.ExperimentSpec(name="geo", design="did", outcome="kpi", unit="geo", time="date",
    ...     treatment="treated", plan={"n_treated": 6, "duration": 21, "n_candidates": 1, "n_windows": 6,
    ...     "candidate_estimators": ["did"], "look_every": 7, "inference": "approximate"})
    >>> ck.design.plan(history, spec).tables["sequential_boundaries"]["periods"].tolist()
    [7, 14, 21]
    """
    from dataclasses import replace

    duration = int(design.recommended_duration)
    if cfg.looks:
        looks = [int(v) for v in cfg.looks]
    else:
        looks = list(range(int(cfg.look_every), duration + 1, int(cfg.look_every)))
        if not looks or looks[-1] != duration:
            looks.append(duration)
    readout_ok = design.method in ("did", "synthetic_control", "sdid") and cfg.inference == "readout"
    out = plan_looks(history, design.spec, treated=design.treated_units, looks=looks,
                     pre_periods=int(design.details["pre_periods"]), estimator=design.method,
                     n_windows=cfg.n_windows, inference="readout" if readout_ok else "approximate",
                     effects=cfg.effect_grid, n_jobs=cfg.n_jobs, progress=False)
    tables = {**design.tables, "sequential_boundaries": out.boundaries, "sequential_operating": out.operating}
    d = out.details
    if d["calibration_warning"]:
        diag = Diagnostic("sequential_calibration", "warn", d["calibration_warning"][0].upper()
                          + d["calibration_warning"][1:], assumption="inference")
    else:
        diag = Diagnostic("sequential_calibration", "pass",
                          f"The calibrated boundary held a family-wise error of {d['calibrated_fwer_cross_validated']:.3f} "
                          f"out of sample over {d['n_windows']} historical windows (alpha {d['alpha']}).",
                          statistic=d["calibrated_fwer_cross_validated"], threshold=d["alpha"], assumption="inference")
    return replace(design, tables=tables, details={**design.details, "sequential": d},
                   diagnostics=(*design.diagnostics, diag))
