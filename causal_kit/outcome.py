"""The semantic model of an outcome, and the one translation of an effect into its units.

:class:`OutcomeModel` says what one outcome value is (a count, an amount of money, a rate or
share, a mean per unit or an index), its unit, what it is per, its scale (level or log) and,
for RD and IV, where the effect is local. It is read from the spec's ``report`` block and
inferred where that is safe. :func:`business_impact` converts a result once into the numbers
every report, card, chart and the CLI show: the effect in display units, the lift against the
baseline it is relative to, the total (only where summing is meaningful), cost per unit and
iROAS with their intervals. Values stay numbers; :mod:`causal_kit.fmt` turns them into text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .result import EffectEstimate

__all__ = ["OutcomeModel", "BusinessImpact", "outcome_model", "business_impact", "spec_of", "PANEL_DESIGNS"]

#: Designs whose outcome is observed per unit and period, so that effects add up over them.
PANEL_DESIGNS = frozenset({"did", "event_study", "staggered_did", "synthetic_control", "sdid"})
_RATE_WORDS = re.compile(r"(rate|share|ratio|pct|percent|conversion|probability|proportion)", re.I)
_PER_UNIT_WORDS = re.compile(r"(per[ _-]?capita|per[ _-]|average|mean|avg)", re.I)
_LOG_NAMES = re.compile(r"^(log|ln)([_ .-]|$)|^log[A-Z]", re.I)
_LOCAL = {"rdd": "at the cutoff", "iv": "for compliers"}
_COST_PER_UNIT_NOTE = "not shown: the interval of the incremental total includes zero"


@dataclass(frozen=True)
class OutcomeModel:
    """What one outcome value is, and how its effects read.

    Attributes
    ----------
    kind : {"count", "amount", "rate", "mean", "index"}
    label : str
        Plain name of the outcome ("orders", "packs per capita").
    unit : str
        Unit written after a number ("orders", "USD", "points"); empty when the label says it.
    per : str
        What one value is per ("per market-day"), or empty.
    scale : {"level", "log"}
        A log outcome reads as a relative change, ``exp(effect) - 1``.
    currency : str or None
    exposure : float or None
        How many ``per`` units a rate or mean applies to (spec ``report.exposure``).
    local : str
        Where the effect holds when it is local ("at the cutoff", "for compliers"), else empty.
    inferred : bool
        True when ``kind`` was inferred rather than set in the spec.
    """

    kind: str
    label: str
    unit: str = ""
    per: str = ""
    scale: str = "level"
    currency: str | None = None
    exposure: float | None = None
    local: str = ""
    inferred: bool = True
    money: bool = False

    @property
    def is_money(self) -> bool:
        """True when outcome values are money in ``currency`` (an amount, or a mean amount per unit)."""
        return (self.money or self.kind == "amount") and bool(self.currency)

    @property
    def summable(self) -> bool:
        """True when the effect may be added up over treated unit-periods (counts, amounts)."""
        return self.scale == "level" and self.kind in ("count", "amount") and not self.local

    @property
    def axis_title(self) -> str:
        """Axis title for an effect in these units, e.g. 'Effect on orders (per market-day)'."""
        if self.scale == "log":
            return f"Change in {self.label} (%)"
        unit = f" ({self.unit})" if self.unit and self.unit not in self.label else ""
        return f"Effect on {self.label}{unit}"


def spec_of(result: Any, spec: Any = None) -> dict[str, Any]:
    """The spec behind ``result`` as a plain dict (explicit ``spec`` wins over the lineage's).

    Examples
    --------
    >>> spec_of(None, {"name": "x"})
    {'name': 'x'}
    """
    if spec is not None:
        if isinstance(spec, Mapping):
            return dict(spec)
        return spec.model_dump(mode="json")
    lineage = getattr(result, "lineage", None)
    if lineage is not None and getattr(lineage, "spec", None):
        return dict(lineage.spec)
    inner = getattr(result, "spec", None)
    if inner is not None and hasattr(inner, "model_dump"):
        return inner.model_dump(mode="json")
    return {}


def _infer_kind(name: str, label: str, design: str, report: Mapping[str, Any]) -> str:
    if report.get("outcome_is_currency"):
        return "amount"
    words = f"{name} {label}"
    if _RATE_WORDS.search(words):
        return "rate"
    if _PER_UNIT_WORDS.search(words):
        return "mean"
    # Panel outcomes are totals per unit and period (sales per market-day): they add up.
    # Outcomes of one row per person or item are means per unit and do not.
    return "count" if design in PANEL_DESIGNS else "mean"


def outcome_model(spec: Any = None, result: Any = None) -> OutcomeModel:
    """The outcome model of a spec (dict or ``ExperimentSpec``) and, optionally, a result.

    Parameters
    ----------
    spec : ExperimentSpec or dict, optional
        Defaults to the spec in ``result``'s lineage.
    result : EffectEstimate, optional
        Supplies the method (RD and IV effects are local) and the outcome name.

    Returns
    -------
    OutcomeModel

    Examples
    --------
    >>> m = outcome_model({"design": "sdid", "outcome": "kpi", "report": {"outcome_label": "orders"}})
    >>> m.kind, m.summable
    ('count', True)
    >>> outcome_model({"design": "rdd", "outcome": "vote", "report": {"outcome_kind": "rate",
    ...                "unit_label": "points"}}).local
    'at the cutoff'
    """
    spec_dict = spec_of(result, spec)
    report = spec_dict.get("report") or {}
    name = str(spec_dict.get("outcome") or getattr(result, "outcome", "") or "")
    label = str(report.get("outcome_label") or name or "the outcome")
    design = str(spec_dict.get("design") or getattr(result, "design", "") or "")
    method = str(getattr(result, "method", "") or design)
    scale = report.get("outcome_scale") or "level"
    if scale == "level" and _LOG_NAMES.search(name):
        scale = "log"
    kind = report.get("outcome_kind")
    inferred = kind is None
    if kind is None:
        kind = "index" if scale == "log" else _infer_kind(name, label, design, report)
    currency = report.get("currency")
    unit = report.get("unit_label") or ""
    per = report.get("per") or ""
    if not per and kind in ("count", "amount") and design in PANEL_DESIGNS and not report.get("unit_label"):
        per = "per unit-period"
    local = _LOCAL.get(method, _LOCAL.get(design, ""))
    exposure = report.get("exposure")
    return OutcomeModel(kind=str(kind), label=label, unit=str(unit), per=str(per), scale=str(scale),
                        currency=currency, exposure=_finite(exposure), local=local, inferred=inferred,
                        money=bool(report.get("outcome_is_currency")))


@dataclass(frozen=True)
class BusinessImpact:
    """An effect in business units: the numbers every report, card and chart shows.

    Attributes
    ----------
    model : OutcomeModel
    effect, effect_ci : float, tuple of float
        The effect as displayed: in outcome units, or as a relative change (a fraction) when the
        outcome is on the log scale (``effect_is_relative``).
    effect_is_relative : bool
    lift, lift_ci : float, tuple of float, optional
        Relative lift (a fraction) and its interval: against the counterfactual ``baseline``
        on the level scale, or ``exp(effect) - 1`` on the log scale.
    lift_basis : str
        What the lift is relative to, e.g. "the counterfactual mean just below the cutoff".
    baseline : float, optional
    incremental, incremental_ci : float, tuple of float, optional
        Total incremental outcome, only when summing is meaningful (counts and amounts over the
        treated unit-periods, or a stated exposure).
    cost : float, optional
    cost_per_unit, cost_per_unit_ci : float, tuple of float, optional
        Only when the interval of the total excludes zero; else ``cost_note`` says why not.
    iroas, iroas_ci : float, tuple of float, optional
        Incremental return on spend when the outcome is money.
    money_established : bool
        False when the interval of the total includes zero: cost figures are then greyed.
    """

    model: OutcomeModel
    effect: float
    effect_ci: tuple[float, float]
    effect_is_relative: bool = False
    lift: float | None = None
    lift_ci: tuple[float, float] | None = None
    lift_basis: str = ""
    baseline: float | None = None
    incremental: float | None = None
    incremental_ci: tuple[float, float] | None = None
    cost: float | None = None
    cost_per_unit: float | None = None
    cost_per_unit_ci: tuple[float, float] | None = None
    cost_note: str = ""
    iroas: float | None = None
    iroas_ci: tuple[float, float] | None = None
    money_established: bool = True

    # Names kept for templates and callers that read them directly.
    @property
    def outcome_label(self) -> str:
        return self.model.label

    @property
    def currency(self) -> str | None:
        return self.model.currency

    @property
    def outcome_is_currency(self) -> bool:
        return self.model.is_money


def _finite(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _ordered(a: float, b: float) -> tuple[float, float]:
    return (min(a, b), max(a, b))


def business_impact(result: EffectEstimate, spec: Any = None) -> BusinessImpact:
    """Translate ``result`` into business units using the spec's ``report`` settings.

    Parameters
    ----------
    result : EffectEstimate
    spec : ExperimentSpec or dict, optional
        Defaults to the spec recorded in ``result.lineage``.

    Returns
    -------
    BusinessImpact

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat",
    ...                          report={"cost": 1000.0, "currency": "USD"})
    >>> impact = business_impact(ck.estimate(ck.datasets.load("ab_cuped_sim"), spec))
    >>> impact.cost, impact.incremental is None   # y is a mean per user: no total without exposure
    (1000.0, True)
    """
    spec_dict = spec_of(result, spec)
    report = spec_dict.get("report") or {}
    model = outcome_model(spec_dict, result)
    est, ci = float(result.estimate), _ordered(*map(float, result.ci))
    baseline = _finite(result.baseline)

    if model.scale == "log":
        # A difference in logs is a relative change: converted once, exp(b) - 1, used everywhere.
        effect, effect_ci = math.expm1(est), (math.expm1(ci[0]), math.expm1(ci[1]))
        lift, lift_ci, basis, relative = effect, effect_ci, "change, exp(effect) - 1 of the log outcome", True
    else:
        effect, effect_ci, relative = est, ci, False
        lift, lift_ci, basis = result.relative_lift, result.relative_lift_ci, ""
        if lift is not None and baseline is not None:
            where = " just below the cutoff" if model.local == "at the cutoff" else (
                " among compliers" if model.local == "for compliers" else "")
            basis = f"the counterfactual mean{where}"

    incremental = incremental_ci = None
    exposure = _finite(result.exposure) if model.summable else model.exposure
    if exposure is not None and model.scale == "level":
        incremental, incremental_ci = est * exposure, _ordered(ci[0] * exposure, ci[1] * exposure)

    cost = _finite(report.get("cost"))
    if cost is None and report.get("cost_column"):
        cost = _finite((result.details or {}).get("cost"))
    cost_per_unit = cost_per_unit_ci = iroas = iroas_ci = None
    note, established = "", True
    if incremental_ci is not None:
        lo, hi = incremental_ci
        established = lo > 0 or hi < 0
    if cost is not None and incremental is not None and incremental_ci is not None:
        lo, hi = incremental_ci
        if lo > 0:
            # cost / total is monotone in the total, so its interval maps the total's ends.
            cost_per_unit, cost_per_unit_ci = cost / incremental, (cost / hi, cost / lo)
        else:
            note = _COST_PER_UNIT_NOTE if not (hi < 0) else "not shown: the incremental total is negative"
        if model.is_money and cost > 0:
            iroas, iroas_ci = incremental / cost, (lo / cost, hi / cost)
    elif cost is not None:
        note = ("not shown: this outcome is a rate or a mean per unit; set report.exposure to turn it into a total"
                if not model.summable else "not shown: this method does not report the treated exposure")

    return BusinessImpact(
        model=model, effect=effect, effect_ci=effect_ci, effect_is_relative=relative,
        lift=lift, lift_ci=lift_ci, lift_basis=basis, baseline=baseline,
        incremental=incremental, incremental_ci=incremental_ci, cost=cost,
        cost_per_unit=cost_per_unit, cost_per_unit_ci=cost_per_unit_ci, cost_note=note,
        iroas=iroas, iroas_ci=iroas_ci, money_established=established,
    )
