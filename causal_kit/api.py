"""Top-level entry points: :func:`estimate` runs the spec's method(s) on data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

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
        Never modified. For ``design: surrogate`` also a mapping
        ``{"experiment": table, "observational": table}``.
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
    data = _as_frames(data, spec)  # convert polars / pyarrow once, not once per estimator
    if not spec.estimators:
        estimator = get_estimator(DEFAULT_FOR_DESIGN[spec.design], **{**spec.options, **options})
        return _with_cost(estimator.fit(data, spec), data, spec)
    results = []
    for choice in spec.estimators:
        estimator = get_estimator(choice.method, **choice.options)
        results.append(_with_cost(estimator.fit(data, spec), data, spec))
    return results


def _as_frames(data: Any, spec: ExperimentSpec) -> Any:
    """One table as pandas; two named samples (design 'surrogate') as a dict of pandas frames."""
    from ._data import to_pandas
    from .errors import SpecError

    if isinstance(data, Mapping):
        if spec.design != "surrogate":
            raise SpecError(f"a mapping of samples is only read by design 'surrogate'; design {spec.design!r} "
                            "takes one table.")
        return {k: to_pandas(v) for k, v in data.items()}
    return to_pandas(data)


def treated_cost(data: Any, spec: ExperimentSpec) -> float | None:
    """Total of ``spec.report.cost_column`` over the treated rows (treated units while treated).

    Treated rows are those with ``treatment == 1`` (after ``treatment_start`` when it is set), or
    at or after the unit's cohort period when ``spec.cohort`` is used. Returns None without a
    cost column.
    """
    from ._data import to_pandas

    if spec.report is None or not spec.report.cost_column:
        return None
    if isinstance(data, Mapping):  # two samples: spend accrues in the experiment
        data = data.get("experiment")
    df = to_pandas(data)
    cost = df[spec.report.cost_column]
    if spec.cohort is not None and spec.time is not None:
        cohort = df[spec.cohort]
        mask = cohort.notna() & (cohort != 0) & (df[spec.time] >= cohort)
    elif spec.treatment is not None:
        mask = df[spec.treatment] == 1
        if spec.treatment_start is not None and spec.time is not None:
            mask &= df[spec.time] >= pd.Series([spec.treatment_start]).astype(df[spec.time].dtype).iloc[0]
    else:
        return None
    return float(cost[mask].sum())


def _with_cost(result: EffectEstimate, data: Any, spec: ExperimentSpec) -> EffectEstimate:
    if "cost" in result.details:
        return result
    cost = treated_cost(data, spec)
    if cost is None:
        return result
    return result.with_updates(details={**result.details, "cost": cost})
