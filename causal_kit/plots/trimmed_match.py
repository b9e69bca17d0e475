"""Figures for trimmed-match results.

Kinds: ``pairs`` (incremental response against incremental spend per geo pair, the fitted
iROAS line through the origin, trimmed pairs marked), ``trim_rates`` (estimate and standard
error at each candidate trim rate, the chosen one marked) and ``effect``. Drawn from
``result.tables`` only, so they work on a result read back from JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import theme
from .effect import effect_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

__all__ = ["KINDS", "plot"]

KINDS = ("pairs", "trim_rates", "effect")


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    """Draw ``kind`` (one of :data:`KINDS`) for a trimmed-match result.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="tm", design="trimmed_match", outcome="response",
    ...     spend="spend", unit="geo", pair="pair", treatment="treated")
    >>> res = ck.estimate(ck.datasets.load("paired_geos_sim"), spec)
    >>> len(plot(res, "pairs").data)
    3
    """
    if kind == "effect":
        return effect_figure(result)
    return {"pairs": _pairs, "trim_rates": _trim_rates}[kind](result)


def _pairs(result: EffectEstimate) -> go.Figure:
    pairs = result.tables["pairs"]
    trimmed = pairs["trimmed"].astype(bool).to_numpy()
    fig = theme.new_figure(
        f"Incremental {result.outcome} against incremental spend, per geo pair",
        "incremental spend (treated minus control)",
        f"incremental {result.outcome} (treated minus control)",
    )
    for mask, name, color in ((~trimmed, "kept pairs", theme.COLORS["treated"]),
                              (trimmed, "trimmed pairs", theme.COLORS["muted"])):
        sub = pairs[mask]
        fig.add_scatter(x=sub["delta_spend"], y=sub["delta_response"], mode="markers", name=name,
                        marker=dict(color=color, size=8, symbol="circle" if name == "kept pairs" else "x"),
                        text=[f"pair {p}" for p in sub["pair"]])
    span = np.array([min(0.0, float(pairs["delta_spend"].min())), float(pairs["delta_spend"].max())])
    fig.add_scatter(x=span, y=result.estimate * span, mode="lines", name=f"iROAS {result.estimate:.3g}",
                    line=dict(color=theme.COLORS["counterfactual"], dash="dash"))
    return fig


def _trim_rates(result: EffectEstimate) -> go.Figure:
    table = result.tables["trim_rates"]
    level = round(100 * (1 - result.alpha))
    fig = theme.new_figure("iROAS by trim rate (chosen rate marked)", "trim rate per tail", "iROAS")
    fig.add_scatter(x=table["trim_rate"], y=table["iroas"], mode="lines+markers", name="iROAS",
                    line=dict(color=theme.COLORS["estimate"]),
                    error_y=dict(type="data", array=1.96 * table["se"], visible=True))
    chosen = table[table["chosen"].astype(bool)]
    fig.add_scatter(x=chosen["trim_rate"], y=chosen["iroas"], mode="markers", name="chosen",
                    marker=dict(size=14, color=theme.COLORS["control"], symbol="diamond"))
    fig.update_layout(annotations=[dict(text=f"bars: +/- 1.96 se; the reported {level}% CI inverts the test",
                                        xref="paper", yref="paper", x=0, y=-0.25, showarrow=False)])
    return fig
