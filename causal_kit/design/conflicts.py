"""Concurrent studies at design time: overlaps with the calendar, exposure and conflict checks.

The planner never reads the registry (it sits on a lower floor). The caller passes either a
calendar-like object with a ``units_table()`` method (:class:`causal_kit.registry.Calendar`)
or a plain table of live studies with one row per study and unit:

=========  ==============================================================
column     meaning
=========  ==============================================================
study      the other study's name
unit       a unit (geo, station...) the study uses
cell       its cell: ``treatment``, ``treatment_2``, ..., ``control``, ``excluded``
role       ``treated``, ``control`` or ``excluded``
start      first treated period (a date or an integer period)
end        planned last period (inclusive)
status     ``planned``, ``running`` or ``closed`` (optional; closed rows are ignored)
owner      who runs it (optional)
=========  ==============================================================

A study is *live in the window* when it is not closed and its ``[start, end]`` overlaps
this study's planned window. Three rules follow (see ``docs/concurrent.md``):

* a unit treated in a live study is excluded here (``plan.conflicts: exclude``, default) or
  kept with a warning (``plan.conflicts: warn``);
* the draw is stratified on each unit's exposure to other studies (share of the window it
  is treated elsewhere), so the cells are balanced on it;
* an assignment that puts another study's treated units into this study's control, treats
  units another study uses, or treats units twice is refused with
  :class:`CalendarConflictError` unless ``plan.allow_overlap`` is true.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..diagnostics.concurrent import (
    CALENDAR_COLUMNS,
    ROLES,
    add_periods,
    as_period,
    exposure_share,
    live_table,
    overlapping,
    period_step,
    period_text,
)
from ..errors import SpecError
from ..result import Diagnostic

__all__ = [
    "CalendarConflictError",
    "CALENDAR_COLUMNS",
    "ROLES",
    "as_period",
    "period_text",
    "period_step",
    "add_periods",
    "live_table",
    "overlapping",
    "exposure_share",
    "find_conflicts",
    "raise_on_conflicts",
    "CalendarContext",
    "calendar_context",
    "conflict_diagnostics",
    "planned_window",
    "CalendarPlan",
    "prepare_plan",
    "check_plan",
]



class CalendarConflictError(SpecError):
    """An assignment collides with another live study in the calendar (named, with its units)."""


# ---------------------------------------------------------------------- conflicts
def find_conflicts(table: pd.DataFrame, roles: dict[Any, str], start: Any, end: Any,
                   *, name: str | None = None) -> list[dict[str, Any]]:
    """Collisions of this study's units (``unit -> role``) with live studies in the window.

    Each entry: ``study``, ``kind`` and the sorted ``units``. Kinds:
    ``treated_in_control`` (their treated units in our control), ``treated_twice`` (treated in
    both), ``control_treated`` (our treated units in their control).
    """
    over = overlapping(table, start, end, name=name)
    ours = {str(u): r for u, r in roles.items()}
    out = []
    kinds = (("treated", "control", "treated_in_control"), ("treated", "treated", "treated_twice"),
             ("control", "treated", "control_treated"))
    for study, rows in over.groupby("study", sort=True):
        theirs = dict(zip(rows["unit"], rows["role"]))
        for their_role, our_role, kind in kinds:
            units = sorted(u for u, r in theirs.items() if r == their_role and ours.get(u) == our_role)
            if units:
                out.append({"study": str(study), "kind": kind, "units": units})
    return out


_KIND_TEXT = {
    "treated_in_control": "treats {n} unit(s) this study would use as control",
    "treated_twice": "already treats {n} unit(s) this study would treat",
    "control_treated": "uses as control {n} unit(s) this study would treat",
}


def _preview(units: Sequence[str], k: int = 8) -> str:
    shown = ", ".join(units[:k])
    return shown + (f" and {len(units) - k} more" if len(units) > k else "")


def raise_on_conflicts(conflicts: list[dict[str, Any]], *, name: str, allow_overlap: bool) -> None:
    """Raise :class:`CalendarConflictError` naming each other study and its units, unless allowed."""
    if not conflicts or allow_overlap:
        return
    parts = [f"study {c['study']!r} {_KIND_TEXT[c['kind']].format(n=len(c['units']))} ({_preview(c['units'])})"
             for c in conflicts]
    raise CalendarConflictError(
        f"the assignment of {name!r} conflicts with live studies in its window: " + "; ".join(parts)
        + ". Exclude those units (plan.conflicts: exclude / plan.exclude), move the window (plan.start), "
        "or accept the overlap with plan.allow_overlap: true and read out with interference: adjust."
    )


# ---------------------------------------------------------------------- planning context
@dataclass(frozen=True)
class CalendarContext:
    """What the calendar says about one planned study's window."""

    start: Any
    end: Any
    studies: pd.DataFrame  # the overlapping live rows
    treated_elsewhere: dict[str, list[str]] = field(default_factory=dict)  # unit -> studies
    control_elsewhere: dict[str, list[str]] = field(default_factory=dict)
    exposure: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))

    @property
    def study_names(self) -> list[str]:
        return sorted(self.studies["study"].astype(str).unique().tolist())


