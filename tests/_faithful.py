"""Number-faithfulness: every number in a generated text equals one of the result's numbers, as printed."""

from __future__ import annotations

import math
import re

_TOKEN = re.compile(r"(?<![A-Za-z0-9.])([-+]?)(\$?)(\d[\d,]*(?:\.\d+)?)([KMBT]?)(%?)(?![A-Za-z0-9])")
_MULT = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def numbers_in(text: str) -> list[tuple[str, float, float, bool]]:
    """Each number token: (token, value, half a unit of its last printed digit, explicitly signed)."""
    out = []
    for m in _TOKEN.finditer(text):
        sign, _, digits, suffix, percent = m.groups()
        value = float(digits.replace(",", "")) * _MULT[suffix]
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        half = 0.5 * 10 ** (-decimals) * _MULT[suffix]
        if percent:
            value, half = value / 100, half / 100
        if sign == "-":
            value = -value
        out.append((m.group(0), value, half, bool(sign)))
    return out


def unmatched(text: str, candidates) -> list[str]:
    """Tokens of ``text`` that match no candidate (signed tokens must match the candidate's sign)."""
    cands = [float(c) for c in candidates if c is not None and math.isfinite(float(c))]
    bad = []
    for token, value, half, signed in numbers_in(text):
        ok = any(abs(value - c) <= half * 1.0001 + 1e-12 if signed else abs(value - abs(c)) <= half * 1.0001 + 1e-12
                 for c in cands)
        # integers printed with thousands separators and whole counts are exact
        if not ok:
            bad.append(token)
    return bad


def result_numbers(result, spec=None) -> list[float]:
    """Every number a result's explanation may print: its own, its business translation's, its decision's."""
    from causal_kit.outcome import business_impact, spec_of
    from causal_kit.report.summary import decision_of

    spec_dict = spec_of(result, spec)
    impact = business_impact(result, spec_dict)
    nums = [result.estimate, *result.ci, result.p_value, result.n_obs, result.n_units or 0, 1 - result.alpha,
            impact.effect, *impact.effect_ci, impact.baseline, impact.lift, *(impact.lift_ci or ()),
            impact.incremental, *(impact.incremental_ci or ()), impact.cost, impact.cost_per_unit,
            *(impact.cost_per_unit_ci or ()), impact.iroas, *(impact.iroas_ci or ()), impact.model.exposure]
    if result.p_value < 0.001:
        nums.append(0.001)  # printed as "p < 0.001"
    made, _ = decision_of(result, impact, spec_dict)
    if made is not None:
        nums += [made.break_even, made.prob_above, made.extend_factor, max(made.extend_factor or 0, 1.1),
                 made.extend_to]
    seq = (result.details or {}).get("sequential") or {}
    nums += [seq.get("look"), seq.get("n_looks_planned"), seq.get("boundary_z")]
    # the result's own words (its estimand, e.g. "over 4 periods since the switch") and scalar details
    # (e.g. a price test's recommended price and revenue change) are the result's numbers too
    nums += [v for _, v, _, _ in numbers_in(f"{result.estimand} {result.label or ''}")]
    nums += [v for v in _scalars(result.details or {})]
    if result.method == "price_test":
        # "a 1% higher price cuts units by e%": the elasticity read per 1% of price; the recommended
        # price as a change against the reference price
        d = result.details or {}
        rec = [d.get("recommended_relative_price"), *(d.get("recommended_relative_price_ci") or ())]
        nums += [0.01, result.estimate / 100, *(c / 100 for c in result.ci), *(r - 1 for r in rec if r is not None)]
    return [float(x) for x in nums if x is not None]


def _scalars(details, depth: int = 0):
    """Numeric scalars of a result's details (nested dicts and short lists included)."""
    if depth > 3:
        return
    items = details.values() if isinstance(details, dict) else details if isinstance(details, (list, tuple)) else ()
    for v in items:
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            yield float(v)
        elif isinstance(v, (dict, list, tuple)) and len(v) <= 200:
            yield from _scalars(v, depth + 1)
