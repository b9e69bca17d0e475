"""Figures for instrumental-variables results: first stage, reduced form and the Anderson-Rubin curve.

Everything is drawn from ``result.tables`` (``binned``, ``ar_curve``, ``ar_set``), so the
figures also work on a result rebuilt from JSON.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .theme import COLORS, band_color, new_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

KINDS = ("first_stage", "reduced_form", "anderson_rubin", "effect")


def _binned(result: EffectEstimate, panel: str) -> go.Figure:
    table = result.tables["binned"]
    sub = table[table["panel"] == panel]
    variable = str(sub["variable"].iloc[0])
    instrument = str(sub["instrument"].iloc[0])
    what = "First stage" if panel == "first_stage" else "Reduced form"
    fig = new_figure(
        title=f"{what}: {variable} by {instrument} (binned, covariates partialled out)",
        x_title=f"{instrument} (residualised, mean added back)",
        y_title=f"{variable} (residualised, mean added back)",
    )
    fig.add_scatter(x=sub["z"], y=sub["mean"], mode="markers", name="bin mean",
                    marker=dict(size=9, color=COLORS["estimate"]),
                    customdata=sub["n"], hovertemplate="%{x:.3g}: %{y:.4g} (n=%{customdata})<extra></extra>")
    slope = float(sub["slope"].iloc[0])
    fig.add_scatter(x=sub["z"], y=sub["fit"], mode="lines", name=f"fit (slope {slope:.4g})",
                    line=dict(color=COLORS["control"], width=2))
    return fig


def _ar(result: EffectEstimate) -> go.Figure:
    level = round(100 * (1 - result.alpha))
    unit = result.outcome or "outcome"
    if "ar_curve" not in result.tables:
        fig = new_figure(title="Anderson-Rubin set: not computed (several endogenous regressors)")
        fig.add_scatter(x=[result.estimate], y=[0], mode="markers", name="estimate")
        return fig
    curve = result.tables["ar_curve"]
    aset = result.tables["ar_set"]
    set_type = str(aset["set_type"].iloc[0])
    fig = new_figure(
        title=f"Anderson-Rubin statistic and {level}% confidence set ({set_type.replace('_', ' ')})",
        x_title=f"Hypothesised effect on {unit}", y_title=f"AR statistic ({aset['kind'].iloc[0]})",
    )
    lo_x, hi_x = float(curve["beta"].min()), float(curve["beta"].max())
    for lo, hi in zip(aset["lower"], aset["upper"]):
        if lo is None or hi is None or (isinstance(lo, float) and math.isnan(lo)):
            continue
        a, b = max(float(lo), lo_x), min(float(hi), hi_x)
        if a < b:
            fig.add_vrect(x0=a, x1=b, fillcolor=band_color(COLORS["estimate"]), line_width=0, layer="below")
    fig.add_scatter(x=curve["beta"], y=curve["statistic"], mode="lines", name="AR statistic",
                    line=dict(color=COLORS["estimate"], width=2))
    fig.add_scatter(x=[lo_x, hi_x], y=[float(curve["critical_value"].iloc[0])] * 2, mode="lines",
                    name=f"{level}% critical value", line=dict(color=COLORS["control"], dash="dash"))
    fig.add_scatter(x=[result.ci[0], result.ci[1]], y=[0, 0], mode="lines+markers",
                    name=f"Wald {level}% CI", line=dict(color=COLORS["muted"], width=4))
    fig.add_vline(x=result.estimate, line=dict(color=COLORS["zero"], dash="dot", width=1))
    return fig


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    """Draw an IV result: ``first_stage``, ``reduced_form``, ``anderson_rubin`` or ``effect``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="card", design="iv", outcome="lwage", endogenous=["educ"],
    ...                          instruments=["nearc4"], covariates=["exper", "black"])
    >>> ck.estimate(ck.datasets.load("card"), spec).plot("anderson_rubin").layout.xaxis.title.text
    'Hypothesised effect on lwage'
    """
    if kind in ("first_stage", "reduced_form"):
        return _binned(result, kind)
    if kind == "anderson_rubin":
        return _ar(result)
    from .effect import effect_figure

    return effect_figure(result)
