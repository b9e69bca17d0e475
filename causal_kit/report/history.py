"""An estimate across registry runs: the line with its confidence ribbon, and the run table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ..plots.theme import COLORS, PALETTE, band_color, new_figure
from . import fmt
from .summary import STATUS_LABELS

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["history_figure", "history_rows"]


def history_figure(history: pd.DataFrame) -> go.Figure:
    """One line per (name, method) over time, with its interval as a ribbon.

    Runs whose diagnostics failed are marked with an open symbol.
    """
    df = history.copy()
    df["_t"] = pd.to_datetime(df["timestamp"], utc=True, errors="coerce")
    x_col = "_t" if df["_t"].notna().all() else "run_id"
    fig = new_figure(title="Estimate across runs (with confidence interval)",
                     x_title="Run time" if x_col == "_t" else "Run", y_title="Estimate", height=380)
    fig.add_hline(y=0, line=dict(color=COLORS["zero"], dash="dash", width=1))
    for i, ((name, method), g) in enumerate(df.groupby(["name", "method"], sort=True)):
        g = g.sort_values(x_col)
        color = PALETTE[i % len(PALETTE)]
        x = g[x_col].tolist()
        fig.add_scatter(x=x + x[::-1], y=g["ci_high"].tolist() + g["ci_low"].tolist()[::-1],
                        mode="lines", fill="toself", fillcolor=band_color(color, 0.18), line=dict(width=0),
                        hoverinfo="skip", showlegend=False, name=f"{name} · {method} CI")
        symbols = ["circle-open" if s == "fail" else "circle" for s in g["worst_status"]]
        fig.add_scatter(x=x, y=g["estimate"].tolist(), mode="lines+markers", name=f"{name} · {method}",
                        line=dict(color=color, width=2), marker=dict(size=8, symbol=symbols, color=color),
                        customdata=g["run_id"].astype(str).tolist(),
                        hovertemplate="run %{customdata}: %{y:.4g}<extra></extra>")
    return fig


def history_rows(history: pd.DataFrame) -> list[dict[str, Any]]:
    """The run table as text, newest first."""
    df = history.sort_values("timestamp", ascending=False, kind="stable")
    rows = []
    for r in df.itertuples(index=False):
        rows.append({
            "run_id": str(r.run_id), "timestamp": fmt.timestamp(r.timestamp), "name": str(r.name), "method": str(r.method),
            "estimate": fmt.num(r.estimate, 4), "ci": fmt.interval(r.ci_low, r.ci_high, digits=4),
            "p": fmt.pvalue(r.p_value), "status": str(r.worst_status),
            "status_label": STATUS_LABELS.get(str(r.worst_status), str(r.worst_status)),
        })
    return rows
