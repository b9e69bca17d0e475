"""Figures for bandit price-exploration simulations.

Kinds: ``regret`` (cumulative regret against the oracle price, mean and replication band per
policy), ``profit`` (cumulative profit, the same way) and ``allocation`` (share of traffic
on each price over time, one figure per policy). Drawn from the simulation's tables only
(``curves``, ``allocation``), so any object with those tables works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import theme

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["KINDS", "curve_figure", "allocation_figure"]

KINDS = ("regret", "profit", "allocation")


def curve_figure(sim: Any, kind: str = "regret") -> go.Figure:
    """Cumulative regret or profit per policy with its replication band.

    Examples
    --------
    >>> from causal_kit.bandits.demand import DemandModel
    >>> from causal_kit.bandits.simulate import simulate_bandit
    >>> sim = simulate_bandit(DemandModel(elasticity=-2.5), [8, 9, 10], unit_cost=5.0, horizon=20, n_reps=10)
    >>> len(curve_figure(sim, "regret").data)
    9
    """
    col = "cum_regret" if kind == "regret" else "cum_profit"
    band = round(100 * sim.band)
    what = "regret against the oracle price" if kind == "regret" else "profit"
    fig = theme.new_figure(f"Cumulative {what} (mean, {band}% of replications shaded)", "period",
                           f"cumulative {what}")
    for i, (name, df) in enumerate(sim.curves.groupby("policy", sort=False)):
        color = theme.PALETTE[i % len(theme.PALETTE)]
        fig.add_scatter(x=df["period"], y=df[f"{col}_hi"], mode="lines", line=dict(width=0), showlegend=False,
                        hoverinfo="skip", legendgroup=name)
        fig.add_scatter(x=df["period"], y=df[f"{col}_lo"], mode="lines", line=dict(width=0), fill="tonexty",
                        fillcolor=theme.band_color(color), showlegend=False, hoverinfo="skip", legendgroup=name)
        fig.add_scatter(x=df["period"], y=df[col], mode="lines", name=name, line=dict(color=color),
                        legendgroup=name)
    return fig


def allocation_figure(sim: Any, policy: str) -> go.Figure:
    """Share of traffic on each price over time for one policy (stacked areas)."""
    from plotly.colors import sample_colorscale

    df = sim.allocation[sim.allocation["policy"] == policy]
    fig = theme.new_figure(f"Share of traffic per price over time: {policy}", "period", "share of traffic")
    groups = list(df.groupby("price", sort=True))
    # prices are ordered: a sequential scale (low price dark, high price light) reads better than a palette
    colors = sample_colorscale("Viridis", [i / max(len(groups) - 1, 1) for i in range(len(groups))])
    for (price, g), color in zip(groups, colors):
        fig.add_scatter(x=g["period"], y=g["share"], mode="lines", stackgroup="one", name=f"price {price:g}",
                        line=dict(width=0.5, color=color))
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    return fig
