"""Figures of a planned geo experiment (:class:`~causal_kit.design.DesignResult`).

Kinds: ``"power_curve"`` (simulated power by lift for each estimator at the readout
duration), ``"pre_period_fit"`` (treated against control KPI before the test) and
``"mde_by_duration"`` (MDE of the readout estimator by test length).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SpecError
from .theme import COLORS, PALETTE, band_color, new_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..design.result import DesignResult

__all__ = ["KINDS", "CALENDAR_KIND", "kinds_for", "plot"]

KINDS = ("power_curve", "pre_period_fit", "mde_by_duration", "schedule")
#: Drawn when the design was planned against the experiment calendar.
CALENDAR_KIND = "calendar"


def kinds_for(result: DesignResult) -> tuple[str, ...]:
    """The kinds ``result`` can draw: a switchback design shows its schedule instead of the
    pre-period fit; ``calendar`` is added when the design was planned with a calendar."""
    tables = getattr(result, "tables", None) or {}
    switchback = "schedule" in tables and {"block", "period", "treated"} <= set(tables["schedule"].columns)
    base = (("schedule", "power_curve", "mde_by_duration") if switchback
            else ("power_curve", "pre_period_fit", "mde_by_duration"))
    return base + ((CALENDAR_KIND,) if "calendar" in tables else ())


def _schedule(result: DesignResult) -> go.Figure:
    sched = result.tables["schedule"]
    z = sched.pivot(index="block", columns="period", values="treated")
    details = result.details or {}
    fig = new_figure(
        title=(f"Switchback schedule: {z.shape[1]} periods of {details.get('period_length', '?')} steps, the first "
               f"{details.get('carryover', 0)} of each dropped as burn-in (blue: policy on, orange: off)"),
        x_title="Period", y_title="Randomisation block")
    fig.add_heatmap(z=z.to_numpy(dtype=float), x=z.columns.tolist(), y=[str(b) for b in z.index],
                    colorscale=[[0, COLORS["control"]], [1, COLORS["treated"]]], zmin=0, zmax=1, showscale=False,
                    xgap=1, ygap=1, hovertemplate="block %{y}, period %{x}: treated %{z}<extra></extra>")
    return fig


def _calendar(result: DesignResult) -> go.Figure:
    """This study's cells (its window) beside the live studies overlapping it."""
    import pandas as pd

    from .calendar import calendar_gantt

    window = (result.details or {}).get("calendar") or {}
    name = result.spec.name
    own = result.assignment.loc[:, ["unit", "cell"]].assign(
        study=name, role=lambda d: d["cell"].map(lambda c: "control" if c == "control" else "treated"),
        start=window.get("start"), end=window.get("end"), status="planned", owner=None)
    table = pd.concat([own, result.tables["calendar"]], ignore_index=True)
    table["unit"] = table["unit"].astype(str)
    return calendar_gantt(table, focus=name, title="Concurrent studies in this test's window")


def _power_curve(result: DesignResult) -> go.Figure:
    df = result.power_curve
    df = df[df["duration"] == result.recommended_duration]
    cells = list(dict.fromkeys(df["cell"])) if "cell" in df else [None]
    elasticity = (result.details or {}).get("effect_kind") == "elasticity"
    scale = 1 if elasticity else 100  # elasticities are plotted as they are, lifts in %
    fig = new_figure(
        title=f"Simulated power over {result.recommended_duration} periods",
        x_title="True own-price elasticity" if elasticity else f"Lift in {result.outcome or 'KPI'} (%)",
        y_title="Power (share of simulated tests detecting it)" if elasticity
        else "Power (share of windows detecting the lift)",
    )
    for i, est in enumerate(dict.fromkeys(df["estimator"])):
        color = PALETTE[i % len(PALETTE)]
        for j, cell in enumerate(cells):
            sub = df[(df["estimator"] == est) & ((df["cell"] == cell) if cell is not None else True)]
            sub = sub.sort_values("effect")
            name = est if len(cells) == 1 else f"{est} · {cell}"
            width = 3 if est == result.method else 1.5
            fig.add_scatter(x=scale * sub["effect"], y=sub["power"], mode="lines+markers", name=name,
                            line=dict(color=color, width=width, dash="solid" if j == 0 else "dot"),
                            error_y=dict(type="data", array=2 * sub["power_se"], visible=True, thickness=1,
                                         color=band_color(color, 0.5)))
    fig.add_hline(y=result.target_power, line=dict(color=COLORS["muted"], dash="dash", width=1),
                  annotation_text=f"target {result.target_power:.0%}")
    fig.add_hline(y=result.alpha, line=dict(color=COLORS["zero"], dash="dot", width=1),
                  annotation_text=f"alpha {result.alpha:g}")
    fig.update_yaxes(range=[0, 1.02])
    return fig


def _pre_fit(result: DesignResult) -> go.Figure:
    df = result.tables["pre_period_fit"]
    cell = df["cell"].iloc[0]
    sub = df[df["cell"] == cell]
    unit = result.outcome or "KPI"
    fig = new_figure(title="Treated and control geos before the test",
                     x_title="Period", y_title=f"Mean {unit} per geo")
    fig.add_scatter(x=sub["time"], y=sub["treated"], mode="lines", name=f"{cell} geos",
                    line=dict(color=COLORS["treated"], width=2))
    fig.add_scatter(x=sub["time"], y=sub["control_scaled"], mode="lines", name="control geos (rescaled)",
                    line=dict(color=COLORS["control"], width=2, dash="dash"))
    return fig


def _mde_by_duration(result: DesignResult) -> go.Figure:
    df = result.duration_table.sort_values("duration")
    if (result.details or {}).get("effect_kind") == "elasticity":
        fig = new_figure(title=f"Smallest detectable elasticity at {result.target_power:.0%} power",
                         x_title="Test duration (periods)", y_title="|elasticity|")
        fig.add_scatter(x=df["duration"], y=df["mde"], mode="lines+markers", name="MDE",
                        line=dict(color=COLORS["estimate"], width=2))
        fig.add_vline(x=result.recommended_duration, line=dict(color=COLORS["muted"], dash="dash", width=1))
        return fig
    fig = new_figure(title=f"Minimum detectable lift at {result.target_power:.0%} power ({result.method})",
                     x_title="Test duration (periods)", y_title="MDE (% lift)")
    fig.add_scatter(x=df["duration"], y=100 * df["mde"], mode="lines+markers", name="MDE",
                    line=dict(color=COLORS["estimate"], width=2),
                    customdata=df[["mde_absolute"]].to_numpy(),
                    hovertemplate=f"%{{x}} periods: %{{y:.2f}}%% (%{{customdata[0]:,.0f}} {result.outcome or 'KPI'} per period)<extra></extra>")
    fig.add_vline(x=result.recommended_duration, line=dict(color=COLORS["muted"], dash="dash", width=1))
    return fig


def plot(result: DesignResult, kind: str | None = None) -> go.Figure:
    """Draw ``result`` as ``kind`` (one of :data:`KINDS`; default ``"power_curve"``)."""
    kinds = kinds_for(result)
    kind = kinds[0] if kind is None else kind
    if kind not in kinds:
        raise SpecError(
            f"The 'kind' parameter of DesignResult.plot must be one of {', '.join(repr(k) for k in kinds)}. "
            f"Got {kind!r} instead."
        )
    return {"power_curve": _power_curve, "pre_period_fit": _pre_fit, "mde_by_duration": _mde_by_duration,
            "schedule": _schedule, CALENDAR_KIND: _calendar}[kind](result)
