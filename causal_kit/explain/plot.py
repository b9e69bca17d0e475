"""Waterfall chart of a decomposition: before, one bar per component, after."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..plots.theme import COLORS, new_figure
from .result import Decomposition

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["waterfall_figure"]


def waterfall_figure(decomposition: Decomposition, *, period: str = "", max_components: int = 12) -> go.Figure:
    """A plotly waterfall from ``before`` through each component to ``after``.

    Components beyond ``max_components`` (smallest first) are pooled into one "other" bar so
    the bars still add up to the change.

    Examples
    --------
    >>> from causal_kit.explain import mix_rate, simulate_deliveries
    >>> from causal_kit.explain.plot import waterfall_figure
    >>> d = mix_rate(simulate_deliveries(seed=1), period="week", dimensions="route_type", numerator="on_time")
    >>> len(waterfall_figure(d).data[0].x)
    4
    """
    import plotly.graph_objects as go

    comps = decomposition.components
    order = comps["value"].abs().sort_values(ascending=False).index
    keep = list(order[:max_components])
    labels = list(comps.loc[keep, "component"])
    values = list(comps.loc[keep, "value"])
    rest = comps.loc[list(order[max_components:]), "value"].sum() if len(order) > max_components else None
    if rest is not None:
        labels.append(f"other ({len(order) - max_components})")
        values.append(float(rest))
    prefix = f"{period} " if period else ""
    x = [prefix + decomposition.before_label] + labels + [prefix + decomposition.after_label]
    fig = new_figure(title=f"What moved {decomposition.metric}", x_title="", y_title=decomposition.metric)
    fig.add_trace(go.Waterfall(
        x=[str(v) for v in x], measure=["absolute"] + ["relative"] * len(values) + ["total"],
        y=[decomposition.before] + values + [decomposition.after], base=0,
        increasing={"marker": {"color": COLORS.get("treated", "#0072B2")}},
        decreasing={"marker": {"color": "#D55E00"}}, totals={"marker": {"color": "#6b7280"}},
        connector={"line": {"color": "#9aa0a6", "width": 1}}, hovertemplate="%{x}: %{y}<extra></extra>"))
    lo = min(decomposition.before, decomposition.after)
    hi = max(decomposition.before, decomposition.after)
    running, lows, highs = decomposition.before, [], []
    for v in values:
        running += v
        lows.append(running)
        highs.append(running)
    span_lo, span_hi = min([lo] + lows), max([hi] + highs)
    pad = 0.15 * (span_hi - span_lo or abs(span_hi) or 1.0)
    fig.update_yaxes(range=[span_lo - pad, span_hi + pad])
    fig.update_xaxes(type="category")  # period labels such as 19 and 20 are names, not positions
    fig.update_layout(showlegend=False, height=420)
    return fig
