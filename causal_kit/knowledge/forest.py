"""The forest-plot report of an evidence synthesis: each study's effect and the pooled effect.

:func:`forest_figure` draws one :class:`~causal_kit.knowledge.synthesis.MetaAnalysis` (studies
with their intervals, marker area by weight, the pooled diamond and the prediction interval);
:func:`render_forest` writes a self-contained HTML page with one section per pooled group.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import fmt
from ..verdict import conclusion
from .synthesis import MetaAnalysis

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["forest_figure", "render_forest", "save_forest", "pooled_sentence", "study_intervals"]

_INTERVALS = {"hartung_knapp_adhoc": "Hartung-Knapp (ad hoc)", "hartung_knapp": "Hartung-Knapp",
              "normal": "normal"}


def pooled_sentence(m: MetaAnalysis) -> str:
    """The pooled answer in words; a pooled interval including zero never reads like an effect.

    Examples
    --------
    >>> from causal_kit.knowledge.synthesis import meta_analysis
    >>> pooled_sentence(meta_analysis([0.3, 0.5, 0.4], [0.1, 0.1, 0.1]))[:35]
    'Pooled over 3 studies, the effect i'
    """
    level = fmt.level(m.alpha)
    unit = f" {m.unit}" if m.unit else ""
    body = (f"Pooled over {fmt.count(m.k)} studies, the effect is {fmt.signed(m.estimate)}{unit} ({level} CI "
            f"{fmt.signed(m.ci[0])} to {fmt.signed(m.ci[1])}; {m.method}, {_INTERVALS[m.interval]} interval)")
    if conclusion(m.ci) == "null":
        body += ", and the interval includes no effect"
    spread = (f"Between-study spread: tau\u00b2 = {fmt.num(m.tau2)}, I\u00b2 = {fmt.num(m.i2, 3)}%; a new study's "
              f"effect is expected between {fmt.signed(m.prediction_interval[0])} and "
              f"{fmt.signed(m.prediction_interval[1])}{unit}.")
    return f"{body}. {spread}"


def study_intervals(m: MetaAnalysis) -> tuple[list[float], list[float]]:
    """Each study's normal interval at the synthesis's level (what the forest plot draws)."""
    from statistics import NormalDist

    crit = NormalDist().inv_cdf(1 - m.alpha / 2)
    return [e - crit * s for e, s in zip(m.effects, m.ses)], [e + crit * s for e, s in zip(m.effects, m.ses)]


def forest_figure(m: MetaAnalysis) -> go.Figure:
    """A forest plot of one synthesis (plotly).

    Examples
    --------
    >>> from causal_kit.knowledge.synthesis import meta_analysis
    >>> fig = forest_figure(meta_analysis([0.3, 0.5, 0.4], [0.1, 0.1, 0.1], labels=["a", "b", "c"]))
    >>> len(fig.data)
    3
    """
    import plotly.graph_objects as go

    from ..plots.theme import new_figure

    labels = list(m.labels)
    pooled = f"Pooled ({m.method})"
    lo, hi = study_intervals(m)
    unit = f" ({m.unit})" if m.unit else ""
    fig = new_figure(x_title=f"Effect on {m.outcome or 'the outcome'}{unit}", y_title="")
    sizes = [6 + 18 * (w / max(m.weights)) ** 0.5 for w in m.weights]
    fig.add_trace(go.Scatter(
        x=list(m.effects), y=labels, mode="markers", name="study",
        marker={"size": sizes, "symbol": "square", "color": "#1f4e79"},
        error_x={"type": "data", "symmetric": False, "array": [h - e for h, e in zip(hi, m.effects)],
                 "arrayminus": [e - lo_ for e, lo_ in zip(m.effects, lo)], "color": "#1f4e79"},
        customdata=[[w] for w in m.weights],
        hovertemplate="%{y}: %{x:.4g}<br>weight %{customdata[0]:.1f}%<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=[m.prediction_interval[0], m.prediction_interval[1]], y=[pooled, pooled], mode="lines",
        name="prediction interval", line={"color": "#999999", "width": 2, "dash": "dot"},
        hovertemplate="prediction interval %{x:.4g}<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=[m.estimate], y=[pooled], mode="markers", name="pooled",
        marker={"size": 18, "symbol": "diamond-wide", "color": "#b5651d"},
        error_x={"type": "data", "symmetric": False, "array": [m.ci[1] - m.estimate],
                 "arrayminus": [m.estimate - m.ci[0]], "color": "#b5651d", "thickness": 3},
        hovertemplate="pooled %{x:.4g}<extra></extra>",
    ))
    fig.add_vline(x=0, line={"color": "#555555", "width": 1})
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels + [pooled], automargin=True)
    fig.update_layout(height=160 + 34 * (len(labels) + 1), showlegend=False, margin={"l": 10, "r": 10})
    return fig


def render_forest(syntheses: MetaAnalysis | Sequence[MetaAnalysis], *, title: str = "Evidence synthesis",
                  plotlyjs: str = "auto") -> str:
    """A self-contained HTML page: per pooled group, the answer, the forest plot and the studies table.

    Examples
    --------
    >>> from causal_kit.knowledge.synthesis import meta_analysis
    >>> html = render_forest(meta_analysis([0.3, 0.5, 0.4], [0.1, 0.1, 0.1]))
    >>> "Pooled over 3 studies" in html
    True
    """
    from ..report.html import _Figures, _finish, _page, environment

    items = [syntheses] if isinstance(syntheses, MetaAnalysis) else list(syntheses)
    figs = _Figures()
    sections = []
    for m in items:
        level = fmt.level(m.alpha)
        lo, hi = study_intervals(m)
        sections.append({
            "title": f"{m.intervention or 'Intervention'} \u2192 {m.outcome or 'outcome'}",
            "sentence": pooled_sentence(m),
            "figure": figs.add(forest_figure(m), "forest plot"),
            "heterogeneity": [("Q", f"{fmt.num(m.q, 4)} (p {fmt.pvalue(m.q_p_value)})"),
                              ("I\u00b2", f"{fmt.num(m.i2, 3)}%"), ("tau\u00b2", fmt.num(m.tau2, 4)),
                              ("H\u00b2", fmt.num(m.h2, 4))],
            "rows": [{"label": lab, "effect": fmt.signed(e), "ci": f"{fmt.signed(a)} to {fmt.signed(b)}",
                      "weight": fmt.pct(w / 100, 1)}
                     for lab, e, a, b, w in zip(m.labels, m.effects, lo, hi, m.weights)],
            "level": level, "notes": list(m.notes),
        })
    subtitle = [f"{len(items)} pooled group{'s' if len(items) != 1 else ''}"]
    context = {"page": _page(title, subtitle, "synthesis"), "sections": sections}
    return _finish(environment().get_template("synthesis_report.html"), context, figs, plotlyjs)


def save_forest(syntheses: MetaAnalysis | Sequence[MetaAnalysis], path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Write :func:`render_forest` to ``path``; return the path."""
    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_forest(syntheses, **kwargs), encoding="utf-8")
    return out
