"""Figures for long-term effects: the surrogate index and effect decay.

Surrogate-index results (method ``surrogate``): the estimate as surrogates are added
(``surrogate_path``), short-term vs projected long-term effects (``long_term``) and the
comparability of the two samples (``comparability``). Decay results (method ``decay``): the
observed effect path, the fitted decay and the projection band (``decay``). Everything is
drawn from ``result.tables``, so the figures also work on a result rebuilt from JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .theme import COLORS, band_color, new_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

KINDS = ("surrogate_path", "long_term", "comparability", "decay")


def kinds_for(result: EffectEstimate) -> tuple[str, ...]:
    """Decay results draw ``decay`` and ``long_term``; surrogate results the other three."""
    if result.method == "decay":
        return ("decay", "long_term")
    return ("surrogate_path", "long_term", "comparability")


def _level(result: EffectEstimate) -> int:
    return round(100 * (1 - result.alpha))


def _surrogate_path(result: EffectEstimate) -> go.Figure:
    path = result.tables["surrogate_path"]
    fig = new_figure(title=f"Long-term effect as surrogates are added ({_level(result)}% CI)",
                     x_title="Surrogates in the index (first q)", y_title=f"Effect on {result.outcome}")
    labels = [f"{q}: {s}" for q, s in zip(path["q"], path["last_surrogate"])]
    fig.add_scatter(x=labels, y=path["estimate"], mode="lines+markers", name="surrogate index",
                    line=dict(color=COLORS["estimate"], width=2),
                    error_y=dict(type="data", symmetric=False, array=path["ci_high"] - path["estimate"],
                                 arrayminus=path["estimate"] - path["ci_low"], color=COLORS["estimate"]))
    if "validation" in result.tables:
        exp = float(result.tables["validation"]["estimate"].iloc[0])
        fig.add_scatter(x=[labels[0], labels[-1]], y=[exp, exp], mode="lines", name="experimental long-term effect",
                        line=dict(color=COLORS["control"], dash="dash"))
    fig.add_hline(y=0, line=dict(color=COLORS["zero"], width=1, dash="dot"))
    return fig


def _long_term(result: EffectEstimate) -> go.Figure:
    table = result.tables["long_term"]
    fig = new_figure(title=f"Short-term effect, projected long-term effect and checks ({_level(result)}% CI)",
                     x_title=f"Effect on {result.outcome}", y_title="")
    fig.add_scatter(x=table["estimate"], y=table["stage"], mode="markers", name="estimate",
                    marker=dict(size=10, color=COLORS["estimate"]),
                    error_x=dict(type="data", symmetric=False, array=table["ci_high"] - table["estimate"],
                                 arrayminus=table["estimate"] - table["ci_low"], color=COLORS["estimate"]))
    fig.add_vline(x=0, line=dict(color=COLORS["zero"], width=1, dash="dot"))
    fig.update_yaxes(autorange="reversed")
    return fig


def _comparability(result: EffectEstimate) -> go.Figure:
    table = result.tables["comparability"]
    fig = new_figure(title="Comparability: standardised differences, observational vs experiment arm",
                     x_title="Standardised mean difference", y_title="")
    colors = [COLORS["pass"] if abs(v) < 0.1 else COLORS["warn"] if abs(v) < 0.25 else COLORS["fail"]
              for v in table["smd"]]
    fig.add_scatter(x=table["smd"], y=table["variable"], mode="markers", name="SMD", marker=dict(size=10, color=colors))
    for x in (-0.1, 0.1):
        fig.add_vline(x=x, line=dict(color=COLORS["muted"], width=1, dash="dash"))
    fig.add_vline(x=0, line=dict(color=COLORS["zero"], width=1))
    return fig


def _decay(result: EffectEstimate) -> go.Figure:
    path = result.tables["decay_path"]
    model = str(result.details.get("model", ""))
    fig = new_figure(title=f"Effect path, fitted {model} decay and projection ({_level(result)}% band)",
                     x_title=str(result.details.get("period_label", "period")), y_title=f"Effect on {result.outcome}")
    fig.add_scatter(x=np.r_[path["period"], path["period"][::-1]], y=np.r_[path["fit_high"], path["fit_low"][::-1]],
                    fill="toself", fillcolor=band_color(COLORS["estimate"]), line=dict(width=0), name="fit band",
                    hoverinfo="skip")
    fig.add_scatter(x=path["period"], y=path["fitted"], mode="lines", name=f"fitted {model}",
                    line=dict(color=COLORS["estimate"], width=2))
    obs = path[path["observed"].notna()]
    fig.add_scatter(x=obs["period"], y=obs["observed"], mode="markers", name="observed effect",
                    marker=dict(size=8, color=COLORS["control"]),
                    error_y=dict(type="data", array=1.959963984540054 * obs["observed_se"], color=COLORS["control"]))
    fig.add_hline(y=0, line=dict(color=COLORS["zero"], width=1, dash="dot"))
    return fig


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    """Draw a long-term result: ``surrogate_path``, ``long_term``, ``comparability`` or ``decay``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="s", design="surrogate", treatment="treatment",
    ...     surrogates=["s1", "s2", "s3", "s4"], long_term_outcome="y", sample="sample")
    >>> res = ck.estimate(ck.datasets.load("surrogate_sim"), spec)
    >>> type(plot(res, "surrogate_path")).__name__
    'Figure'
    """
    return {"surrogate_path": _surrogate_path, "long_term": _long_term, "comparability": _comparability,
            "decay": _decay}[kind](result)
