"""Figures for holdback tests: the switch-off as estimated and the campaign's effect reported.

Kinds: ``sign`` (both numbers with their intervals, so the sign convention is visible) and
``effect``. Drawn from ``result.tables`` only, so they work on a result read back from JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import theme
from .effect import effect_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

__all__ = ["KINDS", "plot"]

KINDS = ("sign", "effect")


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    """Draw ``kind`` (one of :data:`KINDS`) for a holdback result.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.datasets import simulate_geo_panel
    >>> df = simulate_geo_panel(n_geos=30, n_days=120, treated=8, effect=-0.05, seed=2)
    >>> spec = ck.ExperimentSpec(name="holdback", design="holdback", outcome="kpi", unit="geo", time="date",
    ...                          treatment="treated", options={"readout": "did"})
    >>> len(plot(ck.estimate(df, spec), "sign").data)
    1
    """
    if kind == "effect":
        return effect_figure(result)
    t = result.tables["holdback"]
    level = 100 * (1 - result.alpha)
    fig = theme.new_figure(f"Switch-off and campaign effect ({level:.0f}% CI)",
                           f"effect on {result.outcome} per unit-period", "")
    fig.add_scatter(x=t["estimate"], y=t["quantity"], mode="markers", name="estimate",
                    marker=dict(color=theme.COLORS["estimate"], size=11),
                    error_x=dict(type="data", symmetric=False, array=t["ci_high"] - t["estimate"],
                                 arrayminus=t["estimate"] - t["ci_low"], visible=True))
    fig.add_vline(x=0, line=dict(color=theme.COLORS["zero"], dash="dot"))
    return fig