def calendar_context(calendar: Any, units: Sequence[Any], start: Any, end: Any, *, name: str) -> CalendarContext:
    """Overlapping live studies, units treated / used as control elsewhere and each unit's exposure."""
    table = live_table(calendar)
    over = overlapping(table, start, end, name=name)
    ids = {str(u) for u in units}
    over = over[over["unit"].isin(ids)].reset_index(drop=True)

    def by_unit(role: str) -> dict[str, list[str]]:
        rows = over[over["role"] == role]
        return {str(u): sorted(g["study"].astype(str).unique()) for u, g in rows.groupby("unit")}

    return CalendarContext(
        start=as_period(start), end=as_period(end), studies=over,
        treated_elsewhere=by_unit("treated"), control_elsewhere=by_unit("control"),
        exposure=exposure_share(table, units, start, end, name=name),
    )


def _by_study(units: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for u, studies in units.items():
        for s in studies:
            out.setdefault(s, []).append(u)
    return {s: sorted(v) for s, v in sorted(out.items())}


def _named(units: dict[str, list[str]]) -> str:
    return "; ".join(f"{s}: {_preview(v)}" for s, v in _by_study(units).items())


def conflict_diagnostics(ctx: CalendarContext, assignment: pd.DataFrame, *, mode: str,
                         allow_overlap: bool) -> tuple[Diagnostic, ...]:
    """The three calendar checks of a planned assignment, as Diagnostics naming the other studies."""
    cells = dict(zip(assignment["unit"].astype(str), assignment["cell"]))
    names = ctx.study_names
    window = f"{period_text(ctx.start)} to {period_text(ctx.end)}"
    out = []
    te = ctx.treated_elsewhere
    if not te:
        msg = (f"no unit is treated by another live study in the window {window}"
               + (f" (overlapping studies: {', '.join(names)})." if names else "; no other study overlaps it."))
        out.append(Diagnostic("calendar_treated_elsewhere", "pass", msg, statistic=0.0, assumption="interference"))
    elif mode == "exclude":
        out.append(Diagnostic(
            "calendar_treated_elsewhere", "pass",
            f"{len(te)} unit(s) treated by other live studies in {window} were excluded ({_named(te)}).",
            statistic=float(len(te)), assumption="interference",
        ))
    else:
        out.append(Diagnostic(
            "calendar_treated_elsewhere", "warn",
            f"{len(te)} unit(s) kept here are treated by other live studies in {window} ({_named(te)}); "
            "read out with interference: adjust.",
            statistic=float(len(te)), assumption="interference",
        ))
    # (b) exposure balance: mean exposure of each treatment cell against the control
    expo = ctx.exposure
    control = [u for u, c in cells.items() if c == "control"]
    c_mean = float(expo.reindex(control).fillna(0.0).mean()) if control else 0.0
    worst = 0.0
    for cell in sorted({c for c in cells.values() if c != "control"}):
        t_mean = float(expo.reindex([u for u, c in cells.items() if c == cell]).fillna(0.0).mean())
        if abs(t_mean - c_mean) >= abs(worst):
            worst = t_mean - c_mean
    ok = abs(worst) <= 0.10
    out.append(Diagnostic(
        "calendar_exposure_balance", "pass" if ok else "warn",
        (f"exposure to other studies (share of the window treated elsewhere) differs by {worst:+.2f} between "
         f"the treated cells and the control (control mean {c_mean:.2f})"
         + ("." if ok else "; the cells are unbalanced on other studies' treatments: re-draw or exclude them.")),
        statistic=float(worst), threshold=0.10, assumption="balance",
    ))
    # (c) other studies' treated units in this control
    in_control = {u: s for u, s in te.items() if cells.get(u) == "control"}
    if not in_control:
        out.append(Diagnostic(
            "calendar_control_contamination", "pass",
            "no control unit is treated by another live study in the window.",
            statistic=0.0, assumption="interference",
        ))
    else:
        out.append(Diagnostic(
            "calendar_control_contamination", "warn" if allow_overlap else "fail",
            f"{len(in_control)} control unit(s) are treated by other live studies ({_named(in_control)}); "
            "allowed by plan.allow_overlap: read out with interference: adjust.",
            statistic=float(len(in_control)), assumption="interference",
        ))
    return tuple(out)


def planned_window(times: Sequence[Any], start: Any, length: int) -> tuple[Any, Any]:
    """The test window ``(start, end)``: ``start`` (default: the period after the history) plus ``length`` periods."""
    step = period_step(times)
    first = as_period(start) if start is not None else add_periods(times[-1], 1, step)
    if not math.isfinite(length) or length < 1:
        raise SpecError(f"plan.duration must be a positive number of periods; got {length!r}.")
    return first, add_periods(first, int(length) - 1, step)


@dataclass(frozen=True)
class CalendarPlan:
    """How the calendar changes a plan: extra exclusions, geos never treated, exposure strata."""

    context: CalendarContext
    exclude: list[Any]
    never_treat: list[Any]
    strata: pd.Series | None


def prepare_plan(calendar: Any, cfg: Any, units: Sequence[Any], times: Sequence[Any], *, name: str,
                 length: int) -> CalendarPlan:
    """Read the calendar for a plan over ``units``: window, overlaps and the constraints they imply.

    ``conflicts: exclude`` drops the units other live studies treat; without ``allow_overlap``
    units other studies use as control are never treated here; exposure to other studies
    becomes a stratum of the draw (none, partial, full window).
    """
    start, end = planned_window(times, cfg.start, length)
    ctx = calendar_context(calendar, units, start, end, name=name)
    by_text = {str(u): u for u in units}
    must = {str(u) for u in cfg.must_treat}
    exclude: list[Any] = []
    if cfg.conflicts == "exclude":
        clash = sorted(must & set(ctx.treated_elsewhere))
        if clash and not cfg.allow_overlap:
            raise CalendarConflictError(
                f"plan.must_treat names {len(clash)} unit(s) treated by other live studies in the window "
                f"({_named({u: ctx.treated_elsewhere[u] for u in clash})}); drop them from must_treat, move the "
                "window (plan.start) or set plan.allow_overlap: true."
            )
        exclude = [by_text[u] for u in sorted(ctx.treated_elsewhere) if u in by_text and u not in must]
    never = [] if cfg.allow_overlap else [by_text[u] for u in sorted(ctx.control_elsewhere) if u in by_text]
    strata = None
    if (ctx.exposure > 0).any():
        bins = np.digitize(ctx.exposure.to_numpy(), [1e-9, 0.5 + 1e-9])  # 0: none, 1: up to half, 2: more
        strata = pd.Series(bins, index=[by_text[u] for u in ctx.exposure.index])
    return CalendarPlan(ctx, exclude, never, strata)


def check_plan(prepared: CalendarPlan, assignment: pd.DataFrame, all_units: Sequence[Any], cfg: Any, *,
               name: str) -> tuple[tuple[Diagnostic, ...], dict[str, Any], pd.DataFrame]:
    """Refuse a conflicting assignment (unless allowed); return its diagnostics, details and table."""
    ctx = prepared.context
    cells = dict(zip(assignment["unit"].astype(str), assignment["cell"]))
    roles = {str(u): ("excluded" if str(u) not in cells else "control" if cells[str(u)] == "control" else "treated")
             for u in all_units}
    conflicts = find_conflicts(ctx.studies, roles, ctx.start, ctx.end, name=name)
    raise_on_conflicts(conflicts, name=name, allow_overlap=cfg.allow_overlap)
    diags = conflict_diagnostics(ctx, assignment, mode=cfg.conflicts, allow_overlap=cfg.allow_overlap)
    details = {
        "start": period_text(ctx.start), "end": period_text(ctx.end), "overlapping_studies": ctx.study_names,
        "conflicts": conflicts, "excluded_for_calendar": [str(u) for u in prepared.exclude],
        "never_treated_for_calendar": [str(u) for u in prepared.never_treat],
    }
    table = ctx.studies.drop(columns=["overlap"], errors="ignore").copy()
    for col in ("start", "end"):
        table[col] = table[col].map(period_text)
    return diags, details, table.reset_index(drop=True)
