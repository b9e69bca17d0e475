"""The executive summary of an experiment design, generated from a ``DesignResult``'s numbers."""

from __future__ import annotations

import math
from typing import Any

from . import fmt
from .summary import confidence_from

__all__ = ["design_summary", "sequential_operating"]


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
    elasticity = (getattr(design, "details", None) or {}).get("effect_kind") == "elasticity"
    if elasticity:
        return _price_design_summary(design, question)
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
    aa = aa_rate(design)
    if aa is not None and alpha is not None:
        business.append(f"On {aa['windows_text']} with no true effect, the planned analysis flagged an effect "
                        f"{aa['value']} of the time ({aa['ci']}), against a nominal {fmt.pct(alpha)}.")
        if aa.get("precise") is False:
            business.append("That rate is measured too imprecisely to rank methods on (Monte Carlo SE above "
                            "1.5 points): add history, windows or placebo assignments before relying on it.")
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
    if type1 is not None and alpha is not None and aa is not None and aa["low"] > alpha and status != "fail":
        status, label = "warn", "Moderate"
        reason = f"the false-positive rate {aa['text']} is above the nominal {fmt.pct(alpha)}"
    elif (alpha is not None and aa is not None and aa["high"] is not None and aa["high"] > 2 * alpha
          and status == "pass"):
        # Too few A/A windows to confirm the false-positive rate: not a clean bill of health.
        status, label = "warn", "Moderate"
        reason += (f"; the false-positive rate is known only to within {fmt.pct(aa['low'])} to {fmt.pct(aa['high'])}"
                   f" from {aa['windows_text']}: simulate more windows to confirm it")
    recommendation = (
        f"If a lift smaller than {fmt.pct(mde)} would still matter, extend the test or add units before "
        "launching; otherwise the plan is adequate." if mde is not None
        else "Add units or lengthen the window and re-run the design before launching."
    )
    tiles = [
        ("Minimum detectable lift", fmt.pct(mde), f"{fmt.num(mde_abs)} {outcome} per period"),
        ("Recommended duration", fmt.plain(duration) if duration is not None else "n/a", "periods"),
        ("Power", fmt.pct(power, 0), f"at alpha {fmt.pct(alpha, 0)}"),
        ("False-positive rate", fmt.pct(type1) if aa is None else aa["value"],
         "placebo simulations" if aa is None else f"{aa['ci']}; {aa['windows_text']}"),
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
        "decision": "",
        "decision_action": "",
        "tiles": [{"label": a, "value": b, "sub": c, "key": "", "muted": False} for a, b, c in tiles],
    }


def _price_design_summary(design: Any, question: str) -> dict[str, Any]:
    """The summary of a price-test design: effects are elasticities, not lifts."""
    d = design.details
    mde, power, alpha = design.mde, design.target_power, design.alpha
    reachable = mde == mde and mde != float("inf")
    answer = (f"Run the {d.get('design')} price test for {fmt.plain(design.recommended_duration)} periods: it then "
              f"detects an own-price elasticity of {fmt.num(mde)} or stronger with {fmt.pct(power, 0)} power at a "
              f"{fmt.pct(alpha, 0)} significance level." if reachable else
              f"No tested duration reaches {fmt.pct(power, 0)} power for the elasticities simulated; add products or "
              "periods, or test wider price steps.")
    business = [f"With no price effect the readout flagged one in {fmt.pct(design.type1_error)} of "
                f"{fmt.count(d.get('n_sims'))} simulated tests on the history (nominal {fmt.pct(alpha)}).",
                f"Arms {', '.join(fmt.num(a) for a in d.get('arms', []))} times the current price; "
                f"{fmt.count(d.get('n_products'))} products."]
    conf = confidence_from(list(design.diagnostics or ()))
    tiles = [("Smallest detectable elasticity", fmt.num(mde) if reachable else "n/a", f"at {fmt.pct(power, 0)} power"),
             ("Recommended duration", fmt.plain(design.recommended_duration), "periods"),
             ("False-positive rate", fmt.pct(design.type1_error), "simulated tests with no price effect")]
    return {
        "question": question, "answer": answer, "business": business,
        "confidence": {"label": conf.label, "reason": conf.reason, "status": conf.status,
                       "sentence": f"{conf.label}: {conf.reason}."},
        "recommendation": ("If a weaker price response would still matter, run longer or on more products."
                           if reachable else "Enlarge the test and re-run the design before launching."),
        "decision": "", "decision_action": "",
        "tiles": [{"label": a, "value": b, "sub": c, "key": "", "muted": False} for a, b, c in tiles],
    }


