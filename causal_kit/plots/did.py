"""Figures for the difference-in-differences family (did, event_study, staggered_did, sun_abraham,
did_imputation, did2s, did_multiplegt).

Every figure is drawn from the result's tables alone, so it also works on a result loaded
back from JSON: the event study with pointwise intervals and simultaneous bands, the
group-time ATT heatmap, treated-vs-control outcome trends, the Goodman-Bacon scatter and the
HonestDiD sensitivity plot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import theme

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

__all__ = ["KINDS", "kinds_for", "plot"]

KINDS = ("event_study", "att_gt", "trends", "bacon", "honest_did")

_NEEDS = {"event_study": ("event_study",), "att_gt": ("att_gt", "cohort_effects"), "trends": ("trends",),
          "bacon": ("bacon",), "honest_did": ("honest_did",)}


def kinds_for(result: EffectEstimate) -> tuple[str, ...]:
    """The kinds whose tables ``result`` carries (event study first when present).

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="m", design="did", outcome="lemp", unit="countyreal",
    ...                          time="year", cohort="first.treat")
    >>> from causal_kit.estimators.did import DiD
    >>> kinds_for(DiD().fit(ck.datasets.load("mpdta"), spec))
    ('trends', 'bacon')
    """
    out = []
    for kind in KINDS:
        tables = [result.tables.get(name) for name in _NEEDS[kind]]
        if any(t is not None and len(t) for t in tables):
            out.append(kind)
    return tuple(out) or ("trends",)


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    """Draw ``kind`` for a DiD-family result.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="m", design="event_study", outcome="lemp", unit="countyreal",
    ...                          time="year", cohort="first.treat")
    >>> fig = ck.estimate(ck.datasets.load("mpdta"), spec).plot("event_study")
    >>> len(fig.data) > 0
    True
    """
    return {"event_study": _event_study, "att_gt": _att_gt, "trends": _trends, "bacon": _bacon,
            "honest_did": _honest}[kind](result)


def _y_label(result: EffectEstimate) -> str:
    return f"Effect on {result.outcome}" if result.outcome else "Effect"


def _event_study(result: EffectEstimate) -> go.Figure:
    import plotly.graph_objects as go

    es = result.tables["event_study"].sort_values("event_time")
    level = round(100 * (1 - result.alpha))
    fig = theme.new_figure(f"{result.label or result.method}: effects by event time",
                           "Periods since treatment start", _y_label(result))
    x = es["event_time"].to_numpy()
    fig.add_trace(go.Scatter(
        x=np.concatenate([x, x[::-1]]), y=np.concatenate([es["band_high"], es["band_low"][::-1]]),
        fill="toself", fillcolor=theme.COLORS["band"], line=dict(width=0), hoverinfo="skip",
        name=f"{level}% simultaneous band"))
    est = es[~es["reference"].astype(bool)] if "reference" in es else es
    ref = es[es["reference"].astype(bool)] if "reference" in es else es.iloc[0:0]
    fig.add_trace(go.Scatter(
        x=est["event_time"], y=est["estimate"], mode="markers+lines", name=f"estimate ({level}% CI)",
        marker=dict(color=theme.COLORS["estimate"], size=8), line=dict(color=theme.COLORS["estimate"], width=1),
        error_y=dict(type="data", symmetric=False, array=est["ci_high"] - est["estimate"],
                     arrayminus=est["estimate"] - est["ci_low"], color=theme.COLORS["estimate"])))
    if len(ref):
        fig.add_trace(go.Scatter(x=ref["event_time"], y=ref["estimate"], mode="markers", name="reference (0)",
                                 marker=dict(color="white", size=9, line=dict(color=theme.COLORS["muted"], width=2))))
    fig.add_hline(y=0, line=dict(color=theme.COLORS["zero"], width=1, dash="dot"))
    fig.add_vline(x=-0.5, line=dict(color=theme.COLORS["muted"], width=1, dash="dash"))
    return fig


def _att_gt(result: EffectEstimate) -> go.Figure:
    import plotly.graph_objects as go

    if "att_gt" in result.tables:
        tab, col, x_title = result.tables["att_gt"], "time", "Period"
    else:
        tab, col, x_title = result.tables["cohort_effects"], "event_time", "Periods since treatment start"
    pivot = tab.pivot_table(index="group", columns=col, values="estimate", aggfunc="first")
    z = pivot.to_numpy()
    lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    fig = theme.new_figure(f"{result.label or result.method}: group-time effects", x_title, "Treatment cohort")
    fig.add_trace(go.Heatmap(
        z=z, x=[str(c) for c in pivot.columns], y=[str(i) for i in pivot.index], zmid=0, zmin=-lim, zmax=lim,
        colorscale=[[0, theme.COLORS["control"]], [0.5, "#F7F7F7"], [1, theme.COLORS["treated"]]],
        colorbar=dict(title=_y_label(result)),
        hovertemplate="cohort %{y}, " + col + " %{x}: %{z:.4g}<extra></extra>"))
    fig.update_yaxes(type="category")
    fig.update_xaxes(type="category")
    return fig


def _trends(result: EffectEstimate) -> go.Figure:
    import plotly.graph_objects as go

    tr = result.tables["trends"]
    fig = theme.new_figure("Mean outcome: treated cohorts vs never treated", "Period",
                           f"Mean {result.outcome}" if result.outcome else "Mean outcome")
    palette = [c for c in theme.PALETTE if c != theme.COLORS["control"]]
    i = 0
    for group, sub in tr.groupby("group", sort=False):
        never = group == "never treated"
        color = theme.COLORS["control"] if never else palette[i % len(palette)]
        i += 0 if never else 1
        fig.add_trace(go.Scatter(x=sub["time"], y=sub["mean"], mode="lines+markers", name=str(group),
                                 line=dict(color=color, width=3 if never else 2, dash="dash" if never else "solid")))
    return fig


def _bacon(result: EffectEstimate) -> go.Figure:
    import plotly.graph_objects as go

    tab = result.tables["bacon"]
    fig = theme.new_figure("Goodman-Bacon decomposition of the TWFE estimate", "Weight",
                           f"2x2 DiD estimate ({result.outcome})" if result.outcome else "2x2 DiD estimate")
    colors = {"treated_vs_never": theme.COLORS["treated"], "earlier_vs_later": theme.PALETTE[2],
              "later_vs_earlier": theme.COLORS["fail"]}
    names = {"treated_vs_never": "treated vs never treated", "earlier_vs_later": "earlier vs later treated",
             "later_vs_earlier": "later vs earlier treated (forbidden)"}
    for typ, sub in tab.groupby("type", sort=False):
        fig.add_trace(go.Scatter(
            x=sub["weight"], y=sub["estimate"], mode="markers", name=names.get(typ, typ),
            marker=dict(size=11, color=colors.get(typ, theme.COLORS["muted"])),
            text=[f"{a} vs {b}" for a, b in zip(sub["treated"], sub["control"])],
            hovertemplate="%{text}<br>weight %{x:.3f}, estimate %{y:.4g}<extra></extra>"))
    fig.add_hline(y=result.estimate, line=dict(color=theme.COLORS["zero"], dash="dash"),
                  annotation_text=f"TWFE {result.estimate:.4g}")
    return fig


def _honest(result: EffectEstimate) -> go.Figure:
    import plotly.graph_objects as go

    tab = result.tables["honest_did"]
    level = round(100 * (1 - result.alpha))
    fig = theme.new_figure("Sensitivity to parallel-trends violations (relative magnitudes)",
                           "M-bar: post-period violation relative to the largest pre-period change",
                           f"Average post-period effect on {result.outcome}" if result.outcome else "Effect")
    mid = (tab["lower"] + tab["upper"]) / 2
    fig.add_trace(go.Scatter(
        x=tab["mbar"], y=mid, mode="markers", name=f"robust {level}% CI", marker=dict(size=1, color=theme.COLORS["estimate"]),
        error_y=dict(type="data", symmetric=False, array=tab["upper"] - mid, arrayminus=mid - tab["lower"],
                     color=theme.COLORS["estimate"], width=6)))
    if {"id_lower", "id_upper"} <= set(tab.columns):  # the exact ARP sets carry no identified set
        fig.add_trace(go.Scatter(x=tab["mbar"], y=tab["id_lower"], mode="lines", name="identified set",
                                 line=dict(color=theme.COLORS["muted"], dash="dash")))
        fig.add_trace(go.Scatter(x=tab["mbar"], y=tab["id_upper"], mode="lines", showlegend=False,
                                 line=dict(color=theme.COLORS["muted"], dash="dash")))
    fig.add_hline(y=0, line=dict(color=theme.COLORS["zero"], width=1, dash="dot"))
    return fig
