"""Estimator registry: method name -> ``"module:Class"``, imported only when used.

``causal_kit.estimate`` dispatches on ``spec.design`` (or each ``spec.estimators`` entry)
through :func:`get_estimator`. Third parties add methods with :func:`register_estimator`.
Every registered class takes keyword-only configuration in ``__init__`` and implements
``fit(data, spec) -> EffectEstimate``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ..errors import SpecError

__all__ = ["ESTIMATORS", "DEFAULT_FOR_DESIGN", "get_estimator", "register_estimator", "available"]

#: Registered methods. Keys are the names used in ``spec.estimators``.
ESTIMATORS: dict[str, str] = {
    "ab": "causal_kit.estimators.ab:ABTest",
    "did": "causal_kit.estimators.did:DiD",
    "event_study": "causal_kit.estimators.did:EventStudy",
    "staggered_did": "causal_kit.estimators.staggered:CallawaySantAnna",
    "sun_abraham": "causal_kit.estimators.sun_abraham:SunAbraham",
    "did_imputation": "causal_kit.estimators.did_imputation:ImputationDiD",
    "did2s": "causal_kit.estimators.did_two_stage:TwoStageDiD",
    "did_multiplegt": "causal_kit.estimators.did_multiplegt:SwitchingDiD",
    "synthetic_control": "causal_kit.estimators.synth:SyntheticControl",
    "augmented_sc": "causal_kit.estimators.augsynth:AugmentedSyntheticControl",
    "sdid": "causal_kit.estimators.sdid:SyntheticDiD",
    "dml": "causal_kit.estimators.dml:DML",
    "ipw": "causal_kit.estimators.matching:IPW",
    "psm": "causal_kit.estimators.matching:PropensityMatching",
    "iv": "causal_kit.estimators.iv:IV",
    "rdd": "causal_kit.estimators.rdd:RDD",
    "surrogate": "causal_kit.estimators.surrogate:SurrogateIndex",
    "trimmed_match": "causal_kit.estimators.trimmed_match:TrimmedMatch",
    "bsts": "causal_kit.estimators.its:StructuralTimeSeries",
    "multi_cell": "causal_kit.estimators.multi_cell:MultiCell",
    "holdback": "causal_kit.estimators.holdback:Holdback",
    "spillover": "causal_kit.estimators.spillover:RingDiD",
    "exposure_mapping": "causal_kit.estimators.exposure_mapping:ExposureMapping",
    "switchback": "causal_kit.estimators.switchback:Switchback",
    "price_test": "causal_kit.estimators.price_test:PriceTest",
}

#: The estimator each design runs when ``spec.estimators`` is empty.
DEFAULT_FOR_DESIGN: dict[str, str] = {
    "ab": "ab",
    "did": "did",
    "event_study": "event_study",
    "staggered_did": "staggered_did",
    "synthetic_control": "synthetic_control",
    "sdid": "sdid",
    "dml": "dml",
    "iv": "iv",
    "rdd": "rdd",
    "surrogate": "surrogate",
    "trimmed_match": "trimmed_match",
    "its": "bsts",
    "multi_cell": "multi_cell",
    "holdback": "holdback",
    "spillover": "spillover",
    "switchback": "switchback",
    "price_test": "price_test",
}


def register_estimator(name: str, target: str | type) -> None:
    """Register an estimator class (or ``"module:Class"`` path) under ``name``."""
    if isinstance(target, type):
        target = f"{target.__module__}:{target.__qualname__}"
    ESTIMATORS[name] = target


def available() -> list[str]:
    """Names of the registered estimators whose module imports on this installation."""
    names = []
    for name, target in ESTIMATORS.items():
        module = target.split(":")[0]
        try:
            import_module(module)
        except ModuleNotFoundError:
            continue
        names.append(name)
    return names


def get_estimator(name: str, **options: Any) -> Any:
    """Instantiate the estimator registered as ``name`` with keyword ``options``."""
    if name not in ESTIMATORS:
        import difflib

        close = difflib.get_close_matches(str(name), list(ESTIMATORS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SpecError(
            f"unknown estimator {name!r}{hint}; registered estimators are: {', '.join(sorted(ESTIMATORS))}"
        )
    module_name, _, cls_name = ESTIMATORS[name].partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("causal_kit"):
            raise SpecError(f"estimator {name!r} is not available in this version of causal_kit") from None
        raise
    cls = getattr(module, cls_name)
    try:
        return cls(**options)
    except TypeError as exc:
        raise SpecError(f"bad options for estimator {name!r}: {exc}") from None
