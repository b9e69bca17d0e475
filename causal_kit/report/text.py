"""Plain-text rendering of results: summaries for the console and logs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import fmt

if TYPE_CHECKING:
    from ..result import EffectEstimate

__all__ = ["headline", "summary_text"]


def headline(result: EffectEstimate) -> str:
    """One sentence with the effect and its interval, in the outcome's units (the report's answer)."""
    from ..outcome import business_impact
    from .summary import answer_sentence

    return answer_sentence(result, business_impact(result))


def summary_text(result: EffectEstimate) -> str:
    """Multi-line text summary: headline numbers, diagnostics, lineage."""
    level = round(100 * (1 - result.alpha))
    lines = [
        f"{result.label or result.method} ({result.estimand})  outcome: {result.outcome}",
        "  " + headline(result),
        f"  estimate {fmt.num(result.estimate, 5)}  se {fmt.num(result.se, 5)}  "
        f"{level}% CI {fmt.interval(*result.ci, digits=5)}  p {fmt.pvalue(result.p_value)}",
    ]
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
