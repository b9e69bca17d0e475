"""The experiment calendar as a Gantt chart: studies x cells over time, overlaps highlighted.

One bar per study and cell (``promo · treatment (5 units)``) from its start to its planned
end. With a ``focus`` study (the one being planned or read out) its window is shaded and each
other study's bars are coloured by what it shares with the focus study in that window:
a conflict (its treated units in the focus study's cells, or the focus study's treated units
in its cells), shared control units only, or nothing. Without a focus, a study overlapping
another in time and units is drawn as a conflict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ..diagnostics.concurrent import as_period, period_text
from .theme import COLORS, band_color, new_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["calendar_gantt", "overlap_pairs"]

_LEGEND = {
    "focus": ("this study", COLORS["treated"]),
    "conflict": ("shares treated units in the window", COLORS["fail"]),
    "shared": ("shares control units only", COLORS["warn"]),
    "clear": ("no shared units", COLORS["muted"]),
}


def _window(row: Any) -> tuple[Any, Any]:
    return as_period(row["start"]), as_period(row["end"])


def _overlap(a: tuple[Any, Any], b: tuple[Any, Any]) -> bool:
    same = isinstance(a[0], pd.Timestamp) == isinstance(b[0], pd.Timestamp)
    return bool(same and a[0] <= b[1] and b[0] <= a[1])


def overlap_pairs(table: pd.DataFrame) -> pd.DataFrame:
    """Pairs of studies live at the same time that share units: ``study_a``, ``study_b``,
    ``kind`` (``conflict`` when either treats a unit the other uses, else ``shared``),
    ``n_units`` and ``units``.

    Examples
    --------
    >>> t = pd.DataFrame({"study": ["a", "a", "b", "b"], "unit": ["g1", "g2", "g2", "g3"],
    ...                   "role": ["treated", "control", "treated", "control"], "start": 1, "end": 9})
    >>> overlap_pairs(t)[["study_a", "study_b", "kind", "units"]].to_dict("records")
    [{'study_a': 'a', 'study_b': 'b', 'kind': 'conflict', 'units': 'g2'}]
    """
    studies = table.drop_duplicates("study").set_index("study")
    roles = {s: dict(zip(g["unit"].astype(str), g["role"])) for s, g in table.groupby("study")}
    names = sorted(roles)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if not _overlap(_window(studies.loc[a]), _window(studies.loc[b])):
                continue
            shared = sorted(u for u in set(roles[a]) & set(roles[b])
                            if roles[a][u] != "excluded" and roles[b][u] != "excluded")
            if not shared:
                continue
            treated = any("treated" in (roles[a][u], roles[b][u]) for u in shared)
            rows.append({"study_a": a, "study_b": b, "kind": "conflict" if treated else "shared",
                         "n_units": len(shared), "units": ", ".join(shared[:12]) + (" ..." if len(shared) > 12 else "")})
    return pd.DataFrame(rows, columns=["study_a", "study_b", "kind", "n_units", "units"])


def _kinds(table: pd.DataFrame, focus: str | None) -> dict[str, str]:
    pairs = overlap_pairs(table)
    kinds = {str(s): "clear" for s in table["study"].unique()}
    rank = {"clear": 0, "shared": 1, "conflict": 2}
    for p in pairs.itertuples():
        if focus is not None and focus not in (p.study_a, p.study_b):
            continue
        for s in (p.study_a, p.study_b):
            if rank[p.kind] > rank[kinds[s]]:
                kinds[s] = p.kind
    if focus is not None and focus in kinds:
        kinds[focus] = "focus"
    return kinds


def calendar_gantt(table: pd.DataFrame, *, focus: str | None = None, unit_label: str = "units",
                   title: str = "Experiment calendar") -> go.Figure:
    """A Gantt chart of the studies in ``table`` (one row per study and unit, see
    :mod:`causal_kit.diagnostics.concurrent`), one bar per study and cell.

    Examples
    --------
    >>> t = pd.DataFrame({"study": ["a", "a", "b"], "unit": ["g1", "g2", "g2"], "cell": ["treatment", "control",
    ...                   "treatment"], "role": ["treated", "control", "treated"],
    ...                   "start": ["2024-01-01", "2024-01-01", "2024-01-10"], "end": ["2024-01-28"] * 3})
    >>> fig = calendar_gantt(t, focus="a")
    >>> len(fig.data) >= 2
    True
    """
    import plotly.graph_objects as go

    fig = new_figure(title, "", "")
    if table.empty:
        fig.add_annotation(text="no studies in the calendar", showarrow=False, x=0.5, y=0.5, xref="paper",
                           yref="paper")
        return fig
    kinds = _kinds(table, focus)
    order = table.assign(_s=table["start"].map(as_period)).sort_values(["_s", "study"], kind="stable")
    dates = isinstance(as_period(table["start"].iloc[0]), pd.Timestamp)
    # each bar is a thick line from the start to the end of the last period (dates stay dates on the axis)
    bars: dict[str, dict[str, list[Any]]] = {}
    labels: list[str] = []
    for (study, cell), g in order.groupby(["study", "cell"], sort=False):
        s, e = _window(g.iloc[0])
        label = f"{study} · {cell} ({len(g)})"
        labels.append(label)
        stop = e + pd.Timedelta(days=1) if dates else e + 1
        units = ", ".join(g["unit"].astype(str).tolist()[:15]) + (" ..." if len(g) > 15 else "")
        owner = g["owner"].iloc[0] if "owner" in g and isinstance(g["owner"].iloc[0], str) else "n/a"
        hover = (f"<b>{study}</b> · {cell}<br>{period_text(s)} to {period_text(e)}<br>owner: {owner}"
                 f"<br>{len(g)} {unit_label}: {units}")
        b = bars.setdefault(kinds[str(study)], {"x": [], "y": [], "hover": []})
        b["x"] += [period_text(s), period_text(stop), None] if dates else [s, stop, None]
        b["y"] += [label, label, None]
        b["hover"] += [hover, hover, None]
    width = 16 if len(labels) <= 12 else 9
    for kind in ("focus", "conflict", "shared", "clear"):
        if kind not in bars:
            continue
        name, color = _LEGEND[kind]
        b = bars[kind]
        fig.add_trace(go.Scatter(
            x=b["x"], y=b["y"], mode="lines", name=name, line=dict(color=color, width=width),
            hovertext=b["hover"], hoverinfo="text", connectgaps=False,
        ))
    if focus is not None and focus in set(table["study"].astype(str)):
        s, e = _window(table[table["study"].astype(str) == focus].iloc[0])
        x1 = (e + pd.Timedelta(days=1)).isoformat() if dates else e + 1
        fig.add_vrect(x0=s.isoformat() if dates else s, x1=x1, fillcolor=band_color(COLORS["treated"], 0.10),
                      line_width=0, layer="below")
    height = max(300, 200 + 28 * len(labels))
    fig.update_layout(height=height, showlegend=True, margin=dict(t=110, b=40),  # room for a wrapped legend
                      title=dict(y=0.99, yanchor="top", yref="container"),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0.0),
                      yaxis=dict(categoryorder="array", categoryarray=labels[::-1], automargin=True, title=None,
                                 type="category"))
    if dates:
        fig.update_xaxes(type="date")
    return fig
