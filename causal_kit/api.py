"""Top-level entry points: :func:`estimate` runs the spec's method(s) on data."""

from __future__ import annotations

from typing import Any

from .estimators import DEFAULT_FOR_DESIGN, get_estimator
from .result import EffectEstimate
from .spec import ExperimentSpec

__all__ = ["estimate", "as_spec"]


def as_spec(spec: ExperimentSpec | dict[str, Any] | str) -> ExperimentSpec:
    """Accept a spec object, a dict, YAML text or a path to a YAML/JSON file."""
    if isinstance(spec, ExperimentSpec):
        return spec
    if isinstance(spec, dict):
        return ExperimentSpec.from_dict(spec)
    text = str(spec)
    if text.strip().endswith(".json"):
        return ExperimentSpec.from_json(text)
    return ExperimentSpec.from_yaml(text)


def estimate(
    data: Any, spec: ExperimentSpec | dict[str, Any] | str, **options: Any
) -> EffectEstimate | list[EffectEstimate]:
    """Estimate the effect the spec asks for.

    With ``spec.estimators`` empty this runs the design's default method and returns one
    :class:`EffectEstimate`; otherwise it runs every listed method on the same data and
    returns a list in the listed order (compare them with :func:`causal_kit.compare`).

    Parameters
    ----------
    data : pandas, polars or pyarrow table
        Never modified.
    spec : ExperimentSpec, dict, YAML text or path
    **options
        Overrides for the default estimator's configuration (merged over ``spec.options``).

    Examples
    --------
    >>> import causal_kit as ck
    >>> df = ck.datasets.load("ab_cuped_sim")
    >>> spec = ck.ExperimentSpec(name="cuped", design="ab", outcome="y", treatment="treat",
    ...                          pre_covariate="pre")
    >>> result = ck.estimate(df, spec)
    >>> result.method, round(result.estimate, 4)
    ('ab', 0.256)
    """
    spec = as_spec(spec)
    if not spec.estimators:
        estimator = get_estimator(DEFAULT_FOR_DESIGN[spec.design], **{**spec.options, **options})
        return estimator.fit(data, spec)
    results = []
    for choice in spec.estimators:
        estimator = get_estimator(choice.method, **choice.options)
        results.append(estimator.fit(data, spec))
    return results
