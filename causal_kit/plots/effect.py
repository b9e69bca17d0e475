"""Generic figure for any result: the point estimate with its confidence interval."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .theme import COLORS, new_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

KINDS = ("effect",)


def effect_figure(result: EffectEstimate) -> go.Figure:
    """Horizontal point-and-interval chart of the effect, with a zero line."""
    level = round(100 * (1 - result.alpha))
    unit = result.outcome or "outcome"
    fig = new_figure(
        title=f"Estimated effect on {unit} ({level}% CI)",
        x_title=f"Effect on {unit}",
        height=220,
    )
    fig.add_vline(x=0, line=dict(color=COLORS["zero"], dash="dash", width=1))
    fig.add_scatter(
        x=[result.estimate],
        y=[result.label or result.method],
        mode="markers",
        marker=dict(size=12, color=COLORS["estimate"]),
        error_x=dict(
            type="data",
            symmetric=False,
            array=[result.ci[1] - result.estimate],
            arrayminus=[result.estimate - result.ci[0]],
            thickness=2,
            width=8,
        ),
        name=f"estimate and {level}% CI",
        showlegend=False,
    )
    fig.update_yaxes(showgrid=False)
    return fig


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    return effect_figure(result)
