"""The portfolio-level "concurrent studies" page: every study in the calendar on one Gantt chart,
the pairs that overlap in time and units, and one row per study."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..diagnostics.concurrent import calendar_rows, period_text
from ..plots.calendar import calendar_gantt, overlap_pairs
from . import fmt
from .html import _Figures, _finish, _page, _template

__all__ = ["render_calendar", "calendar_context"]


def _studies(table: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for study, g in table.groupby("study", sort=False):
        first = g.iloc[0]
        owner = first["owner"] if isinstance(first.get("owner"), str) else "n/a"
        rows.append({
            "name": str(study), "owner": owner, "status": str(first["status"]).replace("ended", "closed"),
            "window": f"{period_text(first['start'])} to {period_text(first['end'])}",
            "n_treated": fmt.count(int((g["role"] == "treated").sum())),
            "n_control": fmt.count(int((g["role"] == "control").sum())),
            "n_excluded": fmt.count(int((g["role"] == "excluded").sum())),
        })
    return rows


def calendar_context(calendar: Any, title: str | None, figs: _Figures, *, include_closed: bool = False,
                     unit_label: str = "units") -> dict[str, Any]:
    """The page's context: answer, Gantt, overlapping pairs and the studies table."""
    table = calendar_rows(calendar, include_closed)
    if not table.empty:
        order = table["start"].map(lambda v: (str(type(v)), v))
        table = table.assign(_o=order.astype(str)).sort_values(["_o", "study"], kind="stable").drop(columns="_o")
    pairs = overlap_pairs(table) if not table.empty else pd.DataFrame(
        columns=["study_a", "study_b", "kind", "n_units", "units"])
    n_studies = int(table["study"].nunique()) if not table.empty else 0
    n_conflict = int((pairs["kind"] == "conflict").sum())
    answer = (f"{fmt.count(n_studies)} {'study' if n_studies == 1 else 'studies'} in the calendar; "
              + (f"{fmt.count(len(pairs))} overlapping pair(s), {fmt.count(n_conflict)} sharing treated units."
                 if len(pairs) else "none overlaps another in time and units."))
    notes = []
    if n_conflict:
        worst = pairs[pairs["kind"] == "conflict"].sort_values("n_units", ascending=False).iloc[0]
        notes.append(f"Largest conflict: {worst['study_a']} and {worst['study_b']} share {worst['n_units']} units "
                     "while one of them treats them.")
    labels = {"conflict": ("fail", "shares treated units"), "shared": ("warn", "shares control units")}
    return {
        "page": _page(title or "Concurrent studies", [f"{fmt.count(n_studies)} studies",
                                                      "closed studies included" if include_closed else "live studies"],
                      "calendar"),
        "answer": answer, "notes": notes,
        "gantt": figs.add(calendar_gantt(table, unit_label=unit_label), "calendar") if n_studies else None,
        "pairs": [{**p, "status": labels[p["kind"]][0], "label": labels[p["kind"]][1], "n_units": fmt.count(p["n_units"])}
                  for p in pairs.to_dict("records")],
        "studies": _studies(table) if n_studies else [],
    }


def render_calendar(calendar: Any, title: str | None = None, *, include_closed: bool = False,
                    template: str | Path | None = None, plotlyjs: str = "auto") -> str:
    """Render the experiment calendar as the "concurrent studies" page (self-contained HTML).

    Parameters
    ----------
    calendar : Calendar or table
        A :class:`causal_kit.registry.Calendar` or a table with one row per study and unit
        (``study, unit, cell, role, start, end``, optionally ``status`` and ``owner``).
    title : str, optional
    include_closed : bool
        Also draw closed studies (default: live ones only).

    Examples
    --------
    >>> import pandas as pd
    >>> import causal_kit as ck
    >>> t = pd.DataFrame({"study": ["a", "a", "b", "b"], "unit": ["g1", "g2", "g2", "g3"],
    ...                   "cell": ["treatment", "control", "treatment", "control"],
    ...                   "role": ["treated", "control", "treated", "control"], "start": "2024-03-01",
    ...                   "end": "2024-03-28"})
    >>> "shares treated units" in ck.report.render_calendar(t)
    True
    """
    figs = _Figures()
    context = calendar_context(calendar, title, figs, include_closed=include_closed)
    return _finish(_template(template, "calendar_report.html"), context, figs, plotlyjs)
