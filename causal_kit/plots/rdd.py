"""Figures for regression discontinuity results.

``binned`` (default): binned means of the outcome with the local-polynomial fit on each side
of the cutoff; ``density``: histogram of the running variable with the estimated densities
at the cutoff; ``sensitivity``: the estimate and robust CI across bandwidth multiples.
Everything is drawn from ``result.tables`` and ``result.details``, so it works after a JSON
round trip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

from . import theme

if TYPE_CHECKING:
    from ..result import EffectEstimate

__all__ = ["KINDS", "plot"]

KINDS = ("binned", "density", "sensitivity")


def _cutoff_line(fig: go.Figure, c: float) -> None:
    fig.add_vline(x=c, line=dict(color=theme.COLORS["zero"], dash="dash", width=1))


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    """Draw ``result`` (an RD estimate) as ``kind``; see :data:`KINDS`.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="senate", design="rdd", outcome="vote", running="margin",
    ...                          cutoff=0.0, na_action="drop")
    >>> res = ck.estimate(ck.datasets.load("senate"), spec, diagnostics=False)
    >>> fig = plot(res, "binned")
    """
    d = result.details
    c = float(d.get("cutoff", 0.0))
    running = str(d.get("running", "running variable"))
    outcome = result.outcome or "outcome"
    if kind == "binned":
        fig = theme.new_figure(f"Discontinuity in {outcome} at {running} = {c:g}", running, outcome)
        binned = result.tables["binned"]
        for side, color in (("left", theme.COLORS["control"]), ("right", theme.COLORS["treated"])):
            b = binned[binned["side"] == side]
            fig.add_trace(go.Scatter(x=b["x"], y=b["y"], mode="markers", name=f"binned means ({side})",
                                     marker=dict(color=color, size=7, opacity=0.75),
                                     customdata=b["n"], hovertemplate="x=%{x:.3g}<br>mean=%{y:.3g}<br>n=%{customdata}"))
            f = result.tables["fit"]
            f = f[f["side"] == side].sort_values("x")
            fig.add_trace(go.Scatter(x=f["x"], y=f["y"], mode="lines", name=f"local polynomial fit ({side})",
                                     line=dict(color=color, width=3)))
        _cutoff_line(fig, c)
        return fig
    if kind == "density":
        fig = theme.new_figure(f"Density of {running} around the cutoff", running, "density")
        hist = result.tables["histogram"]
        fig.add_trace(go.Bar(x=(hist["left_edge"] + hist["right_edge"]) / 2, y=hist["density"],
                             width=hist["right_edge"] - hist["left_edge"], name="histogram",
                             marker=dict(color=theme.COLORS["muted"], opacity=0.5)))
        if "density" in result.tables:
            dens = result.tables["density"]
            z = 1.959963984540054
            for _, row in dens.iterrows():
                color = theme.COLORS["control"] if row["side"] == "left" else theme.COLORS["treated"]
                fig.add_trace(go.Scatter(x=[c], y=[row["f"]], mode="markers", name=f"density at cutoff ({row['side']})",
                                         marker=dict(color=color, size=10),
                                         error_y=dict(type="data", array=[z * row["se"]], visible=True)))
        _cutoff_line(fig, c)
        return fig
    fig = theme.new_figure(f"Effect on {outcome} across bandwidths", "bandwidth h (multiple of the selected h)",
                           f"effect on {outcome}")
    sens = result.tables.get("sensitivity")
    if sens is not None and len(sens):
        fig.add_trace(go.Scatter(
            x=sens["multiplier"], y=sens["estimate"], mode="markers+lines", name="estimate (conventional)",
            marker=dict(color=theme.COLORS["estimate"], size=8),
            error_y=dict(type="data", symmetric=False, array=sens["ci_high"] - sens["estimate"],
                         arrayminus=sens["estimate"] - sens["ci_low"], visible=True),
            customdata=sens["h"], hovertemplate="h=%{customdata:.4g}<br>estimate=%{y:.4g}"))
    else:
        lo, hi = result.ci
        fig.add_trace(go.Scatter(x=[1.0], y=[result.estimate], mode="markers", name="estimate",
                                 error_y=dict(type="data", symmetric=False, array=[hi - result.estimate],
                                              arrayminus=[result.estimate - lo], visible=True),
                                 marker=dict(color=theme.COLORS["estimate"], size=8)))
    fig.add_hline(y=0, line=dict(color=theme.COLORS["zero"], width=1))
    return fig
