"""Figures for interference designs: ring spillover and switchback results.

Spillover kinds: ``effects`` (direct effect, each ring's spillover and the naive DiD with
their intervals), ``distance`` (each unit's post minus pre change against its distance to the
nearest treated unit, from ``tables["units"]``), ``effect``. Switchback kinds: ``schedule``
(policy of each block in each period, burn-in marked), ``carryover`` (lag coefficients with
intervals), ``effect``. Drawn from ``result.tables`` only, so they work on results read back
from JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import theme
from .effect import effect_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

__all__ = ["KINDS", "plot", "kinds_for"]

KINDS = ("effects", "distance", "schedule", "carryover", "effect")


def kinds_for(result: EffectEstimate) -> tuple[str, ...]:
    """The kinds a given result supports."""
    if result.method == "switchback":
        return ("schedule", "carryover", "effect")
    if result.method == "exposure_mapping":
        return ("effects", "effect")
    return ("effects", "distance", "effect")


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    """Draw ``kind`` for a spillover or switchback result.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="ring", design="spillover", outcome="y", unit="geo", time="period",
    ...     treatment="treated", coordinates=["lat", "lon"], spillover={"bands_km": [15, 30]})
    >>> res = ck.estimate(ck.datasets.load("spillover_sim"), spec)
    >>> len(plot(res, "effects").data)
    1
    """
    if kind == "effect":
        return effect_figure(result)
    return {"effects": _effects, "distance": _distance, "schedule": _schedule, "carryover": _carryover}[kind](result)


def _effects(result: EffectEstimate) -> go.Figure:
    eff = result.tables["effects"]
    level = round(100 * (1 - result.alpha))
    fig = theme.new_figure(f"Direct and spillover effects on {result.outcome} ({level}% CI)",
                           f"effect on {result.outcome}", "")
    fig.add_scatter(
        x=eff["estimate"], y=eff["term"], mode="markers", name="estimate",
        marker=dict(color=theme.COLORS["estimate"], size=10),
        error_x=dict(type="data", symmetric=False, array=eff["ci_high"] - eff["estimate"],
                     arrayminus=eff["estimate"] - eff["ci_low"]))
    fig.add_vline(x=0.0, line=dict(color=theme.COLORS["zero"], dash="dot"))
    fig.update_yaxes(autorange="reversed")
    return theme.finish(fig, result.outcome)


def _distance(result: EffectEstimate) -> go.Figure:
    units = result.tables["units"]
    fig = theme.new_figure("Distance of each unit to the nearest treated unit", "distance to nearest treated unit",
                           "units")
    for role, color in (("exposed", theme.COLORS["warn"]), ("far", theme.COLORS["control"])):
        d = units.loc[(units["role"] == role) & np.isfinite(units["distance"]), "distance"]
        fig.add_histogram(x=d, name=role, marker_color=color, opacity=0.75)
    fig.update_layout(barmode="overlay")
    return theme.finish(fig, result.outcome)


def _schedule(result: EffectEstimate) -> go.Figure:
    z = result.tables["schedule"].pivot(index="block", columns="period", values="treated")
    fig = theme.new_figure("Switchback schedule per block and period (blue: policy on, orange: off)", "period",
                           "block")
    fig.add_heatmap(z=z.to_numpy(dtype=float), x=z.columns.tolist(), y=[str(b) for b in z.index],
                    colorscale=[[0, theme.COLORS["control"]], [1, theme.COLORS["treated"]]], zmin=0, zmax=1,
                    showscale=False, hovertemplate="block %{y}, period %{x}: treated %{z}<extra></extra>")
    return theme.finish(fig, result.outcome)


def _carryover(result: EffectEstimate) -> go.Figure:
    lag = result.tables["carryover"]
    level = round(100 * (1 - result.alpha))
    fig = theme.new_figure(f"Effect of the policy k steps ago on {result.outcome} ({level}% CI)",
                           "lag (time steps since the policy applied)", f"effect on {result.outcome}")
    fig.add_scatter(x=lag["lag"], y=lag["estimate"], mode="markers+lines", name="lag effect",
                    marker=dict(color=theme.COLORS["estimate"], size=9),
                    error_y=dict(type="data", symmetric=False, array=lag["ci_high"] - lag["estimate"],
                                 arrayminus=lag["estimate"] - lag["ci_low"]))
    fig.add_hline(y=0.0, line=dict(color=theme.COLORS["zero"], dash="dot"))
    return theme.finish(fig, result.outcome)
