"""Figures for A/B tests: each arm's effect with its interval, and the per-arm means.

Both figures are drawn from the result's tables (``comparisons`` and ``arms``), so they work
on a result rebuilt from JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from .. import fmt
from .effect import effect_figure
from .theme import COLORS, PALETTE, new_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

__all__ = ["KINDS", "plot"]

KINDS = ("effect", "arms")


def _effect(result: EffectEstimate) -> go.Figure:
    comp = result.tables.get("comparisons")
    if comp is None or comp.empty:
        return effect_figure(result)
    level = fmt.level(result.alpha)
    unit = result.outcome or "outcome"
    control = result.details.get("control", "control")
    has_lift = "relative_lift" in comp.columns and comp["relative_lift"].notna().all()
    lift_text = (
        [f"lift {fmt.pct(r, sign=True)} ({level} CI {fmt.pct(lo)} to {fmt.pct(hi)})"
         for r, lo, hi in zip(comp["relative_lift"], comp["relative_ci_low"], comp["relative_ci_high"])]
        if has_lift else [""] * len(comp)
    )
    names = [f"arm {a} vs {control}" for a in comp["arm"]]
    fig = new_figure(
        title=f"Effect on {unit} by arm ({level} CI)",
        x_title=f"Difference in {unit} (treatment minus control)",
        height=max(230, 120 + 50 * len(comp)),
    )
    fig.add_vline(x=0, line=dict(color=COLORS["zero"], dash="dash", width=1))
    est = comp["estimate"].to_numpy(dtype=float)
    fig.add_scatter(
        x=est, y=names, mode="markers+text",
        marker=dict(size=12, color=COLORS["estimate"], symbol="diamond"),
        text=lift_text, textposition="top center", textfont=dict(size=12, color="#333"),
        error_x=dict(type="data", symmetric=False,
                     array=comp["ci_high"].to_numpy(dtype=float) - est,
                     arrayminus=est - comp["ci_low"].to_numpy(dtype=float),
                     thickness=2, width=8, color=COLORS["estimate"]),
        name=f"estimate and {level} CI", showlegend=False,
        hovertemplate="%{y}: %{x:.4g}<extra></extra>",
    )
    fig.update_yaxes(showgrid=False, autorange="reversed", ticks="")
    return fig


def _arms(result: EffectEstimate) -> go.Figure:
    arms = result.tables.get("arms")
    if arms is None or arms.empty:
        return effect_figure(result)
    level = fmt.level(result.alpha)
    unit = result.outcome or "outcome"
    n = arms["n"].to_numpy(dtype=float)
    if "se" in arms.columns:
        se = arms["se"].to_numpy(dtype=float)
    else:
        se = arms["sd"].to_numpy(dtype=float) / np.sqrt(n)
    crit = stats.norm.ppf(1 - result.alpha / 2)
    fig = new_figure(
        title=f"Mean {unit} per arm ({level} CI)",
        x_title="Arm", y_title=f"Mean {unit}", height=340, scattermode="group", scattergap=0.6,
    )
    labels = [f"{a} (n={fmt.count(k)})" for a, k in zip(arms["arm"], n)]
    fig.add_scatter(
        x=labels, y=arms["mean"].to_numpy(dtype=float), name=f"mean and {level} CI", mode="markers",
        marker=dict(color=PALETTE[0], size=12),
        error_y=dict(type="data", array=crit * se, thickness=2, width=8, color=PALETTE[0]),
    )
    if "adjusted_mean" in arms.columns and arms["adjusted_mean"].notna().all():
        fig.add_scatter(
            x=labels, y=arms["adjusted_mean"].to_numpy(dtype=float), name="covariate-adjusted mean",
            mode="markers", marker=dict(color=PALETTE[1], size=11, symbol="diamond-open", line=dict(width=2)),
        )
    means = arms["mean"].to_numpy(dtype=float)
    values = np.concatenate([means - crit * se, means + crit * se])
    if "adjusted_mean" in arms.columns:
        values = np.concatenate([values, arms["adjusted_mean"].to_numpy(dtype=float)])
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    pad = 0.25 * (hi - lo) + 1e-9 * max(1.0, abs(hi))
    # Points, not bars, so the axis can zoom on the means without exaggerating bar lengths.
    fig.update_yaxes(range=[lo - pad, hi + pad])
    fig.update_xaxes(showgrid=False)
    return fig


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    """Draw an A/B result: ``"effect"`` (effect per arm with CI) or ``"arms"`` (means per arm).

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat")
    >>> res = ck.estimate(ck.datasets.load("ab_cuped_sim"), spec)
    >>> [len(res.plot(k).data) > 0 for k in res.plot_kinds()]
    [True, True]
    """
    return _arms(result) if kind == "arms" else _effect(result)
