"""Figures for structural time-series (``bsts``) results, in the CausalImpact layout.

Kinds: ``impact`` (three stacked panels: observed against the predicted counterfactual with
its band; the pointwise effect with its band; the cumulative effect with its band),
``pointwise`` and ``effect``. Drawn from ``result.tables["series"]`` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import theme
from .effect import effect_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

__all__ = ["KINDS", "plot"]

KINDS = ("impact", "pointwise", "effect")


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    """Draw ``kind`` (one of :data:`KINDS`) for a structural time-series result.

    Examples
    --------
    >>> import causal_kit as ck
    >>> panel = ck.datasets.simulate_geo_panel(n_geos=6, n_days=90, treated=1, effect=0.1, seed=2)
    >>> spec = ck.ExperimentSpec(name="its", design="its", outcome="kpi", unit="geo", time="date",
    ...                          treatment="treated")
    >>> len(plot(ck.estimate(panel, spec), "impact").data)
    7
    """
    if kind == "effect":
        return effect_figure(result)
    if kind == "pointwise":
        fig = theme.new_figure(f"Pointwise effect on {result.outcome}", "period", f"effect on {result.outcome}")
        _panel(fig, result, "effect", None)
        return fig
    return _impact(result)


def _band(fig, x, low, high, name, row):
    kwargs = {} if row is None else dict(row=row, col=1)
    fig.add_scatter(x=list(x) + list(x)[::-1], y=list(high) + list(low)[::-1], fill="toself",
                    fillcolor=theme.COLORS["band"], line=dict(width=0), name=name, showlegend=row in (None, 1),
                    hoverinfo="skip", **kwargs)


def _panel(fig, result, column, row):
    series = result.tables["series"]
    post = series[series["post"].astype(bool)]
    level = round(100 * (1 - result.alpha))
    kwargs = {} if row is None else dict(row=row, col=1)
    _band(fig, post["time"], post[f"{column}_low"], post[f"{column}_high"], f"{level}% band", row)
    data = series if column != "cumulative" else post
    fig.add_scatter(x=data["time"], y=data[column], mode="lines", name=column, showlegend=False,
                    line=dict(color=theme.COLORS["estimate"]), **kwargs)
    fig.add_hline(y=0, line=dict(color=theme.COLORS["zero"], dash="dash", width=1), **kwargs)
    if len(post):
        fig.add_vline(x=post["time"].iloc[0], line=dict(color=theme.COLORS["muted"], dash="dot"), **kwargs)


def _impact(result: EffectEstimate) -> go.Figure:
    from plotly.subplots import make_subplots

    series = result.tables["series"]
    post = series[series["post"].astype(bool)]
    level = round(100 * (1 - result.alpha))
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("observed and predicted", "pointwise effect", "cumulative effect"))
    fig.update_layout(template=theme.TEMPLATE_NAME, height=720,
                      title=f"{result.outcome}: effect of the intervention ({level}% bands)")
    _band(fig, post["time"], post["predicted_low"], post["predicted_high"], f"{level}% band", 1)
    fig.add_scatter(x=series["time"], y=series["observed"], mode="lines", name="observed",
                    line=dict(color=theme.COLORS["treated"]), row=1, col=1)
    fig.add_scatter(x=series["time"], y=series["predicted"], mode="lines", name="predicted (counterfactual)",
                    line=dict(color=theme.COLORS["counterfactual"], dash="dash"), row=1, col=1)
    if len(post):
        fig.add_vline(x=post["time"].iloc[0], line=dict(color=theme.COLORS["muted"], dash="dot"), row=1, col=1)
    _panel(fig, result, "effect", 2)
    _panel(fig, result, "cumulative", 3)
    for row, label in ((1, result.outcome), (2, "effect"), (3, "cumulative effect")):
        fig.update_yaxes(title_text=label, row=row, col=1)
    fig.update_xaxes(title_text="period", row=3, col=1)
    return fig
