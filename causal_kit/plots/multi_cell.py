"""Figures for multi-cell geo tests.

Kinds: ``cells`` (each cell's effect with its Bonferroni interval against the shared control,
the best cell marked, the probability each cell is best in the labels), ``contrasts`` (every
cell-versus-cell difference with its interval) and ``effect``. Drawn from ``result.tables``
only, so they work on a result read back from JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import theme
from .effect import effect_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

__all__ = ["KINDS", "plot"]

KINDS = ("cells", "contrasts", "effect")


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    """Draw ``kind`` (one of :data:`KINDS`) for a multi-cell result.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.datasets import simulate_multi_cell
    >>> spec = ck.ExperimentSpec(name="cells", design="multi_cell", outcome="kpi", unit="geo", time="date",
    ...                          treatment="treated", cell="cell", options={"readout": "did"})
    >>> len(plot(ck.estimate(simulate_multi_cell(seed=1), spec), "cells").data)
    2
    """
    if kind == "effect":
        return effect_figure(result)
    return {"cells": _cells, "contrasts": _contrasts}[kind](result)


def _cells(result: EffectEstimate) -> go.Figure:
    t = result.tables["cells"].sort_values("estimate")
    level = 100 * (1 - result.alpha)
    fig = theme.new_figure(f"Effect on {result.outcome} per cell ({level:.0f}% simultaneous intervals)",
                           f"effect on {result.outcome} per unit-period", "cell")
    labels = [f"{c} (P(best) {p:.0%})" for c, p in zip(t["cell"], t["prob_best"])]
    best = t["rank"] == 1
    for mask, name, color in ((~best, "cells", theme.COLORS["muted"]), (best, "best cell", theme.COLORS["estimate"])):
        sub = t[mask]
        fig.add_scatter(
            x=sub["estimate"], y=[lab for lab, m in zip(labels, mask) if m], mode="markers", name=name,
            marker=dict(color=color, size=11),
            error_x=dict(type="data", symmetric=False, array=sub["ci_high"] - sub["estimate"],
                         arrayminus=sub["estimate"] - sub["ci_low"], visible=True))
    fig.add_vline(x=0, line=dict(color=theme.COLORS["zero"], dash="dot"))
    return fig


def _contrasts(result: EffectEstimate) -> go.Figure:
    t = result.tables["contrasts"]
    level = 100 * (1 - result.alpha)
    fig = theme.new_figure(f"Cell against cell: difference in effect ({level:.0f}% intervals)",
                           f"difference in effect on {result.outcome}", "contrast")
    fig.add_scatter(
        x=t["difference"], y=[f"{a} - {b}" for a, b in zip(t["cell_a"], t["cell_b"])], mode="markers",
        name="difference", marker=dict(color=theme.COLORS["estimate"], size=10),
        error_x=dict(type="data", symmetric=False, array=t["ci_high"] - t["difference"],
                     arrayminus=t["difference"] - t["ci_low"], visible=True))
    fig.add_vline(x=0, line=dict(color=theme.COLORS["zero"], dash="dot"))
    return fig
