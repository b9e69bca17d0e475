"""Executive summaries generated from the numbers: answer, verdict, decision, recommendation.

Nothing here is hand-written per study: every sentence is assembled from the result's
estimate and interval, the semantic outcome model and business translation
(:mod:`causal_kit.outcome`), and the one verdict function (:mod:`causal_kit.verdict`) that
also colours every badge, so that sentences, tiles and badges cannot contradict each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..outcome import BusinessImpact, business_impact, spec_of
from ..verdict import Decision, Verdict, agreement, decision, verdict, verdict_from
from . import fmt

if TYPE_CHECKING:
    from ..compare import Comparison
    from ..result import Diagnostic, EffectEstimate

__all__ = [
    "ASSUMPTION_LABELS", "STATUS_LABELS", "Confidence", "ExecutiveSummary", "Tile", "confidence",
    "confidence_from", "diagnostic_groups", "executive_summary", "answer_sentence", "decision_of",
]

#: Plain-language names of the assumption groups in the diagnostics panel.
ASSUMPTION_LABELS: dict[str, str] = {
    "randomization": "Randomization: was the assignment carried out as planned?",
    "parallel_trends": "Parallel trends: did the groups move together before the change?",
    "fit": "Pre-period fit: does the comparison track the treated group before the change?",
    "overlap": "Overlap: do treated and comparison units look alike?",
    "balance": "Balance: are the groups similar on their characteristics?",
    "instrument_strength": "Instrument strength: does the instrument move the treatment enough?",
    "exclusion": "Exclusion: does the instrument act only through the treatment?",
    "manipulation": "Manipulation: could units choose their side of the cutoff?",
    "specification": "Specification: do reasonable modelling choices give the same answer?",
    "sensitivity": "Sensitivity: how much hidden bias would overturn the result?",
    "inference": "Inference: can the uncertainty estimate be trusted?",
    "interference": "Interference: do other experiments running at the same time touch these units?",
    "other": "Other checks",
}

STATUS_LABELS = {"pass": "pass", "warn": "warn", "fail": "fail", "not_applicable": "n.a."}

_ORDER = {"fail": 3, "warn": 2, "pass": 1, "not_applicable": 0}

#: The verdict of :mod:`causal_kit.verdict` under its report name.
Confidence = Verdict


@dataclass(frozen=True)
class Tile:
    """One headline tile: label, value, the line under it, a key naming the number, and whether it is greyed."""

    label: str
    value: str
    sub: str
    key: str = ""
    muted: bool = False


@dataclass(frozen=True)
class ExecutiveSummary:
    """The summary a reader sees first; every field is text generated from numbers."""

    question: str
    answer: str
    business: tuple[str, ...]
    confidence: Verdict
    recommendation: str
    impact: BusinessImpact | None = None
    tiles: tuple[Tile, ...] = field(default_factory=tuple)
    decision: str = ""
    decision_action: str = ""
    sequential: str = ""
    sequential_decision: str = ""


def _worst(statuses: Sequence[str]) -> str:
    return max(statuses, key=_ORDER.__getitem__) if statuses else "not_applicable"


def diagnostic_groups(diagnostics: Sequence[Diagnostic], method: str | Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Diagnostics grouped by assumption, worst group first, with plain group names.

    Examples
    --------
    >>> from causal_kit import Diagnostic
    >>> groups = diagnostic_groups([Diagnostic("pre_trends", "warn", "Slight pre-trend.",
    ...                                        assumption="parallel_trends")])
    >>> groups[0]["label"].split(":")[0], groups[0]["status"]
    ('Parallel trends', 'warn')
    """
    if method is None or isinstance(method, str):
        owners = [method or ""] * len(diagnostics)
    else:
        owners = list(method)
    groups: dict[str, list[tuple[Diagnostic, str]]] = {}
    for d, owner in zip(diagnostics, owners):
        groups.setdefault(d.assumption, []).append((d, owner))
    out = []
    for assumption, items in groups.items():
        if all(d.status == "not_applicable" for d, _ in items):
            continue  # a group where nothing applies carries no information
        status = _worst([d.status for d, _ in items])
        out.append({
            "assumption": assumption,
            "label": ASSUMPTION_LABELS.get(assumption, assumption.replace("_", " ").capitalize()),
            "status": status,
            "status_label": STATUS_LABELS[status],
            "items": [
                {
                    "name": d.name.replace("_", " "),
                    "status": d.status,
                    "status_label": STATUS_LABELS[d.status],
                    "message": d.message,
                    "method": owner,
                    "statistic": fmt.stat(d.statistic),
                    "p_value": fmt.pvalue(d.p_value),
                    "threshold": fmt.stat(d.threshold),
                }
                for d, owner in items
            ],
        })
    out.sort(key=lambda g: -_ORDER[g["status"]])
    return out


