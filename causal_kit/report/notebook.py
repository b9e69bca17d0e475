"""Compact HTML cards for Jupyter (``_repr_html_``)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from . import fmt
from .text import headline

if TYPE_CHECKING:
    from ..result import EffectEstimate

__all__ = ["result_card"]

_BADGE = {"pass": "#009E73", "warn": "#E69F00", "fail": "#D55E00", "not_applicable": "#888888"}


def result_card(result: EffectEstimate) -> str:
    """A small HTML card: headline, numbers, expandable diagnostics."""
    level = round(100 * (1 - result.alpha))
    rows = "".join(
        f"<tr><td><span style='color:{_BADGE[d.status]};font-weight:600'>{escape(d.status)}</span></td>"
        f"<td>{escape(d.name)}</td><td>{escape(d.message)}</td></tr>"
        for d in result.diagnostics
    )
    diag = (
        f"<details><summary>{len(result.diagnostics)} diagnostics (worst: {escape(result.worst_status)})"
        f"</summary><table>{rows}</table></details>"
        if result.diagnostics
        else ""
    )
    return (
        "<div style='border:1px solid #ddd;border-radius:6px;padding:10px;font-family:sans-serif;max-width:760px'>"
        f"<div style='font-weight:600'>{escape(result.label or result.method)} · {escape(result.estimand)}</div>"
        f"<div>{escape(headline(result))}</div>"
        f"<div style='color:#555'>estimate {escape(fmt.num(result.estimate, 4))} · se {escape(fmt.num(result.se, 4))}"
        f" · {level}% CI {escape(fmt.interval(*result.ci, digits=4))} · p {escape(fmt.pvalue(result.p_value))}"
        f" · n {result.n_obs}</div>{diag}</div>"
    )
