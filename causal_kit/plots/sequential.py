"""Figures for sequential A/B readouts: the always-valid interval (or the z-statistic against the
group-sequential boundary) over the looks of a study.

Registered for the ``ab`` method: a result without a ``sequential`` table gets exactly the A/B
figures of :mod:`causal_kit.plots.ab`; a sequential result also gets ``"looks"``. The figure is
drawn from ``tables["sequential"]`` (one row per look), so it works on a result rebuilt from JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import fmt
from . import ab
from .theme import COLORS, band_color, new_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

__all__ = ["KINDS", "kinds_for", "plot"]

KINDS = (*ab.KINDS, "looks")


def kinds_for(result: EffectEstimate) -> tuple[str, ...]:
    """The A/B kinds, plus ``"looks"`` when the result is a sequential readout."""
    table = result.tables.get("sequential")
    return KINDS if table is not None and not table.empty else ab.KINDS


def _looks(result: EffectEstimate) -> go.Figure:
    table = result.tables["sequential"]
    seq = result.details.get("sequential", {})
    unit = result.outcome or "outcome"
    looks = table["look"].to_numpy(dtype=int)
    label = [f"look {k}" for k in looks]
    planned = seq.get("n_looks_planned")
    title = f"Always-valid {fmt.level(result.alpha)} interval by look"
    if seq.get("boundary_z") is not None:
        # short enough for a phone screen; the boundary of each look is in the hover text
        title = f"Repeated {fmt.level(result.alpha)} interval by look"
    if planned:
        title += f" ({len(looks)} of {planned} planned looks)"
    fig = new_figure(title=title, x_title="Look", y_title=f"Effect on {unit} (treatment minus control)", height=360)
    est = table["estimate"].to_numpy(dtype=float)
    low, high = table["ci_low"].to_numpy(dtype=float), table["ci_high"].to_numpy(dtype=float)
    fig.add_scatter(x=label + label[::-1], y=np.concatenate([high, low[::-1]]), fill="toself",
                    fillcolor=band_color(COLORS["estimate"]), line=dict(width=0), hoverinfo="skip",
                    name="always-valid interval")
    text = [f"{d.replace('_', ' ')}" + (f", boundary |z| = {fmt.num(b, 3)}" if np.isfinite(b) else "")
            for d, b in zip(table["decision"].astype(str), table["boundary_z"].to_numpy(dtype=float))]
    fig.add_scatter(x=label, y=est, mode="lines+markers", name="estimate", text=text,
                    marker=dict(size=9, color=COLORS["estimate"]), line=dict(color=COLORS["estimate"]),
                    hovertemplate="%{x}: %{y:.4g} (%{text})<extra></extra>")
    fig.add_hline(y=0, line=dict(color=COLORS["zero"], dash="dash", width=1))
    margin = seq.get("futility_margin")
    if margin:
        for m in (-margin, margin):
            fig.add_hline(y=m, line=dict(color=COLORS["zero"], dash="dot", width=1))
    return fig


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    """Draw an A/B result; ``"looks"`` draws the sequential interval over the looks.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="seq", design="ab", outcome="y", treatment="treat",
    ...                          sequential={"planned_n": 10_000})
    >>> res = ck.estimate(ck.datasets.load("ab_cuped_sim"), spec)
    >>> res.plot_kinds(), len(res.plot("looks").data)
    (('effect', 'arms', 'looks'), 2)
    """
    if kind == "looks":
        return _looks(result)
    return ab.plot(result, kind)
