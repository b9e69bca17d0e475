"""The one verdict function: how far to trust an answer, and what it concludes.

Every badge, colour and sentence in reports, cards and the CLI reads :func:`verdict` (and
:func:`agreement` for several methods, :func:`decision` for the ship / stop / extend line),
so that they can never contradict each other. The rules:

- A result *concludes* ``"positive"`` or ``"negative"`` only when its interval excludes zero;
  otherwise it concludes ``"null"``.
- No positive (green) badge on an interval that includes zero: such a result is
  ``Inconclusive`` (grey), or ``Fragile`` (red) when checks fail.
- A sequential readout (``details["sequential"]``) is never presented as a final win before it
  stops: at a ``"continue"`` look the verdict is ``Inconclusive`` (or ``Fragile``), and a stop for
  futility is ``Inconclusive``; a stop for efficacy or the final look is judged like any result.
- Methods *agree* when they reach the same conclusion (same sign and all significant, or all
  null) with overlapping intervals; opposite significant conclusions *disagree*; anything
  else is *mixed*.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .result import Diagnostic, EffectEstimate

__all__ = [
    "Conclusion", "Agreement", "Verdict", "Decision", "conclusion", "agreement", "verdict", "verdict_from",
    "decision", "prob_above",
]

Conclusion = Literal["positive", "negative", "null"]
_ORDER = {"fail": 3, "warn": 2, "pass": 1, "not_applicable": 0}

# (pass, warn, fail) phrases per assumption group, used in the verdict's reason.
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


def conclusion(ci: tuple[float, float]) -> Conclusion:
    """What an interval concludes: ``"positive"``/``"negative"`` when it excludes zero, else ``"null"``.

    Examples
    --------
    >>> conclusion((0.1, 0.4)), conclusion((-0.2, 0.3))
    ('positive', 'null')
    """
    lo, hi = min(ci), max(ci)
    if lo > 0:
        return "positive"
    if hi < 0:
        return "negative"
    return "null"


@dataclass(frozen=True)
class Agreement:
    """Whether several methods reach the same conclusion as the headline (the first).

    Attributes
    ----------
    label : {"agree", "mixed", "disagree", "single"}
    status : {"pass", "warn", "fail", "not_applicable"}
    conclusions : tuple of str
        Each method's conclusion, in order.
    agrees : tuple of bool
        Whether each method reaches the headline's conclusion.
    n_methods, n_agree : int
    overlap : bool
        All intervals share a common value.
    same_sign : bool
        All point estimates have the headline's sign.
    """

    label: str
    status: str
    conclusions: tuple[str, ...]
    agrees: tuple[bool, ...]
    n_methods: int
    n_agree: int
    overlap: bool
    same_sign: bool


def agreement(intervals: Sequence[tuple[float, float]], estimates: Sequence[float] | None = None) -> Agreement:
    """Agreement of several methods on a conclusion, from their intervals (the first is the headline).

    Examples
    --------
    >>> agreement([(-41.4, 1.9), (-34.0, 2.8)]).label      # both null: they agree
    'agree'
    >>> agreement([(0.5, 2.0), (-0.1, 1.9)]).label         # significant vs null: mixed
    'mixed'
    >>> agreement([(0.5, 2.0), (-3.0, -1.0)]).label        # opposite conclusions
    'disagree'
    """
    concl = tuple(conclusion(ci) for ci in intervals)
    n = len(concl)
    lo = max(min(ci) for ci in intervals)
    hi = min(max(ci) for ci in intervals)
    overlap = lo <= hi
    est = list(estimates) if estimates is not None else [(a + b) / 2 for a, b in intervals]
    sign = math.copysign(1.0, est[0]) if est else 1.0
    same_sign = all(math.copysign(1.0, e) == sign for e in est)
    agrees = tuple(c == concl[0] for c in concl)
    if n == 1:
        return Agreement("single", "not_applicable", concl, agrees, 1, 1, True, True)
    if {"positive", "negative"} <= set(concl):
        label, status = "disagree", "fail"
    elif all(agrees) and overlap:
        label, status = "agree", "pass"
    else:
        label, status = "mixed", "warn"
    return Agreement(label, status, concl, agrees, n, sum(agrees), overlap, same_sign)


@dataclass(frozen=True)
class Verdict:
    """How far to trust the answer, and its colour.

    Attributes
    ----------
    label : {"Robust", "Moderate", "Fragile", "Inconclusive"}
    status : {"pass", "warn", "fail", "not_applicable"}
        The badge colour: green only for ``Robust``, which needs an interval excluding zero.
    reason : str
        The checks behind it, in plain words.
    conclusion : {"positive", "negative", "null"}
    """

    label: str
    status: str
    reason: str
    conclusion: str = "null"

    @property
    def sentence(self) -> str:
        return f"{self.label}: {self.reason}."


def _worst(statuses: Sequence[str]) -> str:
    return max(statuses, key=_ORDER.__getitem__) if statuses else "not_applicable"


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


def _look_words(sequential: Mapping[str, Any]) -> str:
    look, planned = sequential.get("look"), sequential.get("n_looks_planned")
    if look is None:
        return ""
    return f" (look {look} of {planned})" if planned else f" (look {look})"


def _sequential_verdict(base: Verdict, sequential: Mapping[str, Any] | None) -> Verdict:
    """Apply a sequential readout's decision to the verdict from its interval and checks."""
    if not sequential:
        return base
    decision, where = sequential.get("decision"), _look_words(sequential)
    # failed checks keep the red badge; the sequential words still lead the reason
    label, status = ("Fragile", "fail") if base.label == "Fragile" else ("Inconclusive", "not_applicable")
    if decision == "continue":
        return Verdict(label, status,
                       f"the study continues to its next look{where}, so this is an interim result, not a final "
                       f"one; {base.reason}", base.conclusion)
    if decision == "stop_futility":
        return Verdict(label, status,
                       f"stopped for futility{where}: the interval lies within the futility margin; {base.reason}",
                       base.conclusion)
    if decision == "stop_efficacy" and base.conclusion != "null":
        return replace(base, reason=f"stopped for efficacy{where}, the always-valid interval excludes zero; "
                                    f"{base.reason}")
    return base