def confidence(results: Sequence[EffectEstimate], comparison: Comparison | None = None) -> Verdict:
    """The verdict (Robust, Moderate, Fragile, Inconclusive) of one or several methods.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat",
    ...                          pre_covariate="pre")
    >>> confidence([ck.estimate(ck.datasets.load("ab_cuped_sim"), spec)]).label
    'Robust'
    """
    return verdict(list(results))


def confidence_from(diagnostics: Sequence[Diagnostic], comparison: Comparison | None = None,
                    ci: tuple[float, float] | None = None) -> Verdict:
    """The verdict from diagnostics alone (designs), or with an interval and a comparison."""
    agree = None
    if comparison is not None and len(comparison.results) > 1:
        agree = agreement([r.ci for r in comparison.results], [r.estimate for r in comparison.results])
    return verdict_from(diagnostics, ci, agree)


def singular(unit: str) -> str:
    """'orders' -> 'order' for 'per order' and 'each incremental order'; other words as they are."""
    if unit.endswith("s") and not unit.endswith(("ss", "us", "is")) and " " not in unit:
        return unit[:-1]
    return unit or "unit"


def _where(impact: BusinessImpact) -> str:
    return f" {impact.model.local}" if impact.model.local else ""


def effect_text(impact: BusinessImpact, x: float, sign: bool = True) -> str:
    """An effect value in the outcome's display units (the one place tiles and sentences get it)."""
    return fmt.effect(x, impact.model, relative=impact.effect_is_relative, sign=sign)


def effect_interval(impact: BusinessImpact, level: str) -> str:
    """'95% CI -41.4 to +1.89 packs' (the unit once, at the end; money and percents keep their signs)."""
    lo, hi = impact.effect_ci
    m = impact.model
    if impact.effect_is_relative or m.is_money or not m.unit:
        return f"{level} CI {effect_text(impact, lo)} to {effect_text(impact, hi)}"
    return f"{level} CI {fmt.signed(lo)} to {fmt.signed(hi)} {m.unit}"


def lift_text(impact: BusinessImpact) -> str:
    return fmt.pct(impact.lift, 1, sign=True) if impact.lift is not None else "n/a"


def lift_interval(impact: BusinessImpact, level: str) -> str:
    lo, hi = impact.lift_ci or (float("nan"), float("nan"))
    return f"{level} CI {fmt.pct(lo, 1, sign=True)} to {fmt.pct(hi, 1, sign=True)}"


def lift_basis(impact: BusinessImpact) -> str:
    """What the lift is relative to, with the baseline's value: 'of the counterfactual mean 80.1'."""
    if impact.effect_is_relative or impact.baseline is None:
        return ""
    where = {"at the cutoff": " just below the cutoff", "for compliers": " among compliers"}.get(impact.model.local, "")
    return f"of the counterfactual mean {fmt.effect(impact.baseline, impact.model, sign=False)}{where}"


