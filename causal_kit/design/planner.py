"""Plan a geo experiment end to end: :func:`plan` (assignment + simulation power + ranking)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from .._data import check_time_column, check_values, fingerprint, rows_preview, to_pandas, unify_ids
from .._parallel import execution_from_spec
from ..errors import DataError, SpecError
from ..result import Diagnostic, make_lineage
from ..spec import ExperimentSpec, PlanConfig
from .assignment import (
    Constraints,
    cell_names,
    matched_pairs_assignment,
    search_markets,
    stratified_assignment,
)
from .result import DesignResult
from .simulation import (
    READOUT_ESTIMATORS,
    READOUT_ONLY,
    READOUT_PLACEBO_REPS,
    SIM_ESTIMATORS,
    ReadoutSimOutput,
    SimOutput,
    mde_from_sim,
    simulate_power,
    simulate_readout,
)

__all__ = ["plan"]

_DEFAULT_ESTIMATOR = {"synthetic_control": "synthetic_control", "sdid": "sdid", "its": "bsts"}


def _config(spec: ExperimentSpec, overrides: dict[str, Any]) -> PlanConfig:
    base = spec.plan.model_dump() if spec.plan is not None else {}
    try:
        return PlanConfig(**{**base, **overrides})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise SpecError(f"invalid plan setting plan.{loc}: {first['msg']}") from None


def _history(history: Any, spec: ExperimentSpec, cfg: PlanConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame, np.ndarray | None]:
    for role in ("unit", "time", "outcome"):
        if getattr(spec, role) is None:
            raise SpecError(f"planning needs spec.{role}: the {role} column of the history.")
    df = to_pandas(history)
    cols = {"spec.unit": spec.unit, "spec.time": spec.time, "spec.outcome": spec.outcome}
    if cfg.cost_column:
        cols["plan.cost_column"] = cfg.cost_column
    for role, col in cols.items():
        if col not in df.columns:
            raise DataError(f"column {col!r} ({role}) is not in the history; it has columns {list(df.columns)[:12]}.")
    used = df.loc[:, list(dict.fromkeys(cols.values()))]
    used = used.assign(**{spec.unit: unify_ids(used[spec.unit])})  # ids like [5, "NYC"] compare as text
    check_time_column(used, spec.time)
    check_values(used, {k.removeprefix("spec."): c for k, c in cols.items() if k != "spec.unit"})
    for role, col in cols.items():
        na = used[col].isna()
        if na.any():
            raise DataError(
                f"column {col!r} ({role}) has {int(na.sum())} missing values in the history "
                f"({rows_preview(used.index[na])}). Fill them before planning."
            )
    y = pd.to_numeric(used[spec.outcome], errors="coerce")
    if y.isna().any():
        raise DataError(f"column {spec.outcome!r} (spec.outcome) must be numeric; it has non-numeric values.")
    bad = y <= 0
    if bad.any():
        raise DataError(
            f"column {spec.outcome!r} (spec.outcome) has {int(bad.sum())} non-positive values "
            f"({rows_preview(used.index[bad])}); a multiplicative lift needs a strictly positive KPI. "
            "Drop or aggregate those geos, or plan on a positive metric."
        )
    dup = used.duplicated([spec.unit, spec.time], keep=False)
    if dup.any():
        raise DataError(
            f"columns {spec.unit!r} (spec.unit) and {spec.time!r} (spec.time) have {int(dup.sum())} rows "
            f"that share a geo-period pair ({rows_preview(used.index[dup])}). Aggregate to one row per geo and period."
        )
    wide = used.pivot(index=spec.unit, columns=spec.time, values=spec.outcome).sort_index().sort_index(axis=1)
    if wide.isna().any().any():
        n_missing = int(wide.isna().sum().sum())
        raise DataError(
            f"the history is unbalanced: {n_missing} geo-period cells are missing; every geo needs a "
            "KPI value in every period. Fill the gaps or drop those geos."
        )
    cost = None
    if cfg.cost_column:
        cost = used.pivot(index=spec.unit, columns=spec.time, values=cfg.cost_column).sort_index().sort_index(axis=1)
        cost = cost.to_numpy(dtype=float)
    return wide.index.to_numpy(), wide.columns.to_numpy(), wide.to_numpy(dtype=float), used, cost


def _designs(assignment: pd.DataFrame, units: np.ndarray, cells: int) -> np.ndarray:
    """One row per treatment cell: 1 treated, 0 control, -1 other (excluded or other cell)."""
    pos = {u: i for i, u in enumerate(units)}
    out = np.full((cells, len(units)), -1, dtype=np.int8)
    cell_of = dict(zip(assignment["unit"], assignment["cell"]))
    for c, name in enumerate(cell_names(cells)):
        for u, cell in cell_of.items():
            out[c, pos[u]] = 1 if cell == name else (0 if cell == "control" else -1)
    return out


def _aa_designs(designs: np.ndarray, k: int, seed: int | None) -> np.ndarray:
    """``k`` placebo assignments per treatment cell: as many treated geos, drawn at random among
    the geos the cell may use (its treated and control geos), the rest of those as controls."""
    rng = np.random.default_rng(None if seed is None else seed + 7919)
    out = []
    for d in designs:
        pool = np.flatnonzero(d >= 0)
        n1 = int((d == 1).sum())
        for _ in range(k):
            new = np.where(d >= 0, 0, -1).astype(np.int8)
            new[rng.choice(pool, size=n1, replace=False)] = 1
            out.append(new)
    return np.asarray(out, dtype=np.int8).reshape(-1, designs.shape[1])


def _aa_count(alpha: float, target_mcse: float) -> int:
    """A/A tests needed for a binomial MCSE of ``target_mcse`` at a rate of ``alpha``."""
    return int(math.ceil(alpha * (1 - alpha) / target_mcse**2))


def plan(history: Any, spec: ExperimentSpec | dict[str, Any] | str, *, progress: bool | None = None,
         aa_target_mcse: float | None = 0.015, aa_max_assignments: int = 10, calendar: Any = None,
         **overrides: Any) -> DesignResult:
    """Plan a geo experiment on history: assign geos, simulate power, rank estimators.

    Parameters
    ----------
    history : pandas, polars or pyarrow table
        One row per geo (``spec.unit``) and period (``spec.time``) with the KPI
        (``spec.outcome``, strictly positive) and optionally a cost column. Never modified.
    spec : ExperimentSpec, dict, YAML text or path
        The readout spec; its ``plan`` block (:class:`~causal_kit.spec.PlanConfig`) holds the
        planning settings.
    progress : bool, optional
        Progress bar over the readout fits. By default shown for runs of 30 fits or more when
        stderr is a terminal; one line per planning stage goes to stderr in every run (scripts,
        schedulers) unless ``progress=False``.
    aa_target_mcse : float or None
        Monte Carlo SE the A/A false-positive rate should reach (default 1.5 points). The
        chosen design on ``n_windows`` windows gives too few A/A tests for that (20 windows:
        MCSE about 4.9 points at 5%), so each readout estimator is also fitted, at the first
        duration, on placebo assignments: random treated sets of the same size among the same
        geos, on every window, until ``alpha (1 - alpha) / n <= aa_target_mcse**2``. ``None``
        uses the chosen design's windows only.
    aa_max_assignments : int
        Cap on the placebo assignments per window (default 10: with the default 20 windows,
        220 A/A tests, MCSE 1.47 points). Each is one readout fit per estimator (SDID with 100
        placebo replicates takes about a second on a 40-geo daily panel), so the cap bounds the
        cost; when it leaves the MCSE above target, the ranking says so (``aa_precise`` False)
        and ``details["aa_note"]`` calls the A/A estimate too noisy to rank on.
    calendar : Calendar or table, optional
        The experiment calendar (:class:`causal_kit.registry.Calendar`) or a plain table of live
        studies (see :mod:`causal_kit.design.conflicts`). Units other live studies treat in the
        window are excluded (``plan.conflicts``), the draw is stratified on exposure to them, a
        conflicting assignment is refused unless ``plan.allow_overlap``, and three
        ``calendar_*`` diagnostics name the overlapping studies. With ``plan.register`` the
        assignment is then registered through ``calendar.register_design``.
    **overrides
        Any :class:`~causal_kit.spec.PlanConfig` field, overriding ``spec.plan``.

    Returns
    -------
    DesignResult

    Notes
    -----
    The search draws ``n_candidates`` stratified assignments meeting the constraints and
    keeps the one with the smallest simulated MDE for the planned estimator at the first
    duration. The search uses the fast approximate t-tests of
    :func:`~causal_kit.design.simulation.simulate_power` to rank candidates cheaply. The kept
    design is then simulated with every candidate estimator and every duration on the same
    windows, with the inference the readout will use (``plan.inference = "readout"``, the
    default): DiD, synthetic control and SDID are fitted by their registered estimators,
    exactly as :func:`causal_kit.estimate` runs them (spec options and seed; synthetic control
    and SDID with ``READOUT_PLACEBO_REPS`` placebo replicates unless the options set
    ``n_reps``), once per window, the lift grid following by linearity (see
    :func:`~causal_kit.design.simulation.simulate_readout`). The time-based regression has no
    readout estimator and keeps its approximate t-test; the ranking's ``inference`` column says
    which mode each estimator was simulated with, and ``details["inference"]`` spells it out.
    ``plan.inference = "approximate"`` simulates everything with the fast t-tests instead. Choosing the best of many candidates on the same history
    flatters its MDE a little (winner's curse); use few candidates or a fresh window to check.

    Simulations run on ``plan.n_jobs`` joblib workers, or on a Dask cluster given by the spec's
    ``execution:`` block (or an active ``dask.distributed.Client``); seeded results are the same.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.datasets import simulate_geo_panel
    >>> history = simulate_geo_panel(n_geos=30, n_days=200, seed=3)
    >>> spec = ck.ExperimentSpec(name="geo", design="did", outcome="kpi", unit="geo", time="date",
    ...                          treatment="treated")
    >>> design = ck.design.plan(history, spec, n_treated=8, duration=21, n_candidates=2,
    ...                         n_windows=8, candidate_estimators=("did",))
    >>> sorted(design.assignment["cell"].unique())
    ['control', 'treatment']
    """
    from ..spec import as_spec

    spec = as_spec(spec)
    if spec.design == "switchback":  # time-randomised: its own schedule and power simulation
        from .switchback import DEFAULT_LIFTS, plan_switchback

        pc = spec.plan
        return plan_switchback(history, spec, lifts=pc.effect_grid if pc else DEFAULT_LIFTS,
                               target_power=overrides.get("target_power", pc.target_power if pc else 0.8))
    if spec.design == "price_test":  # products x price arms: elasticity power by simulation on sales
        import inspect

        from .price_test import plan_price_test

        allowed = set(inspect.signature(plan_price_test).parameters) - {"history", "spec"}
        unknown = sorted(set(overrides) - allowed)
        if unknown:
            raise SpecError(f"plan() options {unknown} do not apply to a price test; it takes {sorted(allowed)}.")
        pc = spec.plan
        kw: dict[str, Any] = {"seed": spec.seed, "target_power": pc.target_power if pc else 0.8}
        if pc is not None and "duration" in pc.model_fields_set:
            kw["durations"] = (pc.duration,) if isinstance(pc.duration, int) else tuple(pc.duration)
        return plan_price_test(history, spec, **{**kw, **overrides})
    with execution_from_spec(spec):
        return _plan(history, spec, progress=progress, aa_target_mcse=aa_target_mcse,
                     aa_max_assignments=aa_max_assignments, calendar=calendar, overrides=overrides)


def _plan(history: Any, spec: ExperimentSpec, *, progress: bool | None, aa_target_mcse: float | None,
          aa_max_assignments: int, calendar: Any, overrides: dict[str, Any]) -> DesignResult:
    cfg = _config(spec, overrides)
    units, times, Y, used, cost_panel = _history(history, spec, cfg)
    N, T = Y.shape
    durations = [cfg.duration] if isinstance(cfg.duration, int) else list(cfg.duration)
    if not durations or min(durations) < 1:
        raise SpecError(f"plan.duration must be one or more positive integers; got {cfg.duration!r}.")
    primary, longest = durations[0], max(durations)
    if cfg.pre_periods is not None:
        P = cfg.pre_periods
    else:
        P = min(max(28, 3 * longest), T - longest)
        if P < 7:
            raise DataError(
                f"the history has {T} periods, too few for a pre-period of at least 7 plus the longest "
                f"duration {longest}; give at least {longest + 7} periods."
            )
    if T < P + longest:
        raise DataError(
            f"the history has {T} periods, fewer than pre_periods + duration = {P} + {longest} = "
            f"{P + longest}. Give a longer history, or lower plan.pre_periods or plan.duration."
        )
    planned = cfg.estimator or _DEFAULT_ESTIMATOR.get(spec.design, "did")
    if not cfg.estimator and spec.design in ("multi_cell", "holdback"):
        # these designs read each cell (or the switch-off) with one geo estimator: plan for it
        planned = str(spec.options.get("readout", "sdid"))
    estimators = list(dict.fromkeys([planned, *cfg.candidate_estimators]))
    allowed = list(SIM_ESTIMATORS) + (list(READOUT_ONLY) if cfg.inference == "readout" else [])
    unknown = [e for e in estimators if e not in allowed]
    if unknown:
        raise SpecError(
            f"plan estimator(s) {unknown} cannot be simulated; choose among {', '.join(allowed)}"
            + (" (bsts needs plan.inference: readout)." if "bsts" in unknown else ".")
        )

    # ---- per-geo KPI, cost and constraints
    kpi = pd.Series(Y[:, -P:].mean(axis=1), index=units)
    cost = None
    if cost_panel is not None:
        cost = pd.Series(cost_panel[:, -P:].mean(axis=1) * primary, index=units)
    elif cfg.cost_per_unit is not None:
        cost = kpi * cfg.cost_per_unit * primary
    if cfg.register_ and not hasattr(calendar, "register_design"):
        raise SpecError("plan.register needs the experiment calendar: pass calendar=Calendar(...) (the CLI does "
                        "so with --register), not a plain table or nothing.")
    booked = None
    if calendar is not None:  # concurrent studies: exclusions, never-treated geos, exposure strata
        from .conflicts import prepare_plan

        booked = prepare_plan(calendar, cfg, units, times, name=spec.name, length=longest)
    constraints = Constraints(
        kpi, n_treated=cfg.n_treated, treated_share=cfg.treated_share, must_treat=cfg.must_treat,
        exclude=list(cfg.exclude) + (booked.exclude if booked else []), cells=cfg.cells, cost=cost,
        budget=cfg.budget, never_treat=booked.never_treat if booked else (),
        strata=booked.strata if booked else None,
    )
    sim_kw = dict(pre_periods=P, n_windows=cfg.n_windows, alpha=spec.alpha, n_jobs=cfg.n_jobs)

    def score(cands: list[pd.DataFrame]) -> np.ndarray:
        designs = np.concatenate([_designs(a, units, cfg.cells) for a in cands])
        # bsts has no vectorised simulation: candidates are scored with the regression on controls
        proxy = "time_regression" if planned in READOUT_ONLY else planned
        out = simulate_power(Y, designs, estimator=proxy, duration=primary, **sim_kw)
        mde = mde_from_sim(out, cfg.target_power).reshape(len(cands), cfg.cells)
        return np.where(np.isnan(mde), np.inf, mde).max(axis=1)

    say = _stage_printer(progress)
    say(f"{N} geos x {T} periods; {cfg.assignment} assignment, estimators {', '.join(estimators)}")
    candidates = None
    if cfg.assignment == "search":
        ranked, candidates = search_markets(constraints, score, n_candidates=cfg.n_candidates, seed=spec.seed)
        assignment = ranked[0]
    elif cfg.assignment == "matched_pairs":
        assignment = matched_pairs_assignment(constraints, seed=spec.seed)
    else:
        assignment = stratified_assignment(constraints, seed=spec.seed)
    calendar_checks: tuple[Diagnostic, ...] = ()
    if booked is not None:
        from .conflicts import check_plan

        calendar_checks, calendar_details, calendar_table = check_plan(booked, assignment, units, cfg, name=spec.name)
    designs = _designs(assignment, units, cfg.cells)
    names = cell_names(cfg.cells)

    # ---- simulate every estimator x duration on the chosen design, with the readout's inference
    grid = np.asarray(sorted(set(cfg.effect_grid) | {0.0}), dtype=float)
    curve_rows = []
    sims: dict[tuple[str, int], SimOutput | ReadoutSimOutput] = {}
    readout = [e for e in estimators if e in READOUT_ESTIMATORS] if cfg.inference == "readout" else []
    if readout:
        say(f"simulating the readout of {', '.join(readout)} on {cfg.n_windows} historical windows")
        sims.update(simulate_readout(
            Y, designs, units=units, times=times, spec=spec, estimators=readout, durations=durations,
            pre_periods=P, n_windows=cfg.n_windows, n_jobs=cfg.n_jobs, progress=progress,
        ))
    # ---- A/A on placebo assignments, so the false-positive rate is measured precisely enough
    aa_sims: dict[str, list[Any]] = {}
    n_assign = 0
    if readout and aa_target_mcse is not None:
        n_have = sum(sims[readout[0], L].tau0.shape[1] for L in durations)
        W1 = sims[readout[0], primary].tau0.shape[1]
        need = _aa_count(spec.alpha, float(aa_target_mcse)) - n_have
        n_assign = int(min(max(math.ceil(need / max(W1, 1)), 0), int(aa_max_assignments)))
        if n_assign > 0:
            extra = simulate_readout(
                Y, _aa_designs(designs[:1], n_assign, spec.seed), units=units, times=times, spec=spec,
                estimators=readout, durations=[primary], pre_periods=P, n_windows=cfg.n_windows,
                n_jobs=cfg.n_jobs, progress=progress,
            )
            aa_sims = {e: [extra[e, primary]] for e in readout}
    for est in estimators:
        for L in durations:
            if (est, L) not in sims:
                sims[est, L] = simulate_power(Y, designs, estimator=est, duration=L, **sim_kw)
    modes = {e: "readout" if e in readout else "approximate" for e in estimators}
    for est in estimators:
        for L in durations:
            out = sims[est, L]
            ev = out.evaluate(grid)
            W = out.tau0.shape[1]
            for c, name in enumerate(names):
                for k, e in enumerate(grid):
                    p = float(ev["reject"][c, :, k].mean())
                    curve_rows.append({
                        "estimator": est, "cell": name, "duration": int(L), "effect": float(e), "power": p,
                        "power_se": math.sqrt(p * (1 - p) / W), "bias": float((ev["rel_est"][c, :, k] - e).mean()),
                        "coverage": float(ev["cover"][c, :, k].mean()),
                    })
    power_curve = pd.DataFrame(curve_rows)

    ranking = _rank(sims, estimators, durations, primary, grid, cfg.target_power, spec.alpha, modes, aa_sims,
                    n_assign, aa_target_mcse)
    say("simulations done; ranking estimators and durations")
    method = cfg.estimator or str(ranking.loc[ranking["recommended"], "estimator"].iloc[0])
    mrow = ranking.loc[ranking["estimator"] == method].iloc[0]

    # ---- duration table for the readout estimator
    cost_rate = None if cost is None else cost / primary  # per period
    treated_mask = designs == 1
    dur_rows = []
    for L in durations:
        out = sims[method, L]
        mde_cells = mde_from_sim(out, cfg.target_power)
        worst = int(np.nanargmax(np.where(np.isnan(mde_cells), np.inf, mde_cells))) if len(mde_cells) else 0
        mde = float(mde_cells[worst])
        base_total = float(out.baseline[worst].mean() * treated_mask[worst].sum())
        spend = None if cost_rate is None else float(cost_rate[units[treated_mask.any(axis=0)]].sum() * L)
        mde_abs = mde * base_total
        value = cfg.kpi_value if cfg.kpi_value is not None else (
            1.0 if spec.report is not None and spec.report.outcome_is_currency else None)
        iroas = None
        if spend and value is not None and math.isfinite(mde_abs):
            iroas = mde_abs * L * value / spend
        dur_rows.append({"duration": int(L), "mde": mde, "mde_absolute": mde_abs, "cost": spend,
                         "iroas_mde": iroas, "type1_error": float(out.evaluate([0.0])["reject"].mean())})
    duration_table = (pd.DataFrame(dur_rows).astype({"cost": float, "iroas_mde": float})
                      .sort_values("duration").reset_index(drop=True))

    rec = _recommend_duration(duration_table, cfg.expected_lift, primary)
    row = duration_table.loc[duration_table["duration"] == rec].iloc[0]
    type1, n_aa = float(mrow["aa_rate"]), int(mrow["n_aa"])
    tables = {"pre_period_fit": _pre_fit(Y, times, designs, P + rec, names)}
    if candidates is not None:
        tables["candidates"] = candidates
    tables["windows"] = pd.DataFrame({"start": [str(times[s]) for s in sims[method, rec].starts]})
    diagnostics = _diagnostics(
        type1, n_aa, spec.alpha, ranking, method, row, cfg, tables["pre_period_fit"], names[0], assignment,
        mrow,
    )
    diagnostics = diagnostics + calendar_checks
    calendar_info: dict[str, Any] = {}
    if booked is not None:
        from .conflicts import add_periods, period_step, period_text

        end = add_periods(booked.context.start, int(rec) - 1, period_step(times))
        calendar_info = {"calendar": {**calendar_details, "end": period_text(end)}}
        tables["calendar"] = calendar_table
    noisy = ranking.loc[~ranking["aa_precise"], "estimator"].tolist()
    aa_note = (
        f"A/A false-positive rate per method from {int(mrow['n_aa'])} simulated tests ({int(mrow['n_windows'])} "
        f"windows x {int(mrow['n_assignments'])} assignments, the chosen one and {n_assign} random placebo "
        f"assignments of as many treated geos); MCSE target {aa_target_mcse if aa_target_mcse else 'none'}"
        + (f"; too noisy to rank on the A/A rate for {', '.join(noisy)} (MCSE above 1.5 points): add "
           "history, n_windows or aa_max_assignments" if noisy else "")
        + "; a method is recommended only if its A/A rate is at most alpha + 2 MCSE and its coverage at "
          "least 1 - alpha - 2 MCSE"
    )
    cols = list(dict.fromkeys([spec.unit, spec.time, spec.outcome] + ([cfg.cost_column] if cfg.cost_column else [])))
    currency = spec.report.currency if spec.report is not None else None
    result = DesignResult(
        method=method, spec=spec, spec_hash=spec.spec_hash, assignment=assignment, power_curve=power_curve,
        duration_table=duration_table.drop(columns=["type1_error"]), estimator_ranking=ranking,
        mde=float(row["mde"]), mde_absolute=float(row["mde_absolute"]), target_power=cfg.target_power,
        alpha=spec.alpha, recommended_duration=int(rec), type1_error=type1,
        cost=None if pd.isna(row["cost"]) else float(row["cost"]),
        iroas_mde=None if pd.isna(row["iroas_mde"]) else float(row["iroas_mde"]),
        currency=currency, outcome=spec.outcome or "", diagnostics=diagnostics, tables=tables,
        lineage=make_lineage(spec, fingerprint(used.loc[:, cols])),
        details={
            "planned_estimator": planned, "pre_periods": int(P), "n_windows": int(n_aa // max(cfg.cells, 1)),
            "n_geos": int(N), "n_periods": int(T), "assignment_method": cfg.assignment,
            "excluded": [str(u) for u in cfg.exclude], "durations": [int(d) for d in durations],
            "first_period": str(times[0]), "last_period": str(times[-1]),
            "inference": _inference_note(modes, readout, spec),
            "inference_by_estimator": modes,
            "aa_note": aa_note, "aa_assignments": int(n_assign),
            "aa_by_estimator": ranking.set_index("estimator")[
                ["aa_rate", "aa_mcse", "aa_ci_low", "aa_ci_high", "n_aa", "n_windows", "n_assignments",
                 "coverage", "coverage_mcse", "coverage_ci_low", "coverage_ci_high"]].to_dict("index"),
            "recommendation_note": str(mrow.get("recommendation_note", "")),
            **calendar_info,
        },
    )
    if cfg.looks or cfg.look_every:  # group-sequential looks (design/sequential.py)
        from .sequential import with_looks

        result = with_looks(result, history, cfg)
    if spec.spillover is not None and spec.spillover.buffer:  # keep treated geos' neighbours out of control
        from .buffer import apply_buffer

        result = apply_buffer(result, history, spec)
    if cfg.register_:
        calendar.register_design(result)
    return result


def _stage_printer(progress: bool | None) -> Any:
    """One line per planning stage on stderr (also when stderr is not a terminal), unless progress=False."""
    import sys
    import time

    start = time.monotonic()

    def say(message: str) -> None:
        if progress is not False:
            print(f"design.plan [{time.monotonic() - start:5.1f} s]: {message}", file=sys.stderr, flush=True)

    return say


def _inference_note(modes: dict[str, str], readout: list[str], spec: ExperimentSpec) -> str:
    parts = []
    if readout:
        parts.append(
            f"readout inference for {', '.join(readout)}: the registered estimator fitted on every historical "
            "window at zero lift (causal_kit.estimate's estimator, options and seed; synthetic control and SDID "
            f"with {READOUT_PLACEBO_REPS} placebo replicates unless the options set n_reps), the lift grid by "
            "shifting the estimate and interval by lift x treated post-period mean"
        )
    approx = [e for e, m in modes.items() if m == "approximate"]
    if approx:
        parts.append(f"approximate t-tests for {', '.join(approx)} (causal_kit.design.simulation)")
    parts.append("the candidate search ranks assignments with the approximate t-tests")
    return "; ".join(parts)


def _wilson(p: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson 95% interval of a binomial rate (sensible at 0 and 1, unlike p +- 2 MCSE)."""
    if n <= 0:
        return float("nan"), float("nan")
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _rank(sims: dict[tuple[str, int], Any], estimators: list[str], durations: list[int], primary: int,
          grid: np.ndarray, target: float, alpha: float, modes: dict[str, str],
          aa_sims: dict[str, list[Any]] | None = None, n_assign: int = 0,
          aa_target_mcse: float | None = 0.015) -> pd.DataFrame:
    """Bias, RMSE, coverage and A/A false-positive rate with their MCSEs; MDE at the planned duration.

    The A/A rate and the coverage pool the chosen design on every window and duration with
    the placebo assignments of ``aa_sims`` (random treated sets of the same size, first
    duration). ``aa_mcse`` is the binomial MCSE at the estimated rate (at alpha when the
    estimate is 0 or 1), ``aa_ci_low``/``aa_ci_high`` its Wilson 95% interval, and likewise
    for coverage. An estimator is calibrated when its A/A rate is at most alpha + 2 MCSE (MCSE
    at alpha) and its coverage at least 1 - alpha - 2 MCSE; the calibrated estimator with the
    smallest MDE is recommended. When none is calibrated, the one with the lowest A/A rate is
    named, with ``recommendation_note`` saying that no method holds its size. Estimators
    simulated with their readout inference are preferred: one simulated with the approximate
    t-test only (``inference == "approximate"``, e.g. time_regression, which has no readout
    class) is recommended only when no readout-simulated estimator is ranked.
    """
    aa_sims = aa_sims or {}
    rows = []
    for est in estimators:
        evs = [sims[est, L].evaluate(grid) for L in durations]
        extra = [o.evaluate(grid) for o in aa_sims.get(est, [])]
        err = np.concatenate([(ev["rel_est"] - grid[None, None, :]).ravel() for ev in evs])
        aa = np.concatenate([ev["reject"][..., 0].ravel() for ev in evs + extra])
        cover = np.concatenate([ev["cover"][..., 0].ravel() for ev in evs + extra])
        n = aa.size
        mc_alpha = math.sqrt(alpha * (1 - alpha) / n)
        t1, cov = float(aa.mean()), float(cover.mean())
        mc_t1 = math.sqrt((t1 * (1 - t1) if 0 < t1 < 1 else alpha * (1 - alpha)) / n)
        mc_cov = math.sqrt((cov * (1 - cov) if 0 < cov < 1 else alpha * (1 - alpha)) / n)
        mde = mde_from_sim(sims[est, primary], target)
        n_windows = int(sum(sims[est, L].tau0.shape[1] for L in durations))
        aa_lo, aa_hi = _wilson(t1, n)
        cov_lo, cov_hi = _wilson(cov, n)
        rows.append({
            "estimator": est, "bias": float(err.mean()), "rmse": float(np.sqrt((err**2).mean())),
            "coverage": cov, "coverage_mcse": mc_cov, "coverage_ci_low": cov_lo, "coverage_ci_high": cov_hi,
            "type1_error": t1, "aa_rate": t1, "aa_mcse": mc_t1, "aa_ci_low": aa_lo, "aa_ci_high": aa_hi,
            "aa_limit": alpha + 2 * mc_alpha,
            "n_aa": int(n), "n_windows": n_windows,
            "n_assignments": 1 + (n_assign if est in aa_sims else 0),
            "aa_precise": bool(max(mc_t1, mc_alpha) <= (aa_target_mcse or 0.015) + 1e-12),
            "mde": float(np.max(np.where(np.isnan(mde), np.inf, mde))),
            "calibrated": bool(t1 <= alpha + 2 * mc_alpha and cov >= 1 - alpha - 2 * mc_alpha),
            "n_simulations": int(n), "inference": modes.get(est, "approximate"),
        })
    df = pd.DataFrame(rows)
    df["mde"] = df["mde"].replace(np.inf, np.nan)
    pool = df[df["inference"] == "readout"] if (df["inference"] == "readout").any() else df
    note = ""
    if pool["calibrated"].any():
        best = pool[pool["calibrated"]]["mde"].fillna(np.inf).idxmin()
    else:
        best = pool["aa_rate"].idxmin()
        note = (f"no simulated method holds its size on this history (A/A rate above alpha + 2 MCSE or coverage "
                f"below 1 - alpha - 2 MCSE); {df.loc[best, 'estimator']} has the lowest A/A rate, "
                f"{df.loc[best, 'aa_rate']:.3f}: treat its intervals as too narrow")
    df["recommended"] = df.index == best
    df["recommendation_note"] = np.where(df.index == best, note, "")
    return df.sort_values(["recommended", "calibrated", "mde"], ascending=[False, False, True]).reset_index(drop=True)


def _recommend_duration(table: pd.DataFrame, expected: float | None, primary: int) -> int:
    if expected is None:
        return int(primary)
    ok = table[table["mde"] <= expected].sort_values("duration")
    return int(ok["duration"].iloc[0]) if len(ok) else int(table["duration"].max())


def _pre_fit(Y: np.ndarray, times: np.ndarray, designs: np.ndarray, length: int, names: list[str]) -> pd.DataFrame:
    """Mean KPI of each cell and of the control over the last ``length`` periods, control rescaled."""
    sl = slice(Y.shape[1] - length, Y.shape[1])
    frames = []
    for c, name in enumerate(names):
        t = Y[designs[c] == 1, sl].mean(axis=0)
        k = Y[designs[c] == 0, sl].mean(axis=0)
        scaled = k * t.mean() / k.mean()
        frames.append(pd.DataFrame({"time": [str(x) for x in times[sl]], "cell": name, "treated": t,
                                    "control": k, "control_scaled": scaled}))
    return pd.concat(frames, ignore_index=True)


def _diagnostics(type1: float, n: int, alpha: float, ranking: pd.DataFrame, method: str, row: pd.Series,
                 cfg: PlanConfig, fit: pd.DataFrame, first_cell: str, assignment: pd.DataFrame,
                 mrow: pd.Series | None = None) -> tuple[Diagnostic, ...]:
    mcse = math.sqrt(alpha * (1 - alpha) / max(n, 1))
    limit = alpha + 2 * mcse
    ci = "" if mrow is None else f" (95% interval {mrow['aa_ci_low']:.3f} to {mrow['aa_ci_high']:.3f}, MCSE {mrow['aa_mcse']:.3f})"
    noisy = mrow is not None and not bool(mrow["aa_precise"])
    out = [Diagnostic(
        "aa_type1_error", ("warn" if noisy else "pass") if type1 <= limit else "fail",
        (f"A/A false-positive rate {type1:.3f}{ci} is within alpha + 2 MCSE ({limit:.3f}) over {n} simulated tests"
         + ("; too few tests to rank methods on it (MCSE above 1.5 points): add history or windows." if noisy else ".")
         if type1 <= limit else
         f"A/A false-positive rate {type1:.3f}{ci} exceeds alpha + 2 MCSE ({limit:.3f}) over {n} simulated tests: "
         f"{method}'s intervals are too narrow on this history; prefer a calibrated estimator from the ranking."),
        statistic=type1, threshold=limit, assumption="inference",
    )]
    cov = float(ranking.loc[ranking["estimator"] == method, "coverage"].iloc[0])
    lo = 1 - alpha - 2 * math.sqrt(alpha * (1 - alpha) / max(n, 1))
    out.append(Diagnostic(
        "coverage", "pass" if cov >= lo else "warn",
        f"{method}'s {1 - alpha:.0%} intervals covered the injected lift in {cov:.1%} of simulations"
        + ("." if cov >= lo else "; treat its CIs as too narrow."),
        statistic=cov, threshold=lo, assumption="inference",
    ))
    mde = float(row["mde"])
    if not math.isfinite(mde):
        out.append(Diagnostic("mde_reached", "warn", f"no lift up to 100% reaches {cfg.target_power:.0%} power; "
                              "treat more geos or run longer.", assumption="other"))
    if cfg.expected_lift is not None and math.isfinite(mde):
        ok = mde <= cfg.expected_lift
        out.append(Diagnostic(
            "expected_lift", "pass" if ok else "warn",
            f"MDE {mde:.2%} is {'below' if ok else 'above'} the expected lift {cfg.expected_lift:.2%}"
            + ("." if ok else "; lengthen the test or treat more geos."),
            statistic=mde, threshold=cfg.expected_lift, assumption="other",
        ))
    f = fit[fit["cell"] == first_cell]
    corr = float(np.corrcoef(f["treated"], f["control"])[0, 1]) if len(f) > 2 else float("nan")
    out.append(Diagnostic(
        "pre_period_fit", "pass" if corr >= 0.8 else "warn",
        f"treated and control KPI correlate at {corr:.2f} over the last pre-period"
        + ("." if corr >= 0.8 else
           "; the control mean tracks the treated geos poorly, so DiD will be noisy: rely on SC or SDID."),
        statistic=corr, threshold=0.8, assumption="fit",
    ))
    t = assignment[assignment["cell"] == first_cell]["kpi"]
    c = assignment[assignment["cell"] == "control"]["kpi"]
    smd = float((t.mean() - c.mean()) / math.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2)) if len(t) > 1 and len(c) > 1 else 0.0
    out.append(Diagnostic(
        "kpi_balance", "pass" if abs(smd) < 0.25 else "warn",
        f"standardised difference in pre-period KPI between treated and control geos is {smd:+.2f}"
        + ("." if abs(smd) < 0.25 else "; the arms differ in size, prefer SC/SDID or re-draw."),
        statistic=smd, threshold=0.25, assumption="balance",
    ))
    return tuple(out)
