"""Plain-text rendering of results: summaries for the console and logs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import fmt

if TYPE_CHECKING:
    from ..result import EffectEstimate

__all__ = ["headline", "summary_text"]


def headline(result: EffectEstimate) -> str:
    """One sentence with the effect and its interval, e.g. for report summaries."""
    level = round(100 * (1 - result.alpha))
    unit = result.outcome or "the outcome"
    direction = "raised" if result.estimate > 0 else "lowered"
    lift = result.relative_lift
    lift_ci = result.relative_lift_ci
    if lift is not None and lift_ci is not None:
        return (
            f"The treatment {direction} {unit} by {fmt.pct(abs(lift))} "
            f"({level}% CI {fmt.pct(lift_ci[0])} to {fmt.pct(lift_ci[1])})."
        )
    return (
        f"The treatment {direction} {unit} by {fmt.num(abs(result.estimate))} "
        f"({level}% CI {fmt.num(result.ci[0])} to {fmt.num(result.ci[1])})."
    )


def summary_text(result: EffectEstimate) -> str:
    """Multi-line text summary: headline numbers, diagnostics, lineage."""
    level = round(100 * (1 - result.alpha))
    lines = [
        f"{result.label or result.method} ({result.estimand})  outcome: {result.outcome}",
        f"  estimate {fmt.num(result.estimate, 5)}  se {fmt.num(result.se, 5)}  "
        f"{level}% CI {fmt.interval(*result.ci, digits=5)}  p {fmt.pvalue(result.p_value)}",
    ]
    if result.relative_lift is not None:
        lo, hi = result.relative_lift_ci or (float("nan"), float("nan"))
        lines.append(f"  relative lift {fmt.pct(result.relative_lift, 2)}  {level}% CI {fmt.interval(lo, hi, percent=True)}")
    lines.append(f"  n_obs {result.n_obs}" + (f"  n_units {result.n_units}" if result.n_units else "")
                 + (f"  dropped {result.n_dropped}" if result.n_dropped else ""))
    if result.inference:
        lines.append(f"  inference: {result.inference}")
    if result.diagnostics:
        lines.append("  diagnostics:")
        for d in result.diagnostics:
            lines.append(f"    [{d.status}] {d.name}: {d.message}")
    if result.lineage is not None:
        lin = result.lineage
        lines.append(f"  spec {lin.spec_hash}  data {lin.data_fingerprint}  seed {lin.seed}  at {lin.timestamp}")
    return "\n".join(lines)
