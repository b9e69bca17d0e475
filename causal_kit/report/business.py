"""Business translation of an effect: incremental outcome, % lift, cost per unit and iROAS.

Computed here once, from the result's numbers and the spec's ``report`` settings, and read
by every report, card and summary. Values stay numbers; :mod:`causal_kit.report.fmt` turns
them into text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..result import EffectEstimate

__all__ = ["BusinessImpact", "business_impact", "spec_of"]


@dataclass(frozen=True)
class BusinessImpact:
    """The effect in business units.

    Attributes
    ----------
    outcome_label : str
        Plain name of the outcome (``report.outcome_label`` or the outcome column).
    currency : str or None
        Currency of money amounts (``report.currency``).
    outcome_is_currency : bool
        True when the outcome itself is money (then iROAS is defined).
    lift, lift_ci : float, tuple of float, optional
        Relative lift and its interval, as fractions (0.041 is 4.1%).
    incremental, incremental_ci : float, tuple of float, optional
        Total incremental outcome ``estimate * exposure`` and its interval.
    cost : float, optional
        Total spend of the intervention (``report.cost``, or the total of
        ``report.cost_column`` that the estimator recorded as ``details["cost"]``).
    cost_per_unit, cost_per_unit_ci : float, tuple of float, optional
        Cost per incremental outcome unit; only when the incremental total is positive.
    iroas, iroas_ci : float, tuple of float, optional
        Incremental return on ad spend, ``incremental / cost``, when the outcome is money.
    """

    outcome_label: str
    currency: str | None = None
    outcome_is_currency: bool = False
    lift: float | None = None
    lift_ci: tuple[float, float] | None = None
    incremental: float | None = None
    incremental_ci: tuple[float, float] | None = None
    cost: float | None = None
    cost_per_unit: float | None = None
    cost_per_unit_ci: tuple[float, float] | None = None
    iroas: float | None = None
    iroas_ci: tuple[float, float] | None = None


def spec_of(result: Any, spec: Any = None) -> dict[str, Any]:
    """The spec behind ``result`` as a plain dict (explicit ``spec`` wins over the lineage's)."""
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


def _finite(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


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
    >>> res = ck.estimate(ck.datasets.load("ab_cuped_sim"), spec)
    >>> business_impact(res).cost
    1000.0
    """
    spec_dict = spec_of(result, spec)
    report = spec_dict.get("report") or {}
    label = report.get("outcome_label") or result.outcome or "the outcome"
    currency = report.get("currency")
    is_money = bool(report.get("outcome_is_currency", False))
    cost = _finite(report.get("cost"))
    if cost is None and report.get("cost_column"):
        cost = _finite((result.details or {}).get("cost"))

    total = result.incremental_total
    incremental, incremental_ci = (total[0], total[1]) if total is not None else (None, None)
    lift, lift_ci = result.relative_lift, result.relative_lift_ci
    if report.get("outcome_scale") == "log":
        # A difference in logs is a relative change: exp(effect) - 1, with no level total.
        lift = math.expm1(result.estimate)
        lift_ci = (math.expm1(result.ci[0]), math.expm1(result.ci[1]))
        incremental = incremental_ci = None

    cost_per_unit = cost_per_unit_ci = iroas = iroas_ci = None
    if cost is not None and incremental is not None and incremental_ci is not None:
        lo, hi = incremental_ci
        if incremental > 0:
            cost_per_unit = cost / incremental
            # The interval of cost / incremental is bounded only when the interval of the
            # incremental outcome excludes zero.
            if lo > 0:
                cost_per_unit_ci = (cost / hi, cost / lo)
        if is_money and cost > 0:
            iroas = incremental / cost
            iroas_ci = (lo / cost, hi / cost)

    return BusinessImpact(
        outcome_label=str(label),
        currency=currency,
        outcome_is_currency=is_money,
        lift=lift,
        lift_ci=lift_ci,
        incremental=incremental,
        incremental_ci=incremental_ci,
        cost=cost,
        cost_per_unit=cost_per_unit,
        cost_per_unit_ci=cost_per_unit_ci,
        iroas=iroas,
        iroas_ci=iroas_ci,
    )