def _wilson(rate: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    # Wilson's interval keeps a sensible width at 0 of n, where rate +/- z*SE collapses to a point.
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def aa_rate(design: Any) -> dict[str, Any] | None:
    """The A/A false-positive rate of the planned method with its 95% interval and number of windows.

    Reads ``aa_rate``/``aa_ci_low``/``aa_ci_high``/``aa_mcse`` from the method ranking when the
    planner provides them; otherwise computes a Wilson interval from ``type1_error`` and the
    number of simulated windows. Never a bare "0.0%".
    """
    rate = _get(design, "type1_error")
    if rate is None:
        return None
    ranking = _get(design, "estimator_ranking")
    low = high = None
    n = n_windows = precise = None
    if ranking is not None and len(ranking) and "estimator" in ranking:
        row = ranking.loc[ranking["estimator"] == design.method]
        if len(row):
            row = row.iloc[0]
            if "aa_rate" in row and row["aa_rate"] == row["aa_rate"]:
                rate = float(row["aa_rate"])
            if "aa_ci_low" in row and "aa_ci_high" in row and row["aa_ci_low"] == row["aa_ci_low"]:
                low, high = float(row["aa_ci_low"]), float(row["aa_ci_high"])
            if "n_aa" in row and row["n_aa"] == row["n_aa"]:  # windows x placebo assignments
                n = int(row["n_aa"])
                n_windows = row.get("n_windows")
                n_windows = int(n_windows) if n_windows == n_windows and n_windows is not None else None
                precise = bool(row["aa_precise"]) if "aa_precise" in row else None
            else:
                for col in ("aa_windows", "n_windows", "n_simulations"):
                    if col in row and row[col] == row[col]:
                        n = int(row[col])
                        break
    tables = getattr(design, "tables", None) or {}
    if n is None and "windows" in tables and len(tables["windows"]):
        n = len(tables["windows"])
    if low is None and n:
        low, high = _wilson(rate, n)
    if n and n_windows and n != n_windows:
        windows_text = f"{fmt.count(n)} no-effect tests on {fmt.count(n_windows)} historical windows"
    else:
        windows_text = f"{fmt.count(n)} historical windows" if n else "historical windows"
    ci = f"95% CI {fmt.pct(low)} to {fmt.pct(high)}" if low is not None else "interval unknown"
    return {"rate": rate, "low": low if low is not None else rate, "high": high, "n": n, "precise": precise,
            "value": fmt.pct(rate),
            "ci": ci, "windows_text": windows_text,
            "text": f"{fmt.pct(rate)} of the time ({ci}, {windows_text})" if low is not None else fmt.pct(rate)}


_IN_SENTENCE = {"obrien_fleming": "the O'Brien-Fleming boundary", "pocock": "the Pocock boundary",
                "calibrated": "the boundary calibrated on history", "fixed_horizon": "the fixed horizon"}
_BOUNDARY_NAMES = {"obrien_fleming": "O'Brien-Fleming spending", "pocock": "Pocock spending",
                   "calibrated": "calibrated on history", "fixed_horizon": "fixed horizon (one look at the end)"}


def sequential_operating(design: Any) -> dict[str, Any] | None:
    """Power and expected stopping time of each sequential boundary against the fixed horizon, as text,
    from ``tables["sequential_operating"]``; None when the design planned no looks.

    Returns a dict with ``methods`` (column names), ``rows`` (one per lift: the lift, then per method
    its power and expected stopping period), ``looks`` (the planned look periods) and ``sentence``
    (the headline comparison at the smallest lift the fixed horizon detects with the target power).

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> op = pd.DataFrame({"method": ["pocock", "pocock", "fixed_horizon", "fixed_horizon"],
    ...                    "effect": [0.0, 0.05] * 2, "power": [0.05, 0.78, 0.05, 0.82],
    ...                    "expected_stop": [27.7, 17.5, 28.0, 28.0], "expected_stop_share": [0.99, 0.62, 1, 1]})
    >>> d = SimpleNamespace(tables={"sequential_operating": op}, target_power=0.8, details={})
    >>> sequential_operating(d)["sentence"]
    'At a lift of 5.0%, the Pocock boundary detects the effect with power 78% and stops after 17.5 periods on average (62% of the planned length), against power 82% for the fixed horizon (one look at the end). Under no effect, the chance of a false win is 5.0% with the Pocock boundary and 5.0% with the fixed horizon.'
    """
    tables = getattr(design, "tables", None) or {}
    op = tables.get("sequential_operating")
    if op is None or not len(op):
        return None
    methods = [m for m in _BOUNDARY_NAMES if m in set(op["method"])]
    methods += sorted(set(op["method"]) - set(methods))
    rows = []
    for effect, g in op.groupby("effect", sort=True):
        by = {r.method: r for r in g.itertuples(index=False)}
        cells = [(f"{fmt.pct(by[m].power, 0)} / {fmt.num(by[m].expected_stop, 3)}" if m in by else "n/a")
                 for m in methods]
        rows.append({"effect": fmt.pct(float(effect), 1), "cells": cells})
    seq_methods = [m for m in methods if m != "fixed_horizon"]
    sentence = ""
    fixed = op.loc[op["method"] == "fixed_horizon"].sort_values("effect")
    if seq_methods and len(fixed):
        target = float(getattr(design, "target_power", 0.8) or 0.8)
        reached = fixed.loc[(fixed["effect"] > 0) & (fixed["power"] >= target)]
        effect = float(reached["effect"].iloc[0]) if len(reached) else float(fixed["effect"].max())
        at = f"At a lift of {fmt.pct(effect, 1)}" if len(reached) else f"At the largest simulated lift, {fmt.pct(effect, 1)}"
        # the headline boundary: the calibrated one when planned, else the first spending boundary
        head = "calibrated" if "calibrated" in seq_methods else seq_methods[0]
        h = op.loc[(op["method"] == head) & (op["effect"] == effect)].iloc[0]
        f = fixed.loc[fixed["effect"] == effect].iloc[0]
        sentence = (f"{at}, {_IN_SENTENCE.get(head, head)} detects the effect with power "
                    f"{fmt.pct(float(h['power']), 0)} and stops after {fmt.num(float(h['expected_stop']), 3)} periods on "
                    f"average ({fmt.pct(float(h['expected_stop_share']), 0)} of the planned length), against power "
                    f"{fmt.pct(float(f['power']), 0)} for {_IN_SENTENCE['fixed_horizon']} (one look at the end).")
        null = op.loc[op["effect"] == 0.0]
        if len(null):
            fw = {r.method: r.power for r in null.itertuples(index=False)}
            sentence += (" Under no effect, the chance of a false win is "
                         + " and ".join(f"{fmt.pct(fw[m], 1)} with {_IN_SENTENCE.get(m, m)}"
                                        for m in (head, "fixed_horizon") if m in fw) + ".")
    info = (getattr(design, "details", None) or {}).get("sequential", {}) or {}
    looks = info.get("looks") or []
    windows = f"{fmt.count(info['n_windows'])} historical windows" if info.get("n_windows") else "the history's windows"
    return {"methods": [_BOUNDARY_NAMES.get(m, m) for m in methods], "rows": rows,
            "looks": ", ".join(fmt.count(v) for v in looks), "windows": windows, "sentence": sentence}
