"""The portfolio report: several studies side by side, in business units, with totals and links."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..compare import Comparison, forest_figure
from ..errors import SpecError
from ..outcome import business_impact, spec_of
from . import fmt
from .html import _comparison_view, _Figures, _page, _result_view, _spec_yaml, _summary_view
from .summary import executive_summary, singular

__all__ = ["portfolio_context"]


def portfolio_context(studies: Sequence[Any], title: str | None, figs: _Figures,
                       links: Mapping[str, str] | None = None, *, calendar: Any = None) -> dict[str, Any]:
    """The portfolio page: one row per study with its effect, cost, return and decision, totals over
    the studies with money, a shared lift chart and one section per study; with ``calendar`` also
    the concurrent studies (Gantt and overlapping pairs, see :mod:`causal_kit.report.calendar`)."""
    links = dict(links or {})
    rows, sections, primaries, names, methods = [], [], [], [], []
    spend, value, currencies, n_money = 0.0, 0.0, set(), 0
    for i, item in enumerate(studies):
        results = [item] if not isinstance(item, (list, tuple)) else list(item)
        if not results:
            raise SpecError("a portfolio entry is an empty list; pass an EffectEstimate or a non-empty list.")
        primary = results[0]
        spec_dict = spec_of(primary)
        comparison = Comparison(results) if len(results) > 1 else None
        full = executive_summary(results, spec_dict, comparison)
        summary = _summary_view(full)
        impact = full.impact
        report = spec_dict.get("report") or {}
        name = str(spec_dict.get("name") or primary.label or primary.method)
        tiles = {t["key"]: t for t in summary["tiles"]}
        money = "n/a"
        if impact is not None and impact.iroas is not None and impact.iroas_ci is not None:
            money = f"iROAS {fmt.ratio(impact.iroas)} [{fmt.ratio(impact.iroas_ci[0])}, {fmt.ratio(impact.iroas_ci[1])}]"
            if not impact.money_established:
                money += " (not established)"
        elif impact is not None and impact.cost_per_unit is not None and impact.cost_per_unit_ci is not None:
            lo, hi = impact.cost_per_unit_ci
            money = (f"{fmt.money(impact.cost_per_unit, impact.currency)} per {singular(impact.model.unit)} "
                     f"[{fmt.money(lo, impact.currency)}, {fmt.money(hi, impact.currency)}]")
        elif impact is not None and impact.cost is not None:
            money = impact.cost_note or "n/a"
        if impact is not None and impact.cost is not None:
            spend += impact.cost
            currencies.add(impact.currency)
            n_money += 1
            if impact.outcome_is_currency and impact.incremental is not None:
                value += impact.incremental
        anchor = f"study-{i + 1}"
        primaries.append(primary)
        names.append(name)
        methods.extend(r.method for r in results)
        rows.append({
            "name": report.get("title") or name, "id": name, "anchor": anchor, "href": links.get(name, ""),
            "question": summary["question"], "answer": summary["answer"],
            "effect": tiles["effect"]["value"], "effect_sub": tiles["effect"]["sub"],
            "lift": tiles["lift"]["value"] if "lift" in tiles else (
                tiles["effect"]["value"] if impact is not None and impact.effect_is_relative else ""),
            "cost": fmt.money(impact.cost, impact.currency) if impact is not None and impact.cost is not None else "n/a",
            "money": money, "decision": summary["decision_action"] or "", "decision_text": summary["decision"],
            "confidence": summary["confidence"], "method": primary.label or primary.method,
            "n_methods": len(results),
        })
        sections.append({
            "name": report.get("title") or name, "anchor": anchor, "href": links.get(name, ""), "summary": summary,
            "result": _result_view(primary, figs, all_kinds=False),
            "comparison": _comparison_view(comparison, figs) if comparison is not None else None,
            "spec_yaml": _spec_yaml(spec_dict),
        })
    totals = []
    if n_money:
        cur = currencies.pop() if len(currencies) == 1 else None
        totals.append(("Total spend", fmt.money(spend, cur) + ("" if cur or len(currencies) <= 1 else " (mixed currencies)")))
        if value:
            totals.append(("Incremental value (sum of point estimates, studies with money outcomes)", fmt.money(value, cur)))
        totals.append(("Studies with a cost", fmt.count(n_money)))
    impacts = [business_impact(p) for p in primaries]
    with_lift = [i for i, imp in enumerate(impacts) if imp.lift is not None]
    forest, forest_note = None, ""
    if with_lift:
        # Studies measure different outcomes, so they share a chart only as % lift.
        forest = figs.add(forest_figure([primaries[i] for i in with_lift], labels=[rows[i]["name"] for i in with_lift],
                                        relative=True, median=False, title="Lift of each study"), "studies")
        left_out = [rows[i]["name"] for i in range(len(primaries)) if i not in with_lift]
        if left_out:
            forest_note = (f"Not in the chart (no baseline for a % lift; see their sections for effects in "
                           f"outcome units): {', '.join(left_out)}.")
    elif len({p.outcome for p in primaries}) == 1:
        forest = figs.add(forest_figure(primaries, labels=[r["name"] for r in rows], median=False,
                                        title="Effect of each study"), "studies")
    return {
        "page": _page(title or "Portfolio of studies", [f"{len(studies)} studies"], "portfolio"),
        "rows": rows,
        "totals": totals,
        "sections": sections,
        "forest": forest,
        "forest_note": forest_note,
        "methods": list(dict.fromkeys(methods)),
        "concurrent": _concurrent(calendar, figs),
    }


def _concurrent(calendar: Any, figs: _Figures) -> dict[str, Any] | None:
    if calendar is None:
        return None
    from .calendar import calendar_context

    context = calendar_context(calendar, None, figs)
    return context if context["studies"] else None
