"""Executive summaries generated from the numbers: answer, confidence verdict, recommendation.

Nothing here is hand-written per study: every sentence is assembled from the result's
estimate and interval, its diagnostics, the business translation
(:mod:`causal_kit.report.business`) and, for several methods, the agreement verdict of
:func:`causal_kit.compare`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import fmt
from .business import BusinessImpact, business_impact, spec_of

if TYPE_CHECKING:
    from ..compare import Comparison
    from ..result import Diagnostic, EffectEstimate

__all__ = [
    "ASSUMPTION_LABELS", "STATUS_LABELS", "Confidence", "ExecutiveSummary", "confidence", "confidence_from",
    "diagnostic_groups", "executive_summary", "answer_sentence",
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
    "other": "Other checks",
}

STATUS_LABELS = {"pass": "pass", "warn": "warn", "fail": "fail", "not_applicable": "n.a."}

# (pass, warn, fail) phrases per assumption, used in the one-line confidence verdict.
_PHRASES: dict[str, tuple[str, str, str]] = {
    "randomization": ("randomization checks pass", "a randomization check is borderline",
                      "a randomization check fails"),
    "parallel_trends": ("pre-trends pass", "pre-trends are borderline", "pre-trends fail"),
    "fit": ("the pre-period fit is good", "the pre-period fit is mediocre", "the pre-period fit is poor"),
    "overlap": ("overlap is good", "overlap is limited", "overlap is poor"),
    "balance": ("covariates are balanced", "some covariates are imbalanced", "covariates are imbalanced"),
    "instrument_strength": ("the instrument is strong", "the instrument is borderline weak",
                            "the instrument is weak"),
    "exclusion": ("exclusion checks pass", "an exclusion check is borderline", "an exclusion check fails"),
    "manipulation": ("no sign of manipulation at the cutoff", "possible manipulation at the cutoff",
                     "the running variable looks manipulated at the cutoff"),
    "specification": ("specification checks pass", "the estimate moves with the specification",
                      "the estimate depends on the specification"),
    "sensitivity": ("the result is robust to moderate hidden bias", "the result is sensitive to hidden bias",
                    "small hidden bias would overturn the result"),
    "inference": ("inference checks pass", "the uncertainty estimate may be unreliable",
                  "the uncertainty estimate is unreliable"),
    "other": ("other checks pass", "another check is borderline", "another check fails"),
}
_ORDER = {"fail": 3, "warn": 2, "pass": 1, "not_applicable": 0}


@dataclass(frozen=True)
class Confidence:
    """How far to trust the answer: ``label`` (Robust, Moderate, Fragile), reason and status."""

    label: str
    reason: str
    status: str  # pass | warn | fail, for the badge colour

    @property
    def sentence(self) -> str:
        return f"{self.label}: {self.reason}."


@dataclass(frozen=True)
class ExecutiveSummary:
    """The summary a reader sees first; every field is text generated from numbers."""

    question: str
    answer: str
    business: tuple[str, ...]
    confidence: Confidence
    recommendation: str
    impact: BusinessImpact | None = None
    tiles: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)


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


def _phrases(diagnostics: Sequence[Diagnostic]) -> dict[str, list[str]]:
    by_group: dict[str, str] = {}
    for d in diagnostics:
        if d.status == "not_applicable":
            continue
        prev = by_group.get(d.assumption)
        by_group[d.assumption] = d.status if prev is None else _worst([prev, d.status])
    out: dict[str, list[str]] = {"pass": [], "warn": [], "fail": []}
    for assumption, status in by_group.items():
        phrases = _PHRASES.get(assumption, _PHRASES["other"])
        out[status].append(phrases[("pass", "warn", "fail").index(status)])
    return out


def confidence(results: Sequence[EffectEstimate], comparison: Comparison | None = None) -> Confidence:
    """Fold diagnostics (and agreement across methods) into Robust / Moderate / Fragile.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat")
    >>> confidence([ck.estimate(ck.datasets.load("ab_cuped_sim"), spec)]).label
    'Robust'
    """
    return confidence_from([d for r in results for d in r.diagnostics], comparison)


def confidence_from(diagnostics: Sequence[Diagnostic], comparison: Comparison | None = None) -> Confidence:
    """:func:`confidence` from a list of diagnostics (used for designs too)."""
    phr = _phrases(diagnostics)
    parts: list[str] = []
    status = "pass"
    if comparison is not None and comparison.verdict.label != "single":
        v = comparison.verdict
        if v.label == "agree":
            parts.append(f"{v.n_agree} of {v.n_methods} methods agree")
        elif v.label == "mixed":
            parts.append(f"the methods only partly agree ({v.n_agree} of {v.n_methods})")
            status = "warn"
        else:
            parts.append(f"the methods disagree ({v.n_agree} of {v.n_methods} agree)")
            status = "fail"
    if phr["fail"]:
        status = "fail"
        parts = phr["fail"] + parts
    elif phr["warn"]:
        status = _worst([status, "warn"])
        parts = parts + phr["warn"]
    parts += phr["pass"][: max(0, 3 - len(parts))]
    if not diagnostics or not any(phr.values()):
        parts.append("no assumption could be checked from the data")
        status = _worst([status, "warn"])
    reason = ", ".join(parts)
    if status == "fail":
        return Confidence("Fragile", reason + "; treat as directional", "fail")
    if status == "warn":
        return Confidence("Moderate", reason, "warn")
    return Confidence("Robust", reason, "pass")


def answer_sentence(result: EffectEstimate, impact: BusinessImpact) -> str:
    """The answer with its interval, e.g. 'The treatment raised revenue by 4.1% (95% CI ...)'."""
    level = fmt.level(result.alpha)
    label = impact.outcome_label
    money = impact.outcome_is_currency

    def amount(x: float) -> str:
        return fmt.amount(x, impact.currency, money)

    if impact.lift is not None and impact.lift_ci is not None:
        size = fmt.pct(abs(impact.lift))
        interval = f"{level} CI {fmt.pct(impact.lift_ci[0])} to {fmt.pct(impact.lift_ci[1])}"
        signed = fmt.pct(impact.lift, sign=True)
    else:
        size = amount(abs(result.estimate))
        interval = f"{level} CI {amount(result.ci[0])} to {amount(result.ci[1])}"
        signed = fmt.signed(result.estimate) if not (money and impact.currency) else amount(result.estimate)
    if result.significant:
        direction = "raised" if result.estimate > 0 else "lowered"
        return f"The treatment {direction} {label} by {size} ({interval})."
    return (f"The data cannot tell whether the treatment changed {label}: the estimate is {signed} "
            f"({interval}), and the interval includes no change.")


def _signed_amount(x: float, currency: str | None, money: bool) -> str:
    text = fmt.amount(x, currency, money)
    return text if text.startswith("-") or x <= 0 else "+" + text


def _business_sentences(result: EffectEstimate, impact: BusinessImpact) -> list[str]:
    level = fmt.level(result.alpha)
    cur, money = impact.currency, impact.outcome_is_currency
    out = []
    if impact.incremental is not None and impact.incremental_ci is not None:
        lo, hi = impact.incremental_ci
        out.append(
            f"Summed over the treated units and periods, that is {_signed_amount(impact.incremental, cur, money)} "
            f"in {impact.outcome_label} ({level} CI {fmt.amount(lo, cur, money)} to {fmt.amount(hi, cur, money)})."
        )
    if impact.cost is not None:
        if impact.iroas is not None and impact.iroas_ci is not None:
            out.append(
                f"Against a spend of {fmt.money(impact.cost, cur)}, the incremental return on spend (iROAS) is "
                f"{fmt.ratio(impact.iroas)} ({level} CI {fmt.ratio(impact.iroas_ci[0])} to "
                f"{fmt.ratio(impact.iroas_ci[1])}) per unit of spend."
            )
        elif impact.cost_per_unit is not None:
            ci = impact.cost_per_unit_ci
            tail = (f" ({level} CI {fmt.money(ci[0], cur)} to {fmt.money(ci[1], cur)})" if ci is not None
                    else "; its upper bound is open because the interval of the total includes zero")
            out.append(
                f"Against a spend of {fmt.money(impact.cost, cur)}, each incremental unit of "
                f"{impact.outcome_label} cost {fmt.money(impact.cost_per_unit, cur)}{tail}."
            )
        elif impact.incremental is None:
            out.append(
                f"The spend was {fmt.money(impact.cost, cur)}; cost per incremental unit needs the treated "
                "exposure, which this method does not report."
            )
        else:
            out.append(
                f"The spend was {fmt.money(impact.cost, cur)}; with no positive incremental total, a cost per "
                "incremental unit is not defined."
            )
    return out


def recommendation(result: EffectEstimate, conf: Confidence) -> str:
    """A neutral recommendation calibrated to significance and confidence."""
    if result.significant:
        if conf.label == "Robust":
            return ("The evidence supports an effect in this direction; plan with the whole interval, "
                    "using its conservative end as the downside case.")
        if conf.label == "Moderate":
            return ("The effect is likely real; review the flagged checks before relying on its exact size.")
        return ("Treat the result as directional only: resolve the failed checks or confirm with another "
                "design before acting on its size.")
    if conf.label == "Fragile":
        return ("The result is inconclusive and some checks fail; do not read a direction into it.")
    return ("The data are consistent with no effect; effects outside the interval are unlikely, and a larger "
            "or longer study would be needed to detect a smaller one.")


def _tiles(result: EffectEstimate, impact: BusinessImpact) -> list[tuple[str, str, str]]:
    level = fmt.level(result.alpha)
    cur, money = impact.currency, impact.outcome_is_currency
    tiles = [(
        f"Effect on {impact.outcome_label}",
        fmt.amount(result.estimate, cur, money) if money else fmt.signed(result.estimate),
        f"{level} CI {fmt.amount(result.ci[0], cur, money)} to {fmt.amount(result.ci[1], cur, money)}",
    )]
    if impact.lift is not None and impact.lift_ci is not None:
        tiles.append(("Lift", fmt.pct(impact.lift, sign=True),
                      f"{level} CI {fmt.pct(impact.lift_ci[0])} to {fmt.pct(impact.lift_ci[1])}"))
    if impact.incremental is not None and impact.incremental_ci is not None:
        tiles.append((f"Incremental {impact.outcome_label}", fmt.amount(impact.incremental, cur, money),
                      f"{level} CI {fmt.amount(impact.incremental_ci[0], cur, money)} to "
                      f"{fmt.amount(impact.incremental_ci[1], cur, money)}"))
    if impact.iroas is not None and impact.iroas_ci is not None:
        tiles.append(("iROAS", fmt.ratio(impact.iroas),
                      f"{level} CI {fmt.ratio(impact.iroas_ci[0])} to {fmt.ratio(impact.iroas_ci[1])}"))
    elif impact.cost_per_unit is not None:
        ci = impact.cost_per_unit_ci
        tiles.append(("Cost per incremental unit", fmt.money(impact.cost_per_unit, cur),
                      f"{level} CI {fmt.money(ci[0], cur)} to {fmt.money(ci[1], cur)}" if ci else "upper bound open"))
    tiles.append(("p-value", fmt.pvalue(result.p_value), f"n = {fmt.count(result.n_obs)} observations"))
    return tiles


def executive_summary(results: EffectEstimate | Sequence[EffectEstimate], spec: Any = None,
                      comparison: Comparison | None = None) -> ExecutiveSummary:
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
    if comparison is None and len(items) > 1:
        from ..compare import Comparison

        comparison = Comparison(items)
    spec_dict = spec_of(primary, spec)
    impact = business_impact(primary, spec_dict)
    conf = confidence(items, comparison)
    question = spec_dict.get("question") or f"What effect did the treatment have on {impact.outcome_label}?"
    business = _business_sentences(primary, impact)
    if comparison is not None and len(items) > 1:
        business.append(str(comparison.verdict))
    return ExecutiveSummary(
        question=question,
        answer=answer_sentence(primary, impact),
        business=tuple(business),
        confidence=conf,
        recommendation=recommendation(primary, conf),
        impact=impact,
        tiles=tuple(_tiles(primary, impact)),
    )
