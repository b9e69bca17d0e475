"""Readout context: the test window, the locked plan, the markets, data-quality banners and the
cumulative incremental effect over time.

Built from the result's own tables (the ``trajectories`` of synthetic control and SDID), its
diagnostics, the spec, and, when given, the ``DesignResult`` that planned the test.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import fmt

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..outcome import BusinessImpact
    from ..result import EffectEstimate

__all__ = ["readout_context", "banners", "cumulative_figure"]

_QUALITY = re.compile(r"(srm|sample_ratio|ratio_mismatch|missing|duplicate|data_quality|imbalance)", re.I)


def banners(results: Sequence[EffectEstimate]) -> list[str]:
    """Failed randomization (SRM) and data-quality checks, one line each, for the top of the page.

    Examples
    --------
    >>> from causal_kit import Diagnostic, EffectEstimate
    >>> r = EffectEstimate("ab", "ATE", 1.0, 0.5, (0.0, 2.0), 0.05, 0.05, 100, diagnostics=(
    ...     Diagnostic("sample_ratio_mismatch", "fail", "Arms are 60/40, planned 50/50.",
    ...                assumption="randomization"),))
    >>> banners([r])
    ['Sample ratio mismatch: Arms are 60/40, planned 50/50.']
    """
    out: list[str] = []
    for r in results:
        for d in r.diagnostics:
            if d.status == "fail" and (d.assumption == "randomization" or _QUALITY.search(d.name)):
                line = f"{d.name.replace('_', ' ').capitalize()}: {d.message}"
                if line not in out:
                    out.append(line)
    return out


def _window(result: EffectEstimate, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    traj = result.tables.get("trajectories")
    if traj is not None and len(traj) and {"time", "post"} <= set(traj.columns):
        post = traj.loc[traj["post"].astype(bool), "time"]
        if len(post):
            rows.append(("Test window", f"{fmt.period(post.min())} to {fmt.period(post.max())}"))
        rows.append(("Data through", fmt.period(traj["time"].max())))
        return rows
    if spec.get("post_period"):
        first, last = spec["post_period"]
        rows.append(("Test window", f"{fmt.period(first)} to {fmt.period(last)}"))
    elif spec.get("treatment_start") is not None:
        rows.append(("Test started", fmt.period(spec["treatment_start"])))
    return rows


def _markets(result: EffectEstimate, design: Any) -> list[tuple[str, str]]:
    assignment = getattr(design, "assignment", None)
    if assignment is not None and len(assignment):
        treated = assignment.loc[assignment["cell"] != "control", "unit"].astype(str).tolist()
        control = assignment.loc[assignment["cell"] == "control", "unit"].astype(str).tolist()
        return [(f"Treated markets ({fmt.count(len(treated))})", _names(treated)),
                (f"Control markets ({fmt.count(len(control))})", _names(control))]
    for name in ("unit_weights", "weights"):
        w = result.tables.get(name)
        if w is not None and {"unit", "weight"} <= set(w.columns):
            used = w.loc[w["weight"] > 0.001].sort_values("weight", ascending=False)
            shown = ", ".join(f"{u} ({fmt.pct(float(x), 0)})" for u, x in zip(used["unit"], used["weight"]))
            return [(f"Control units with weight ({fmt.count(len(used))} of {fmt.count(len(w))})", shown)]
    return []


def _names(names: list[str], shown: int = 12) -> str:
    """A list of market names, cut after ``shown`` with the count of the rest."""
    head = ", ".join(names[:shown])
    return head if len(names) <= shown else f"{head} and {fmt.count(len(names) - shown)} more"


def _plan(design: Any, design_href: str | None) -> list[tuple[str, str]]:
    if design is None:
        return []
    rows = []
    mde = getattr(design, "mde", None)
    if mde is not None and isinstance(mde, float) and math.isfinite(mde):
        rows.append(("Planned MDE", f"{fmt.pct(mde)} lift at {fmt.pct(design.target_power, 0)} power over "
                                    f"{fmt.count(design.recommended_duration)} periods"))
    rows.append(("Planned readout method", str(design.method)))
    if design_href:
        rows.append(("Design report", design_href))
    return rows


def cumulative_figure(result: EffectEstimate, impact: BusinessImpact) -> go.Figure | None:
    """Cumulative incremental outcome over the test period with its band, for panel results that
    add up (counts and amounts), from the ``trajectories`` table; None otherwise.

    The band scales the interval of the average effect to the unit-periods elapsed at each date
    (a constant-precision approximation; the final point equals the reported total interval).
    """
    traj = result.tables.get("trajectories")
    if (traj is None or impact.incremental is None or impact.incremental_ci is None or not impact.model.summable
            or not {"time", "gap", "post"} <= set(traj.columns)):
        return None
    post = traj.loc[traj["post"].astype(bool)].sort_values("time")
    if "cohort" in post.columns and post["cohort"].nunique() > 1:
        return None
    if len(post) < 2 or not result.exposure:
        return None
    from ..plots.theme import COLORS, band_color, finish, new_figure

    per_period = result.exposure / len(post)  # treated units per period
    cum = (post["gap"].astype(float) * per_period).cumsum().tolist()
    share = [(i + 1) / len(post) for i in range(len(post))]
    lo = [c + (impact.incremental_ci[0] - impact.incremental) * s for c, s in zip(cum, share)]
    hi = [c + (impact.incremental_ci[1] - impact.incremental) * s for c, s in zip(cum, share)]
    x = post["time"].tolist()
    m = impact.model
    label = f"Cumulative incremental {m.unit or m.label}" + (f" ({m.currency})" if m.is_money else "")
    fig = new_figure(title=f"Cumulative incremental {m.label} over the test", x_title="Period", y_title=label,
                     height=360)
    fig.add_scatter(x=x + x[::-1], y=hi + lo[::-1], mode="lines", fill="toself", fillcolor=band_color(COLORS["estimate"]),
                    line=dict(width=0), hoverinfo="skip", name=f"{fmt.level(result.alpha)} band (approximate)")
    fig.add_scatter(x=x, y=cum, mode="lines+markers", name="cumulative incremental", line=dict(color=COLORS["estimate"], width=2))
    fig.add_hline(y=0, line=dict(color=COLORS["zero"], dash="dash", width=1))
    return finish(fig)


def readout_context(results: Sequence[EffectEstimate], spec: Mapping[str, Any], design: Any = None,
                    design_href: str | None = None) -> dict[str, Any]:
    """The context block of a readout: window, plan, markets and banners (text only).

    Examples
    --------
    >>> import pandas as pd
    >>> from causal_kit import EffectEstimate
    >>> traj = pd.DataFrame({"time": [1987, 1988, 1989, 1990], "gap": [0.1, -0.2, -3.0, -5.0],
    ...                      "post": [False, False, True, True]})
    >>> res = EffectEstimate("sdid", "ATT", -4.0, 1.0, (-6.0, -2.0), 0.001, 0.05, 4,
    ...                      tables={"trajectories": traj})
    >>> readout_context([res], {})["rows"]
    [('Test window', '1989 to 1990'), ('Data through', '1990')]
    """
    primary = results[0]
    rows = _window(primary, spec) + _plan(design, design_href) + _markets(primary, design)
    return {"rows": rows, "banners": banners(results), "design_href": design_href or ""}
