"""The executive summary of an experiment design, generated from a ``DesignResult``'s numbers."""

from __future__ import annotations

import math
from typing import Any

from . import fmt
from .summary import confidence_from

__all__ = ["design_summary"]


def _get(design: Any, name: str) -> Any:
    value = getattr(design, name, None)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def design_summary(design: Any) -> dict[str, Any]:
    """Question, answer, business lines, confidence, recommendation and tiles of a design.

    Parameters
    ----------
    design : DesignResult
        Needs ``spec``, ``mde``, ``mde_absolute``, ``target_power``, ``alpha``,
        ``recommended_duration``, ``type1_error``, ``cost``, ``iroas_mde``, ``currency``,
        ``estimator_ranking`` and ``diagnostics``.

    Returns
    -------
    dict
        Text only, ready for the design template and the notebook card.
    """
    spec = design.spec
    report = getattr(spec, "report", None)
    outcome = ((getattr(report, "outcome_label", None) if report is not None else None)
               or getattr(design, "outcome", None) or spec.outcome or "the KPI")
    cur = _get(design, "currency")
    mde, mde_abs = _get(design, "mde"), _get(design, "mde_absolute")
    power, alpha = _get(design, "target_power"), _get(design, "alpha")
    duration, type1 = _get(design, "recommended_duration"), _get(design, "type1_error")
    cost, iroas_mde = _get(design, "cost"), _get(design, "iroas_mde")

    question = spec.question or f"How long must the test run, and on which units, to detect an effect on {outcome}?"
    if duration is not None and mde is not None:
        answer = (f"Run the test for {fmt.plain(duration)} periods: it can then detect a lift of {fmt.pct(mde)}"
                  f" ({fmt.num(mde_abs)} {outcome} per period across the treated units) with {fmt.pct(power, 0)} power at a "
                  f"{fmt.pct(alpha, 0)} significance level.")
    elif mde is not None:
        answer = (f"No tested duration reaches {fmt.pct(power, 0)} power for the lifts considered; the best "
                  f"detectable lift is {fmt.pct(mde)}.")
    else:
        answer = (f"No tested duration reaches {fmt.pct(power, 0)} power; a larger test (more units or a longer "
                  "window) is needed.")
    business = []
    if type1 is not None and alpha is not None:
        business.append(f"On historical windows with no true effect, the planned analysis flagged an effect "
                        f"{fmt.pct(type1)} of the time, against a nominal {fmt.pct(alpha)}.")
    if cost is not None:
        line = f"The treated cells cost {fmt.money(cost, cur)}"
        if iroas_mde is not None:
            line += f"; the smallest detectable iROAS is {fmt.ratio(iroas_mde)}"
        business.append(line + ".")
    ranking = _get(design, "estimator_ranking")
    if ranking is not None and len(ranking) and "recommended" in ranking:
        best = ranking.loc[ranking["recommended"].astype(bool)]
        if len(best):
            from .html import METHOD_TITLES

            name = str(best["estimator"].iloc[0])
            business.append(f"The recommended readout method is {METHOD_TITLES.get(name, name)}, "
                            "the best of those simulated on the history.")
    diags = list(getattr(design, "diagnostics", ()) or ())
    conf = confidence_from(diags)
    status, label, reason = conf.status, conf.label, conf.reason
    if type1 is not None and alpha is not None and type1 > 2 * alpha and status != "fail":
        status, label = "warn", "Moderate"
        reason = f"the false-positive rate {fmt.pct(type1)} exceeds twice the nominal {fmt.pct(alpha)}"
    recommendation = (
        f"If a lift smaller than {fmt.pct(mde)} would still matter, extend the test or add units before "
        "launching; otherwise the plan is adequate." if mde is not None
        else "Add units or lengthen the window and re-run the design before launching."
    )
    tiles = [
        ("Minimum detectable lift", fmt.pct(mde), f"{fmt.num(mde_abs)} {outcome} per period"),
        ("Recommended duration", fmt.plain(duration) if duration is not None else "n/a", "periods"),
        ("Power", fmt.pct(power, 0), f"at alpha {fmt.pct(alpha, 0)}"),
        ("False-positive rate", fmt.pct(type1), "placebo simulations"),
    ]
    if cost is not None:
        tiles.append(("Cost", fmt.money(cost, cur),
                      f"min. detectable iROAS {fmt.ratio(iroas_mde)}" if iroas_mde is not None else "treated cells"))
    return {
        "question": question,
        "answer": answer,
        "business": business,
        "confidence": {"label": label, "reason": reason, "status": status,
                       "sentence": f"{label}: {reason}."},
        "recommendation": recommendation,
        "tiles": [{"label": a, "value": b, "sub": c} for a, b, c in tiles],
    }
