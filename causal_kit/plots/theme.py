"""The one plotly theme of causal_kit: fonts, a colour-blind-safe palette, clean axes.

Use :func:`new_figure` to start a figure and :data:`COLORS` for roles, so that every chart in
the package and its reports looks the same and reads in grayscale.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

__all__ = ["COLORS", "PALETTE", "TEMPLATE_NAME", "new_figure", "band_color", "finish"]

# Okabe-Ito palette: distinguishable for the common colour-vision deficiencies and
# ordered so neighbouring series differ in lightness too (readable in grayscale).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

COLORS = {
    "treated": "#0072B2",
    "control": "#D55E00",
    "counterfactual": "#D55E00",
    "estimate": "#0072B2",
    "band": "rgba(0, 114, 178, 0.18)",
    "placebo": "rgba(120, 120, 120, 0.35)",
    "zero": "#555555",
    "pass": "#009E73",
    "warn": "#E69F00",
    "fail": "#D55E00",
    "muted": "#888888",
    "grid": "#E6E6E6",
}

TEMPLATE_NAME = "causal_kit"

_template = go.layout.Template(
    layout=go.Layout(
        font=dict(family="Inter, 'Segoe UI', Helvetica, Arial, sans-serif", size=13, color="#222222"),
        title=dict(font=dict(size=16), x=0.0, xanchor="left"),
        colorway=PALETTE,
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis=dict(showgrid=True, gridcolor=COLORS["grid"], zeroline=False, linecolor="#888", ticks="outside",
                   automargin=True),
        yaxis=dict(showgrid=True, gridcolor=COLORS["grid"], zeroline=False, linecolor="#888", ticks="outside",
                   automargin=True),
        # Legends sit under the plot so that they never cover the title, at any width.
        legend=dict(orientation="h", yanchor="top", y=-0.3, xanchor="left", x=0.0),
        modebar=dict(orientation="v"),
        margin=dict(l=60, r=20, t=60, b=60),
        hovermode="closest",
    )
)
pio.templates[TEMPLATE_NAME] = _template


def new_figure(title: str = "", x_title: str = "", y_title: str = "", **layout: Any) -> go.Figure:
    """An empty figure in the causal_kit theme with the given title and axis labels."""
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE_NAME, title=title, xaxis_title=x_title, yaxis_title=y_title, **layout)
    return fig


def band_color(hex_color: str, opacity: float = 0.18) -> str:
    """An rgba fill colour from a hex colour, for confidence bands."""
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {opacity})"


_MIDNIGHT = re.compile(r"(\d{4}-\d{2}-\d{2})[T ]00:00:00(\.0+)?(\+00:00|Z)?")


def _clean_text(value: Any) -> Any:
    return _MIDNIGHT.sub(r"\1", value) if isinstance(value, str) else value


def _integer_axis(values: list[Any]) -> tuple[float, float] | None:
    nums = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            return None
        if not math.isfinite(float(v)) or float(v) != int(float(v)):
            return None
        nums.append(float(v))
    return (min(nums), max(nums)) if len(nums) >= 2 else None


def finish(fig: go.Figure, outcome: str = "", label: str = "") -> go.Figure:
    """Last touches every figure gets: the outcome's label instead of its column name, dates
    without a midnight time, and whole-number ticks on integer period axes (2003, never 2,003.5)."""
    swap = bool(outcome and label and outcome != label)

    def text(s: Any) -> Any:
        s = _clean_text(s)
        return re.sub(rf"\b{re.escape(outcome)}\b", label, s) if swap and isinstance(s, str) else s

    layout = fig.layout
    if layout.title and layout.title.text:
        fig.update_layout(title_text=text(layout.title.text))
    for axis in ("xaxis", "yaxis"):
        ax = getattr(layout, axis)
        if ax.title and ax.title.text:
            ax.title.text = text(ax.title.text)
    for trace in fig.data:
        if getattr(trace, "name", None):
            trace.name = text(trace.name)
        bar = getattr(trace, "colorbar", None)
        if bar is not None and bar.title and bar.title.text:
            bar.title.text = text(bar.title.text)
        if getattr(trace, "hovertemplate", None):
            trace.hovertemplate = text(trace.hovertemplate)
        for attr in ("x", "y"):
            vals = getattr(trace, attr, None)
            if vals is not None and len(vals) and isinstance(vals[0], str):
                setattr(trace, attr, [_clean_text(v) for v in vals])
    for axis, attr in (("xaxis", "x"), ("yaxis", "y")):
        values = [v for t in fig.data if getattr(t, attr, None) is not None and getattr(t, "xaxis", "x") in (None, "x")
                  for v in list(getattr(t, attr))]
        span = _integer_axis(values)
        if span is not None and span[1] - span[0] >= 2 and span[1] > 1000 and axis == "xaxis":
            # Integer periods such as years: whole-number ticks only.
            step = max(1, math.ceil((span[1] - span[0]) / 10))
            fig.update_xaxes(tickformat="d", dtick=step, tick0=span[0])
    for ann in fig.layout.annotations or ():
        if ann.text:
            ann.text = text(ann.text)
    return fig
