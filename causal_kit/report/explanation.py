"""The plain-language explanation of one result: what was tested, what happened, how sure, what it rests on.

:func:`explain` assembles a short paragraph from the same sentences the report's executive
summary shows (:mod:`causal_kit.report.summary`): the answer with its interval, the business
translation, the decision, the verdict of :mod:`causal_kit.verdict` (so a null result never
reads like a win) and the recommendation, plus one sentence naming the method and one naming
the assumptions with their statuses. Every number in it is formatted by :mod:`causal_kit.fmt`
from the result's own numbers. ``EffectEstimate.explain()`` and the assistant tools call it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..outcome import spec_of
from . import fmt
from .summary import ASSUMPTION_LABELS, decision_of, executive_summary

if TYPE_CHECKING:
    from ..result import EffectEstimate

__all__ = ["explain", "tested_sentence", "rests_on_sentence"]

_ORDER = {"fail": 3, "warn": 2, "pass": 1, "not_applicable": 0}
_STATUS_WORDS = {"pass": "passes", "warn": "is borderline", "fail": "fails"}


def _method_name(result: EffectEstimate) -> str:
    # a label naming arms by number ("A/B: 1 vs 0") would put numbers in the text that are not results
    label = result.label if result.label and not any(ch.isdigit() for ch in result.label) else result.method
    return label.replace("_", " ")


def tested_sentence(result: EffectEstimate, spec_dict: dict[str, Any], outcome_label: str) -> str:
    """'Tested: <question> (method, estimand, n observations in k units).'"""
    report = spec_dict.get("report") or {}
    question = spec_dict.get("question")
    if not question:
        what = report.get("intervention") or "the treatment"
        question = f"did {what} change {outcome_label}?"
    units = f" in {fmt.count(result.n_units)} units" if result.n_units else ""
    estimand = f", {result.estimand}" if result.estimand else ""
    obs = f"{fmt.count(result.n_obs)} observations{units}"
    return f"Tested: {question.rstrip()} ({_method_name(result)}{estimand}, {obs})."


def rests_on_sentence(result: EffectEstimate) -> str:
    """The assumptions the answer rests on, each with the status of its worst check, worst first."""
    groups: dict[str, str] = {}
    for d in result.diagnostics:
        if d.status == "not_applicable":
            continue
        prev = groups.get(d.assumption)
        groups[d.assumption] = d.status if prev is None else max(prev, d.status, key=_ORDER.__getitem__)
    if not groups:
        return "It rests on assumptions none of which could be checked from the data."
    items = sorted(groups.items(), key=lambda kv: -_ORDER[kv[1]])
    words = [f"{ASSUMPTION_LABELS.get(a, a).split(':')[0].lower()} ({_STATUS_WORDS[s]})" for a, s in items]
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"It rests on {listed}."


def explain(result: EffectEstimate, spec: Any = None) -> str:
    """A short, number-faithful paragraph explaining ``result`` to an operator.

    Parameters
    ----------
    result : EffectEstimate
    spec : ExperimentSpec or dict, optional
        Defaults to the spec recorded in the result's lineage.

    Returns
    -------
    str
        What was tested, what happened (effect, interval, business units, decision), how sure
        (the verdict and the p-value) and what it rests on.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="checkout", design="ab", outcome="y", treatment="treat",
    ...                          pre_covariate="pre", question="Did the new checkout raise spend?")
    >>> text = ck.estimate(ck.datasets.load("ab_cuped_sim"), spec).explain()
    >>> text.startswith("Tested: Did the new checkout raise spend?")
    True
    """
    spec_dict = spec_of(result, spec)
    summary = executive_summary(result, spec_dict)
    impact = summary.impact
    label = impact.model.label if impact is not None else (result.outcome or "the outcome")
    parts = [tested_sentence(result, spec_dict, label), summary.answer]
    parts += list(summary.business)
    if summary.sequential:
        parts.append(summary.sequential)
    if impact is not None:
        _, decision_text = decision_of(result, impact, spec_dict)
        if decision_text:
            parts.append(decision_text)
    conf = summary.confidence
    parts.append(f"How sure: {conf.label}, {conf.reason} (p = {fmt.pvalue(result.p_value)}; "
                 f"{fmt.level(result.alpha)} interval).".replace("p = < ", "p < "))
    parts.append(rests_on_sentence(result))
    parts.append(summary.recommendation)
    return " ".join(p.strip() for p in parts if p)
