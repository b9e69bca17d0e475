"""Top-level entry points: :func:`estimate` runs the spec's method(s) on data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ._parallel import execution_from_spec
from .estimators import DEFAULT_FOR_DESIGN, get_estimator
from .result import EffectEstimate
from .spec import ExperimentSpec, as_spec

__all__ = ["estimate", "as_spec"]


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
    with execution_from_spec(spec):  # spec.execution: serial, joblib or Dask for the parallel parts
        return _estimate(data, spec, options)


def _estimate(data: Any, spec: ExperimentSpec, options: dict[str, Any]) -> EffectEstimate | list[EffectEstimate]:
    data = _as_frames(data, spec)  # convert polars / pyarrow once, not once per estimator
    # earlier looks of a sequential study: the A/B estimator takes them, panel readouts get them below
    looks = options.pop("prior_looks", None) if spec.sequential is not None else None
    if not spec.estimators:
        method = DEFAULT_FOR_DESIGN[spec.design]
        extra = {"prior_looks": looks} if method == "ab" and looks is not None else {}
        estimator = get_estimator(method, **{**spec.options, **options, **extra})
        return _with_cost(_panel_looks(estimator.fit(data, spec), data, spec, looks), data, spec)
    results = []
    for choice in spec.estimators:
        extra = {"prior_looks": looks} if choice.method == "ab" and looks is not None else {}
        estimator = get_estimator(choice.method, **{**choice.options, **extra})
        results.append(_with_cost(_panel_looks(estimator.fit(data, spec), data, spec, looks), data, spec))
    return results


def _panel_looks(result: EffectEstimate, data: Any, spec: ExperimentSpec, looks: Any) -> EffectEstimate:
    """Group-sequential readout of a DiD / SC / SDID result when the spec says ``sequential:``."""
    if spec.sequential is None or result.method == "ab":
        return result
    from .inference.sequential_panel import sequential_panel

    return sequential_panel(result, spec, data, prior_looks=looks)


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
        from ._panel import is_never_treated

        cohort = df[spec.cohort]
        never = is_never_treated(cohort)  # 0, "0" or missing, as in the estimators
        mask = ~never & (df[spec.time] >= cohort.where(~never, df[spec.time]))
    elif spec.treatment is not None:
        mask = df[spec.treatment] == 1
        if spec.treatment_start is not None and spec.time is not None:
            mask &= df[spec.time] >= pd.Series([spec.treatment_start]).astype(df[spec.time].dtype).iloc[0]
    else:
        return None
    return float(cost[mask].sum())


def _finite_inference(result: EffectEstimate) -> EffectEstimate:
    """A result whose standard error is not finite never reads as a clean pass.

    Every estimator refuses the inputs known to cause this; this is the net under them: a
    ``fail`` diagnostic saying the interval and p-value cannot be trusted.
    """
    import math

    from .result import Diagnostic

    se = result.se
    if se is None or (isinstance(se, (int, float)) and math.isfinite(se)):
        return result
    if any(d.name == "standard_error" for d in result.diagnostics):
        return result
    check = Diagnostic(
        "standard_error", "fail",
        f"the standard error is {se}, so the interval and p-value mean nothing; check the data for "
        "extreme values or too few units, or use another method.",
        statistic=float(se), assumption="other",
    )
    return result.with_updates(diagnostics=(*result.diagnostics, check))


def data_end(data: Any, spec: ExperimentSpec) -> str | None:
    """The last period in the data (``spec.time``) as text, for the history report's x-axis.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="p99", design="sdid", outcome="PacksPerCapita", unit="State", time="Year",
    ...                          treatment="treated")
    >>> data_end(ck.datasets.load("california_prop99"), spec)
    '2000'
    """
    from ._data import to_pandas

    if spec.time is None or isinstance(data, Mapping):
        return None
    df = to_pandas(data)
    if spec.time not in df.columns or not len(df):
        return None
    try:
        last = df[spec.time].max()
    except TypeError:  # mixed types are refused by the estimators before this point
        return None
    if isinstance(last, pd.Timestamp):
        return last.date().isoformat() if last == last.normalize() else last.isoformat()
    return str(last.item() if hasattr(last, "item") else last)


def _with_cost(result: EffectEstimate, data: Any, spec: ExperimentSpec) -> EffectEstimate:
    result = _finite_inference(result)
    end = data_end(data, spec)
    if end is not None and "data_end" not in result.details:
        result = result.with_updates(details={**result.details, "data_end": end})
    if "cost" in result.details:
        return result
    cost = treated_cost(data, spec)
    if cost is None:
        return result
    return result.with_updates(details={**result.details, "cost": cost})
