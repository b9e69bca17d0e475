"""The one plotly theme of causal_kit: fonts, a colour-blind-safe palette, clean axes.

Use :func:`new_figure` to start a figure and :data:`COLORS` for roles, so that every chart in
the package and its reports looks the same and reads in grayscale.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

__all__ = ["COLORS", "PALETTE", "TEMPLATE_NAME", "new_figure", "band_color"]

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
        legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0.0),
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
