"""Top-level entry points: :func:`estimate` runs the spec's method(s) on data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ._parallel import execution_from_spec
from ._threads import blas_threads
from .errors import IdentificationError, SpecError
from .estimators import DEFAULT_FOR_DESIGN, get_estimator
from .result import Diagnostic, EffectEstimate
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
        ``calendar=`` (a :class:`causal_kit.registry.Calendar` or a table of concurrent studies,
        see :mod:`causal_kit.diagnostics.concurrent`) adds the ``concurrent_studies`` check: each
        other study's exposure share in the treated and control units over the window; with
        ``spec.interference: adjust`` the estimate is re-run adjusted for them (see
        :func:`adjust_for_concurrent`).

    Notes
    -----
    Fits of panel designs run with one BLAS thread (their many small products are slower
    multi-threaded, much slower on a shared machine) and the DML learners with an explicit
    thread count; change either with :func:`causal_kit.set_threads` (see
    :mod:`causal_kit._threads`).

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
    calendar = options.pop("calendar", None)
    if spec.interference == "adjust" and calendar is None:
        raise SpecError("spec.interference is 'adjust' but no calendar was given: pass calendar=Calendar(...) "
                        "(or a table of concurrent studies); the CLI passes the registry's calendar.")
    # earlier looks of a sequential study: the A/B estimator takes them, panel readouts get them below
    looks = options.pop("prior_looks", None) if spec.sequential is not None else None
    if not spec.estimators:
        method = DEFAULT_FOR_DESIGN[spec.design]
        extra = {"prior_looks": looks} if method == "ab" and looks is not None else {}
        config = {**spec.options, **options, **extra}
        estimator = get_estimator(method, **config)
        with blas_threads(design=spec.design):  # panel designs: one BLAS thread (see set_threads)
            result = _with_cost(_panel_looks(estimator.fit(data, spec), data, spec, looks), data, spec)
            return _concurrent(result, data, spec, calendar, lambda: get_estimator(method, **config))
    results = []
    for choice in spec.estimators:
        extra = {"prior_looks": looks} if choice.method == "ab" and looks is not None else {}
        config = {**choice.options, **extra}
        estimator = get_estimator(choice.method, **config)
        with blas_threads(design=spec.design):
            result = _with_cost(_panel_looks(estimator.fit(data, spec), data, spec, looks), data, spec)
            results.append(_concurrent(result, data, spec, calendar,
                                       lambda m=choice.method, c=config: get_estimator(m, **c)))
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


#: Methods adjusted with other studies' treatment indicators as time-varying covariates.
ADJUST_BY_COVARIATES = ("did", "event_study")
#: Methods adjusted by leaving out the control units other studies treat.
ADJUST_BY_EXCLUSION = ("synthetic_control", "sdid", "augmented_sc")


def _concurrent(result: EffectEstimate, data: Any, spec: ExperimentSpec, calendar: Any, make: Any) -> EffectEstimate:
    """Add the concurrent-studies check (and, with ``interference: adjust``, the adjusted estimate)."""
    if calendar is None or isinstance(data, Mapping) or spec.unit is None or spec.time is None:
        return result
    from .diagnostics.concurrent import calendar_rows, contamination_diagnostic, contamination_table

    if spec.interference == "check" and calendar_rows(calendar).empty:
        return result  # an empty calendar: nothing to report
    table = contamination_table(calendar, data, spec)
    checks = (*result.diagnostics, contamination_diagnostic(table, adjusted=spec.interference == "adjust"))
    tables = {**result.tables, "concurrent_studies": table}
    details = {**result.details, "concurrent_studies": table.to_dict("records")}
    base = result.with_updates(diagnostics=checks, tables=tables, details=details)
    if spec.interference != "adjust":
        return base
    return adjust_for_concurrent(base, data, spec, calendar, make)


def adjust_for_concurrent(result: EffectEstimate, data: Any, spec: ExperimentSpec, calendar: Any,
                          make: Any) -> EffectEstimate:
    """Re-estimate adjusting for the other studies in the calendar; report how far the estimate moved.

    DiD and event study: each other study's treatment indicator (its treated units during its
    window) enters as a time-varying covariate. Synthetic control, augmented SC and SDID: the
    control units another study treats during the window are left out of the donor pool.
    Other methods get a ``not_applicable`` ``interference_adjustment`` diagnostic. The
    returned result is the adjusted one (``details["interference"]`` holds the unadjusted
    estimate and the shift), with the lineage of the spec and data as given.
    """
    import math

    from .diagnostics.concurrent import contamination_table, study_indicators

    method = result.method
    if method in ADJUST_BY_COVARIATES:
        augmented, columns = study_indicators(calendar, data, spec)
        if not columns:
            return _adjust_note(result, "pass", "no other study treats this study's units during its window; "
                                "nothing to adjust for.", 0.0)
        treated_now = augmented[spec.treatment] if spec.treatment else None
        for col, study in columns.items():
            if treated_now is not None and (augmented[col].to_numpy() == treated_now.to_numpy()).all():
                raise IdentificationError(
                    f"study {study!r} treats exactly this study's treated units over exactly its window; the two "
                    "effects cannot be separated. Re-run one of them, or read out without interference: adjust."
                )
        adjusted = make().fit(augmented, spec.update(covariates=(*spec.covariates, *columns)))
        how = f"with the treatment indicators of {', '.join(sorted(set(columns.values())))} as time-varying covariates"
        extra = {"covariates": columns}
    elif method in ADJUST_BY_EXCLUSION:
        table = contamination_table(calendar, data, spec)
        exposed = _exposed_controls(calendar, data, spec)
        if not exposed:
            return _adjust_note(result, "pass", "no control unit is treated by another study during the window; "
                                "the donor pool is unchanged.", 0.0)
        frame = data.loc[~data[spec.unit].astype(str).isin(exposed)]
        adjusted = make().fit(frame, spec)
        how = (f"without the {len(exposed)} control unit(s) other studies treat "
               f"({', '.join(sorted(table['study']))}: {', '.join(exposed[:8])}{' ...' if len(exposed) > 8 else ''})")
        extra = {"excluded_units": exposed}
        exposed_treated = table.loc[table["share_treated"] > 0]
        if len(exposed_treated):
            how += ("; the treated units' own exposure (" + ", ".join(
                f"{r.study} {r.share_treated:.0%}" for r in exposed_treated.itertuples())
                + " of their window) stays in the estimate: SC and SDID cannot remove it")
    else:
        return result.with_updates(diagnostics=(*result.diagnostics, Diagnostic(
            "interference_adjustment", "not_applicable",
            f"interference: adjust is not available for {method}; read out with did, event_study, synthetic_control "
            "or sdid to adjust for concurrent studies.", assumption="interference")))
    moved = float(adjusted.estimate - result.estimate)
    se = float(result.se) if result.se is not None and math.isfinite(result.se) and result.se > 0 else float("nan")
    shift = moved / se if math.isfinite(se) else float("nan")
    big = math.isfinite(shift) and abs(shift) > 1
    msg = (f"adjusted {how}, the estimate moved from {result.estimate:.4g} to {adjusted.estimate:.4g} "
           f"({moved:+.4g}" + (f", {shift:+.2f} standard errors" if math.isfinite(shift) else "") + ")"
           + ("; the concurrent studies matter: report the adjusted estimate." if big else "."))
    check = Diagnostic("interference_adjustment", "warn" if big else "pass", msg, statistic=moved, threshold=se,
                       assumption="interference")
    info = {"unadjusted_estimate": float(result.estimate), "unadjusted_se": result.se,
            "unadjusted_ci": list(result.ci), "adjusted_estimate": float(adjusted.estimate), "moved": moved,
            "moved_in_se": shift, **extra}
    kept = [d for d in adjusted.diagnostics if d.name not in {x.name for x in result.diagnostics}]
    return adjusted.with_updates(
        diagnostics=(*result.diagnostics, *kept, check), lineage=result.lineage,
        tables={**adjusted.tables, "concurrent_studies": result.tables.get("concurrent_studies")},
        details={**result.details, **adjusted.details, "interference": info},
    )


def _adjust_note(result: EffectEstimate, status: str, message: str, moved: float) -> EffectEstimate:
    check = Diagnostic("interference_adjustment", status, message, statistic=moved, assumption="interference")
    return result.with_updates(diagnostics=(*result.diagnostics, check),
                               details={**result.details, "interference": {"moved": moved}})


def _exposed_controls(calendar: Any, data: Any, spec: ExperimentSpec) -> list[str]:
    """Control units of this study that another study treats during the window."""
    from .diagnostics.concurrent import calendar_rows, exposure_share, study_arms, study_window

    _, control = study_arms(data, spec)
    start, end = study_window(data, spec)
    share = exposure_share(calendar_rows(calendar, True), control, start, end, name=spec.name)
    return sorted(share.index[share > 0])