def verdict_from(diagnostics: Sequence[Diagnostic], ci: tuple[float, float] | None = None,
                 agree: Agreement | None = None, sequential: Mapping[str, Any] | None = None) -> Verdict:
    """The verdict from diagnostics, the headline interval (None for a design), agreement and, for a
    sequential readout, its ``details["sequential"]`` (look and decision).

    Examples
    --------
    >>> verdict_from([], ci=(-1.0, 2.0)).label
    'Inconclusive'
    >>> verdict_from([], ci=(0.5, 2.0), sequential={"decision": "continue", "look": 2}).label
    'Inconclusive'
    """
    return _sequential_verdict(_verdict_from(diagnostics, ci, agree), sequential)


def _verdict_from(diagnostics: Sequence[Diagnostic], ci: tuple[float, float] | None,
                  agree: Agreement | None) -> Verdict:
    phr = _phrases(diagnostics)
    parts: list[str] = []
    status = "pass"
    if agree is not None and agree.label != "single":
        if agree.label == "agree":
            parts.append(f"all {agree.n_methods} methods agree on the conclusion")
        elif agree.label == "mixed":
            parts.append(f"the methods only partly agree ({agree.n_agree} of {agree.n_methods} reach the same "
                         "conclusion)")
            status = "warn"
        else:
            parts.append("the methods reach opposite conclusions")
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
    concl = conclusion(ci) if ci is not None else "null"
    if status == "fail":
        return Verdict("Fragile", "fail", reason + "; treat as directional", concl)
    if ci is not None and concl == "null":
        return Verdict("Inconclusive", "not_applicable", "the interval includes no effect; " + reason, concl)
    if status == "warn":
        return Verdict("Moderate", "warn", reason, concl)
    return Verdict("Robust", "pass", reason, concl)


