"""Literal aliases for every option causal_kit accepts: one spelling per option.

Validate user-supplied values with :func:`check_option`, which reads the allowed values
from the alias itself via ``typing.get_args``.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

Design = Literal[
    "ab", "did", "event_study", "staggered_did", "synthetic_control", "sdid", "dml", "iv", "rdd", "surrogate",
    "trimmed_match", "its", "multi_cell", "holdback", "spillover", "switchback", "price_test",
]
Status = Literal["pass", "warn", "fail", "not_applicable"]
NaAction = Literal["raise", "drop"]
Aggregation = Literal["sum", "mean", "min", "max", "median", "count", "first"]
Alternative = Literal["two-sided", "larger", "smaller"]
# where parallel work runs (causal_kit._parallel)
ExecutionBackend = Literal["serial", "joblib", "dask"]
# instrumental variables
IVMethod = Literal["2sls", "liml", "gmm"]
IVVcov = Literal["unadjusted", "robust", "cluster"]
IVEngine = Literal["auto", "linearmodels", "numpy"]
# difference-in-differences family
DidInference = Literal["auto", "cluster", "wild_bootstrap", "randomization"]
BootWeights = Literal["rademacher", "webb"]
ControlGroup = Literal["never_treated", "not_yet_treated"]
CSMethod = Literal["dr", "ipw", "reg"]
BasePeriod = Literal["varying", "universal"]
CSAggregation = Literal["simple", "group", "dynamic", "calendar"]
MultiSwitch = Literal["drop", "keep"]  # de Chaisemartin-D'Haultfoeuille: units that switch twice
Assumption = Literal[
    "randomization",
    "parallel_trends",
    "fit",
    "overlap",
    "balance",
    "instrument_strength",
    "exclusion",
    "manipulation",
    "specification",
    "sensitivity",
    "inference",
    "surrogacy",
    "comparability",
    "interference",
    "other",
]
# long-term effects (surrogate index, decay)
SurrogateSE = Literal["influence", "bootstrap"]
SurrogateAdjust = Literal["difference", "lin"]
DecayModel = Literal["exponential", "hyperbolic", "linear", "constant"]
# interference: panel covariance, spatial kernel, exposure-mapping weights
PanelVcov = Literal["cluster", "conley"]
ConleyKernel = Literal["bartlett", "uniform"]
ExposureWeighting = Literal["hajek", "horvitz_thompson"]


def check_option(value: Any, alias: Any, parameter: str, owner: str) -> Any:
    """Return ``value`` if it is one of ``alias``'s literals, else raise ``SpecError``.

    The message follows the scikit-learn template, for example
    "The 'vcov' parameter of DiD must be one of 'cluster', 'hc1'. Got 'robust' instead."
    """
    from .errors import SpecError

    allowed = get_args(alias)
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise SpecError(
            f"The {parameter!r} parameter of {owner} must be one of {choices}. Got {value!r} instead."
        )
    return value


def check_fraction(value: Any, parameter: str, owner: str) -> float:
    """Return ``value`` as a float in the open interval (0, 1), else raise ``SpecError``."""
    from .errors import SpecError

    try:
        as_float = float(value)
    except (TypeError, ValueError):
        as_float = float("nan")
    if isinstance(value, bool) or not (0.0 < as_float < 1.0):
        raise SpecError(
            f"The {parameter!r} parameter of {owner} must be a float in (0, 1). Got {value!r} instead."
        )
    return as_float


def check_positive_int(value: Any, parameter: str, owner: str, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer >= ``minimum``, else raise ``SpecError``."""
    from .errors import SpecError

    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(
            f"The {parameter!r} parameter of {owner} must be an int >= {minimum}. Got {value!r} instead."
        )
    return value