def answer_sentence(result: EffectEstimate, impact: BusinessImpact) -> str:
    """The answer with its interval, e.g. 'The treatment raised orders by 52.3 orders per market-day (...)'."""
    if result.method == "price_test":  # an elasticity, not an effect in outcome units
        from .pricing import price_answer

        return price_answer(result)
    level = fmt.level(result.alpha)
    label = impact.model.label
    per = f" {impact.model.per}" if impact.model.per and not impact.effect_is_relative else ""
    size = effect_text(impact, abs(impact.effect), sign=False)
    interval = effect_interval(impact, level)
    lift = ""
    if impact.lift is not None and not impact.effect_is_relative and impact.baseline is not None:
        lift = f"; that is {lift_text(impact)} {lift_basis(impact)}"
    if result.ci[0] > 0 or result.ci[1] < 0:
        direction = "raised" if result.estimate > 0 else "lowered"
        return f"The treatment {direction} {label}{_where(impact)} by {size}{per} ({interval}){lift}."
    return (f"The data cannot tell whether the treatment changed {label}{_where(impact)}: the estimate is "
            f"{effect_text(impact, impact.effect)}{per} ({interval}), and the interval includes no change.")


def _business_sentences(result: EffectEstimate, impact: BusinessImpact) -> list[str]:
    level = fmt.level(result.alpha)
    cur, money = impact.currency, impact.outcome_is_currency
    m = impact.model
    out = []
    if impact.incremental is not None and impact.incremental_ci is not None:
        lo, hi = impact.incremental_ci
        over = "over the treated units and periods" if m.summable else f"over the stated exposure of {fmt.compact(m.exposure)}"
        sign = "+" if impact.incremental > 0 else ""
        unit = "" if money and cur else f" {m.unit or m.label}"
        out.append(f"Added up {over}, that is {sign}{fmt.amount(impact.incremental, cur, money)}{unit} "
                   f"({level} CI {fmt.amount(lo, cur, money)} to {fmt.amount(hi, cur, money)}).")
    if impact.cost is not None:
        spend = f"Against a spend of {fmt.money(impact.cost, cur)}"
        if impact.iroas is not None and impact.iroas_ci is not None:
            tail = "" if impact.money_established else "; the interval includes zero, so the return is not established"
            out.append(f"{spend}, the incremental return on spend (iROAS) is {fmt.ratio(impact.iroas)} ({level} CI "
                       f"{fmt.ratio(impact.iroas_ci[0])} to {fmt.ratio(impact.iroas_ci[1])}){tail}.")
        elif impact.cost_per_unit is not None and impact.cost_per_unit_ci is not None:
            ci = impact.cost_per_unit_ci
            out.append(f"{spend}, each incremental {singular(m.unit)} cost {fmt.money(impact.cost_per_unit, cur)} "
                       f"({level} CI {fmt.money(ci[0], cur)} to {fmt.money(ci[1], cur)}).")
        else:
            out.append(f"The spend was {fmt.money(impact.cost, cur)}; the cost per incremental unit is "
                       f"{impact.cost_note or 'not defined'}.")
    return out


def decision_of(result: EffectEstimate, impact: BusinessImpact, spec_dict: dict[str, Any],
                design: Any = None) -> tuple[Decision | None, str]:
    """The ship / stop / extend decision against ``report.break_even``, and its sentence."""
    if result.method == "price_test":  # decided on the profit gain of the recommended price
        from .pricing import price_decision

        return price_decision(result, spec_dict)
    report = spec_dict.get("report") or {}
    be = report.get("break_even")
    if be is None:
        return None, ""
    metric = report.get("break_even_metric") or "lift"
    scale = {"lift": (impact.lift, impact.lift_ci), "effect": (impact.effect, impact.effect_ci),
             "incremental": (impact.incremental, impact.incremental_ci), "iroas": (impact.iroas, impact.iroas_ci)}
    value, ci = scale.get(metric, (None, None))
    if value is None or ci is None:
        return None, (f"No decision line: the break-even is stated as {metric}, which this result cannot express.")
    duration = getattr(design, "recommended_duration", None)
    table = getattr(design, "duration_table", None)
    d = decision(float(value), ci, float(be), metric, alpha=result.alpha, duration_table=table, duration=duration)
    seq = result.details.get("sequential") if isinstance(result.details, dict) else None
    interim = bool(seq) and seq.get("decision") == "continue"
    show = {"lift": lambda v: fmt.pct(v, 1, sign=True), "iroas": fmt.ratio,
            "effect": lambda v: effect_text(impact, v),
            "incremental": lambda v: fmt.amount(v, impact.currency, impact.outcome_is_currency)}[metric]
    prob = (f"P(effect above break-even) = {fmt.pct(d.prob_above, 0)} under the normal approximation"
            if d.prob_above == d.prob_above else "")
    name = {"lift": "lift", "effect": "effect", "incremental": "incremental total", "iroas": "iROAS"}[metric]
    head = f"against a break-even {name} of {show(d.break_even)}"
    if d.action == "ship" and interim:
        # a sequential study that has not stopped is not shipped on an interim look
        text = (f"Continue to the next look: the interval of the {name} lies above the break-even ({head}; {prob}), "
                "but the study has not reached a stopping boundary.")
    elif d.action == "ship":
        text = f"Ship: the whole interval of the {name} lies above the break-even ({head}; {prob})."
    elif d.action == "stop":
        text = f"Stop: the {name} is unlikely to reach the break-even ({head}; {prob})."
    else:
        if d.extend_to is not None:
            how = f"extend the test to about {fmt.count(d.extend_to)} periods, where the planned MDE falls below the gap to break-even"
        elif d.extend_factor is not None and d.extend_factor < 100:
            how = (f"extend the test to about {fmt.num(max(d.extend_factor, 1.1), 2)} times its length for the "
                   "interval to clear the break-even, if the effect holds (SE shrinking with the square root of the length)")
        else:
            how = "extend the test"
        text = f"Extend: the interval straddles the break-even ({head}; {prob}); {how}."
    return d, text