def verdict(results: EffectEstimate | Sequence[EffectEstimate]) -> Verdict:
    """The verdict on a result, or on several methods' results (the first is the headline).

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat",
    ...                          pre_covariate="pre")
    >>> verdict(ck.estimate(ck.datasets.load("ab_cuped_sim"), spec)).label
    'Robust'
    """
    items = [results] if not isinstance(results, Sequence) else list(results)
    agree = agreement([r.ci for r in items], [r.estimate for r in items]) if len(items) > 1 else None
    seq = items[0].details.get("sequential") if isinstance(items[0].details, Mapping) else None
    return verdict_from([d for r in items for d in r.diagnostics], items[0].ci, agree, seq)


def prob_above(estimate: float, se: float, threshold: float) -> float:
    """P(effect > threshold) under the normal approximation N(estimate, se^2).

    Examples
    --------
    >>> round(prob_above(1.0, 1.0, 0.0), 3)
    0.841
    """
    if not (math.isfinite(se) and se > 0):
        return math.nan
    return 0.5 * math.erfc((threshold - estimate) / (se * math.sqrt(2.0)))


@dataclass(frozen=True)
class Decision:
    """Ship, stop or extend against a break-even.

    Attributes
    ----------
    action : {"ship", "stop", "extend"}
    metric : {"lift", "effect", "incremental", "iroas"}
    break_even, value, low, high : float
        The break-even and the effect measured on the same scale, with its interval.
    prob_above : float
        P(effect > break-even) under the normal approximation.
    extend_factor : float, optional
        For ``extend``: how many times the current duration the test needs for its interval to
        clear the break-even, assuming the SE shrinks with the square root of the duration.
    extend_to : int, optional
        The same from the design's MDE-by-duration table, in periods, when a design is given.
    """

    action: str
    metric: str
    break_even: float
    value: float
    low: float
    high: float
    prob_above: float
    extend_factor: float | None = None
    extend_to: int | None = None


def decision(value: float, ci: tuple[float, float], break_even: float, metric: str = "lift", *,
             alpha: float = 0.05, duration_table: Any = None, duration: int | None = None) -> Decision:
    """Ship if the interval clears the break-even, stop if it lies below it (or the estimate is below
    it with P(above) < 20% or would need over four times the data), else extend.

    Parameters
    ----------
    value, ci : float, tuple of float
        The effect and its interval on the scale of ``break_even``.
    break_even : float
    metric : str
    alpha : float
        The interval's level; the SE is recovered as its width over ``2 z(1 - alpha/2)``.
    duration_table : DataFrame, optional
        The design's ``duration``/``mde`` table (relative MDE), used to say how long to extend
        when ``metric`` is ``"lift"``.
    duration : int, optional
        The test's current duration in periods.

    Examples
    --------
    >>> decision(0.05, (0.03, 0.07), 0.02).action
    'ship'
    >>> d = decision(0.03, (-0.01, 0.07), 0.02)
    >>> d.action, round(d.prob_above, 2)
    ('extend', 0.69)
    """
    from statistics import NormalDist

    lo, hi = min(ci), max(ci)
    z = NormalDist().inv_cdf(1 - alpha / 2)
    se = (hi - lo) / (2 * z)
    p = prob_above(value, se, break_even)
    if lo > break_even:
        return Decision("ship", metric, break_even, value, lo, hi, p)
    if hi < break_even:
        return Decision("stop", metric, break_even, value, lo, hi, p)
    gap = abs(value - break_even)
    factor = (z * se / gap) ** 2 if gap > 0 and se > 0 else math.inf
    if value < break_even and (p < 0.2 or factor > 4):
        # Below break-even and unlikely to reach it, or only with more than four times the data.
        return Decision("stop", metric, break_even, value, lo, hi, p, factor)
    extend_to = None
    if duration_table is not None and metric == "lift" and len(duration_table) and gap > 0:
        ok = duration_table.loc[duration_table["mde"] <= gap].sort_values("duration")
        if len(ok):
            extend_to = int(ok["duration"].iloc[0])
            if duration is not None and extend_to <= duration:
                extend_to = None
    return Decision("extend", metric, break_even, value, lo, hi, p, factor, extend_to)
