"""Figures for synthetic control, augmented SC and SDID results.

Kinds: ``trajectory`` (treated vs synthetic), ``gap`` (treated minus synthetic, with the
in-space placebo gaps as a grey spaghetti band), ``weights`` (donor weights) and
``time_weights`` (SDID's pre-period weights). Everything is drawn from ``result.tables``, so
the figures work on a result read back from JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import theme

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

__all__ = ["KINDS", "plot"]

KINDS = ("trajectory", "gap", "weights", "time_weights")


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    """Draw ``kind`` (one of :data:`KINDS`) for a synthetic-control-family result.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="p", design="sdid", outcome="PacksPerCapita",
    ...                          treatment="treated", unit="State", time="Year")
    >>> res = ck.estimate(ck.datasets.load("california_prop99"), spec)
    >>> len(plot(res, "time_weights").data) > 0
    True
    """
    return {"trajectory": _trajectory, "gap": _gap, "weights": _weights,
            "time_weights": _time_weights}[kind](result)


def _first_cohort(df: pd.DataFrame) -> pd.DataFrame:
    if "cohort" in df.columns and len(df):
        return df[df["cohort"].astype(str) == str(df["cohort"].iloc[0])]
    return df


def _adoption(traj: pd.DataFrame):
    post = traj[traj["post"].astype(bool)]
    return post["time"].iloc[0] if len(post) else None


def _mark_adoption(fig: go.Figure, at) -> None:
    if at is not None:
        fig.add_vline(x=at, line_dash="dot", line_color=theme.COLORS["muted"],
                      annotation_text="treatment starts", annotation_position="top left")


def _trajectory(result: EffectEstimate) -> go.Figure:
    traj = _first_cohort(result.tables["trajectories"])
    name = result.label or result.method
    fig = theme.new_figure(f"{result.outcome}: treated vs synthetic ({name})", "period", result.outcome)
    fig.add_scatter(x=traj["time"], y=traj["treated"], mode="lines", name="treated",
                    line=dict(color=theme.COLORS["treated"], width=2.5))
    fig.add_scatter(x=traj["time"], y=traj["synthetic"], mode="lines", name="synthetic control",
                    line=dict(color=theme.COLORS["counterfactual"], width=2.5, dash="dash"))
    _mark_adoption(fig, _adoption(traj))
    return fig


def _gap(result: EffectEstimate) -> go.Figure:
    traj = _first_cohort(result.tables["trajectories"])
    fig = theme.new_figure(f"Gap: treated minus synthetic {result.outcome}", "period",
                           f"gap in {result.outcome}")
    placebos = result.tables.get("placebo_gaps")
    if placebos is not None and len(placebos):
        pre = traj[~traj["post"].astype(bool)]
        own = float(np.sqrt(np.mean(pre["gap"] ** 2))) if len(pre) else np.inf
        # as in ADH (2010), leave out placebos whose pre-period fit is far worse than the treated's
        keep = placebos[placebos["pre_rmspe"] <= 5 * max(own, 1e-12)]
        first = True
        for _, g in keep.groupby("unit", sort=False):
            fig.add_scatter(x=g["time"], y=g["gap"], mode="lines", name="placebo units",
                            legendgroup="placebo", showlegend=first,
                            line=dict(color=theme.COLORS["placebo"], width=1), hoverinfo="skip")
            first = False
    else:
        post = traj[traj["post"].astype(bool)]
        lo, hi = result.ci
        fig.add_scatter(x=list(post["time"]) + list(post["time"])[::-1],
                        y=[hi] * len(post) + [lo] * len(post), fill="toself", mode="none",
                        fillcolor=theme.COLORS["band"], name=f"{1 - result.alpha:.0%} CI of the effect")
    fig.add_scatter(x=traj["time"], y=traj["gap"], mode="lines", name="treated gap",
                    line=dict(color=theme.COLORS["treated"], width=2.5))
    fig.add_hline(y=0, line_color=theme.COLORS["zero"], line_width=1)
    _mark_adoption(fig, _adoption(traj))
    return fig


def _weights(result: EffectEstimate) -> go.Figure:
    table = result.tables.get("weights")
    if table is None:
        table = result.tables["unit_weights"]
    w = _first_cohort(table)
    w = w.reindex(w["weight"].abs().sort_values(ascending=False).index).head(15)
    w = w[w["weight"].abs() > 1e-6] if (w["weight"].abs() > 1e-6).any() else w
    fig = theme.new_figure("Donor weights (largest 15)", "weight", "donor unit")
    fig.add_bar(x=w["weight"][::-1], y=w["unit"].astype(str)[::-1], orientation="h",
                marker_color=theme.COLORS["estimate"], name="weight")
    return fig


def _time_weights(result: EffectEstimate) -> go.Figure:
    table = result.tables.get("time_weights")
    if table is not None and len(table):
        tw = _first_cohort(table)
        fig = theme.new_figure("SDID time weights over the pre-period", "period", "time weight")
        fig.add_bar(x=tw["time"], y=tw["weight"], marker_color=theme.COLORS["estimate"], name="weight")
        return fig
    traj = _first_cohort(result.tables["trajectories"])
    pre = traj[~traj["post"].astype(bool)]
    fig = theme.new_figure("No time weights: synthetic control matches the pre-period levels equally",
                           "period", "time weight")
    fig.add_bar(x=pre["time"], y=np.full(len(pre), 1.0 / max(len(pre), 1)),
                marker_color=theme.COLORS["muted"], name="equal weight")
    return fig