_SEQ_KIND = {"confidence_sequence": "always-valid confidence sequence", "msprt": "mixture SPRT",
             "regression": "anytime-valid regression"}
_SEQ_DECISION = {"continue": "continue to the next look", "stop_efficacy": "stop for efficacy",
                 "stop_futility": "stop for futility", "final": "final look, the study ends here"}


def sequential_sentence(result: EffectEstimate) -> str:
    """The sequential status of a readout in plain words, or "" for a fixed-horizon result.

    Examples
    --------
    >>> from causal_kit import EffectEstimate
    >>> r = EffectEstimate("ab", "ATE", 1.0, 0.5, (0.1, 1.9), 0.01, 0.05, 100, details={"sequential": {
    ...     "method": "alpha_spending", "look": 3, "n_looks_planned": 6, "boundary_z": 2.4107,
    ...     "decision": "stop_efficacy"}})
    >>> sequential_sentence(r)
    'Sequential readout: look 3 of 6, boundary z = 2.41. Decision: stop for efficacy.'
    """
    seq = result.details.get("sequential") if isinstance(result.details, dict) else None
    if not seq:
        return ""
    look, planned, bound = seq.get("look"), seq.get("n_looks_planned"), seq.get("boundary_z")
    of = f" of {fmt.count(planned)}" if planned else ""
    if bound is not None:
        status = f"look {fmt.count(look)}{of}, boundary z = {fmt.num(bound, 3)}"
    else:
        kind = _SEQ_KIND.get(str(seq.get("method")), "always-valid interval")
        status = f"valid at any look ({kind}, look {fmt.count(look)}{of})"
    if seq.get("unplanned_look"):
        status += ", an unplanned extra look"
    decided = _SEQ_DECISION.get(str(seq.get("decision")), str(seq.get("decision") or "").replace("_", " "))
    return f"Sequential readout: {status}. Decision: {decided}."


def recommendation(result: EffectEstimate, conf: Verdict) -> str:
    """A neutral recommendation calibrated to the verdict (and to a sequential readout's decision)."""
    seq = result.details.get("sequential") if isinstance(result.details, dict) else None
    if seq and seq.get("decision") == "continue" and conf.label != "Fragile":
        return ("The study continues: read it again at the next planned look, and do not act on this interim "
                "interval; it stays valid whenever the study stops.")
    if seq and seq.get("decision") == "stop_futility" and conf.label != "Fragile":
        return ("Stop the study: the interval rules out effects beyond the futility margin, so more data are "
                "unlikely to show one.")
    if conf.label == "Robust":
        return ("The evidence supports an effect in this direction; plan with the whole interval, "
                "using its conservative end as the downside case.")
    if conf.label == "Moderate":
        return "The effect is likely real; review the flagged checks before relying on its exact size."
    if conf.label == "Fragile":
        if conf.conclusion == "null":
            return "The result is inconclusive and some checks fail; do not read a direction into it."
        return ("Treat the result as directional only: resolve the failed checks or confirm with another "
                "design before acting on its size.")
    return ("The data are consistent with no effect; effects outside the interval are unlikely, and a larger "
            "or longer study would be needed to detect a smaller one.")


