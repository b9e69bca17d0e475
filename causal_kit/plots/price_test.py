"""Figures for price-test results.

Kinds: ``profit_curve`` (total profit per period over the tested prices with the band implied
by the elasticity interval, the recommended price marked), ``arms`` (modelled change in
units, revenue and margin at each tested price with intervals) and ``effect`` (the
elasticity). Drawn from ``result.tables`` and ``result.details`` only, so they work on a
result read back from JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import theme
from .effect import effect_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

__all__ = ["KINDS", "plot"]

KINDS = ("profit_curve", "arms", "effect")


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    """Draw ``kind`` (one of :data:`KINDS`) for a price-test result.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="p", design="price_test", outcome="units", treatment="price",
    ...                          unit="product", time="week")
    >>> res = ck.estimate(ck.datasets.load("price_test_sim"), spec)
    >>> len(plot(res, "profit_curve").data)
    4
    """
    if kind == "effect":
        return effect_figure(result)
    return {"profit_curve": _profit_curve, "arms": _arms}[kind](result)


def _x(table: object, result: EffectEstimate) -> tuple[str, str]:
    if "price" in table.columns:
        return "price", "price"
    return "relative_price", "price relative to each product's reference price"


def _profit_curve(result: EffectEstimate) -> go.Figure:
    curve = result.tables["profit_curve"]
    col, label = _x(curve, result)
    basis = result.details.get("margin_basis", "margin")
    name = "profit" if basis == "margin" else "revenue"
    level = round(100 * (1 - result.alpha))
    fig = theme.new_figure(f"Total {name} per period across the tested prices ({level}% band)", label,
                           f"{name} per period (all products)")
    fig.add_scatter(x=curve[col], y=curve["profit_hi"], mode="lines", line=dict(width=0), showlegend=False,
                    hoverinfo="skip")
    fig.add_scatter(x=curve[col], y=curve["profit_lo"], mode="lines", line=dict(width=0), fill="tonexty",
                    fillcolor=theme.COLORS["band"], name=f"{level}% band")
    fig.add_scatter(x=curve[col], y=curve["profit"], mode="lines", name=name,
                    line=dict(color=theme.COLORS["estimate"]))
    rec = result.details.get("recommended_price" if col == "price" else "recommended_relative_price")
    if rec is not None:
        at = curve.iloc[(curve[col] - rec).abs().argmin()]
        fig.add_scatter(x=[rec], y=[at["profit"]], mode="markers", name="recommended price",
                        marker=dict(size=13, symbol="diamond", color=theme.COLORS["treated"]))
    return fig


def _arms(result: EffectEstimate) -> go.Figure:
    arms = result.tables["arms"]
    col, label = _x(arms, result)
    fig = theme.new_figure("Modelled change per product-week at each tested price", label,
                           "change against the reference price")
    for key, color in zip(("units", "revenue", "margin"), theme.PALETTE):
        pct = 100 * arms[f"{key}_change_pct"]
        fig.add_scatter(x=arms[col], y=pct, mode="lines+markers", name=key, line=dict(color=color),
                        error_y=dict(type="data", visible=True, array=100 * arms[f"{key}_change_pct_hi"] - pct,
                                     arrayminus=pct - 100 * arms[f"{key}_change_pct_lo"]))
    fig.update_yaxes(ticksuffix="%")
    return fig