def _tiles(result: EffectEstimate, impact: BusinessImpact) -> list[Tile]:
    if result.method == "price_test":
        from .pricing import price_tiles

        return price_tiles(result)
    level = fmt.level(result.alpha)
    cur, money = impact.currency, impact.outcome_is_currency
    m = impact.model
    where = f" {m.local}" if m.local else ""
    if impact.effect_is_relative:
        label = f"Change in {m.label}{where}"
    else:
        label = f"Effect on {m.label}{where}" + (f" ({m.per})" if m.per else "")
    tiles = [Tile(label, effect_text(impact, impact.effect), effect_interval(impact, level), "effect")]
    if impact.lift is not None and impact.lift_ci is not None and not impact.effect_is_relative:
        tiles.append(Tile("Lift", lift_text(impact), f"{lift_interval(impact, level)}; {lift_basis(impact)}", "lift"))
    if impact.incremental is not None and impact.incremental_ci is not None:
        lo, hi = impact.incremental_ci
        tiles.append(Tile(f"Incremental {m.unit or m.label}", fmt.amount(impact.incremental, cur, money),
                          f"{level} CI {fmt.amount(lo, cur, money)} to {fmt.amount(hi, cur, money)}", "total"))
    if impact.iroas is not None and impact.iroas_ci is not None:
        tiles.append(Tile("iROAS", fmt.ratio(impact.iroas),
                          f"{level} CI {fmt.ratio(impact.iroas_ci[0])} to {fmt.ratio(impact.iroas_ci[1])}"
                          + ("" if impact.money_established else "; not established (includes zero)"),
                          "iroas", muted=not impact.money_established))
    elif impact.cost_per_unit is not None and impact.cost_per_unit_ci is not None:
        ci = impact.cost_per_unit_ci
        tiles.append(Tile(f"Cost per incremental {singular(m.unit)}", fmt.money(impact.cost_per_unit, cur),
                          f"{level} CI {fmt.money(ci[0], cur)} to {fmt.money(ci[1], cur)}", "cost_per_unit"))
    tiles.append(Tile("p-value", fmt.pvalue(result.p_value), f"n = {fmt.count(result.n_obs)} observations", "p"))
    return tiles


def executive_summary(results: EffectEstimate | Sequence[EffectEstimate], spec: Any = None,
                      comparison: Comparison | None = None, design: Any = None) -> ExecutiveSummary:
    """The executive summary of one result, or of several methods (the first is the headline).

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat",
    ...                          question="Does the new page raise y?")
    >>> res = ck.estimate(ck.datasets.load("ab_cuped_sim"), spec)
    >>> executive_summary(res).question
    'Does the new page raise y?'
    """
    items = [results] if not isinstance(results, Sequence) else list(results)
    primary = items[0]
    spec_dict = spec_of(primary, spec)
    impact = business_impact(primary, spec_dict)
    conf = verdict(items)
    question = spec_dict.get("question") or f"What effect did the treatment have on {impact.outcome_label}?"
    business = _business_sentences(primary, impact)
    dec, dec_text = decision_of(primary, impact, spec_dict, design)
    return ExecutiveSummary(
        question=question,
        answer=answer_sentence(primary, impact),
        business=tuple(business),
        confidence=conf,
        recommendation=recommendation(primary, conf),
        impact=impact,
        tiles=tuple(_tiles(primary, impact)),
        decision=dec_text,
        decision_action=dec.action if dec is not None else "",
        sequential=sequential_sentence(primary),
        sequential_decision=str((primary.details.get("sequential") or {}).get("decision") or ""),
    )
