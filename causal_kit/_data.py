"""Data checks and preparation shared by every estimator and design.

Everything that touches the caller's table goes through here: conversion to pandas at the
boundary (pandas, polars, pyarrow), role checks with errors that name the spec field, the
column, the count and the fix, explicit NaN handling (raise by default, drop with a warning
on request) and a content fingerprint for lineage. The caller's frame is never mutated:
:func:`prepare` returns a copy.

The checks every method inherits: text in numeric roles; infinite values and values whose
squares overflow (or underflow) float64; a constant outcome, a constant covariate and, in
panels, a constant outcome across the never-treated units; negative or all-zero weights; fewer
than two clusters; periods of mixed types. Unit and cluster ids that mix numbers and text
(``[5, "NYC"]``) are compared as text. A missing ``spec.cohort`` means never treated.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _hooks
from .errors import DataError, RowsDroppedWarning

if TYPE_CHECKING:
    from .spec import ExperimentSpec

__all__ = ["to_pandas", "validate_data", "prepare", "Prepared", "fingerprint", "rows_preview"]

_PANEL_DESIGNS = {"did", "event_study", "staggered_did", "synthetic_control", "sdid"}
#: designs that read one row per unit and period (the interrupted time series pivots the panel)
_ONE_ROW_PER_UNIT_TIME = _PANEL_DESIGNS | {"its"}


def to_pandas(data: Any) -> pd.DataFrame:
    """Convert a pandas, polars or pyarrow table to a pandas DataFrame (no copy for pandas)."""
    if isinstance(data, pd.DataFrame):
        return data
    module = type(data).__module__.split(".")[0]
    if module == "polars":
        return data.to_pandas()
    if module == "pyarrow":
        return data.to_pandas()
    if hasattr(data, "__dataframe__") and not isinstance(data, (dict, list)):
        return pd.api.interchange.from_dataframe(data)
    raise DataError(
        f"data must be a pandas, polars or pyarrow table; got {type(data).__name__}. "
        "Load files with causal_kit.io.load(path)."
    )


def rows_preview(index: Iterable[Any], limit: int = 5) -> str:
    """Format the first few row labels, e.g. 'rows 12, 40, 41, ...'."""
    items = list(index)
    shown = ", ".join(str(i) for i in items[:limit])
    more = ", ..." if len(items) > limit else ""
    return f"row{'s' if len(items) != 1 else ''} {shown}{more}"


def fingerprint(data: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    """A content fingerprint of a frame (values, column names and order), 16 hex digits.

    The first 8 digits hash the column names, dtypes and row count; the last 8 are a CRC-32 of
    the values (numeric columns from their raw bytes, fast enough for tens of millions of rows); other columns go through ``pandas.util.hash_pandas_object``.
    It detects changed data; it is not a cryptographic hash. ``columns`` restricts it to those
    columns, in that order, without copying them out of ``data``.
    """
    cols = list(data.columns) if columns is None else list(columns)
    header = ("|".join(f"{c}:{data[c].dtype}" for c in cols) + f"#{len(data)}").encode()
    crc = 0
    for col in cols:
        series = data[col]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            values = np.ascontiguousarray(series.to_numpy())
        else:
            values = np.asarray(pd.util.hash_pandas_object(series, index=False))
        crc = zlib.crc32(memoryview(values).cast("B"), crc)
    return f"{zlib.crc32(header):08x}{crc:08x}"


@dataclass(frozen=True)
class Prepared:
    """A private copy of the rows and columns an estimator uses, with the drop accounting."""

    frame: pd.DataFrame
    n_input: int
    n_dropped: int = 0
    dropped_reasons: dict[str, int] = field(default_factory=dict)
    fingerprint: str = ""


def _missing_columns(df: pd.DataFrame, roles: dict[str, str]) -> None:
    missing = {role: col for role, col in roles.items() if col not in df.columns}
    if missing:
        role, col = next(iter(missing.items()))
        import difflib

        names = [str(c) for c in df.columns]
        close = [c for c in names if c.lower() == str(col).lower()] or difflib.get_close_matches(
            str(col), names, n=1, cutoff=0.6
        )
        hint = f" Did you mean {close[0]!r}?" if close else ""
        listed = ", ".join(f"{c!r} (spec.{r})" for r, c in missing.items())
        raise DataError(
            f"column {col!r} (spec.{role}) is not in the data; missing: {listed}. "
            f"The data has {len(df.columns)} columns: {_col_list(df)}.{hint}"
        )


def _col_list(df: pd.DataFrame, limit: int = 12) -> str:
    cols = [repr(str(c)) for c in df.columns[:limit]]
    return ", ".join(cols) + (", ..." if len(df.columns) > limit else "")


def _numeric_roles(spec: ExperimentSpec) -> dict[str, str]:
    names = ["outcome", "weights", "running", "pre_covariate", "numerator", "denominator", "fuzzy"]
    roles = {r: getattr(spec, r) for r in names if getattr(spec, r) is not None}
    roles.update({f"covariates[{i}]": c for i, c in enumerate(spec.covariates)})
    if spec.report is not None and spec.report.cost_column:
        roles["report.cost_column"] = spec.report.cost_column
    if spec.design == "iv":
        roles.update({f"instruments[{i}]": c for i, c in enumerate(spec.instruments)})
        roles.update({f"endogenous[{i}]": c for i, c in enumerate(spec.endogenous)})
    return roles


def _check_dtypes(df: pd.DataFrame, spec: ExperimentSpec) -> None:
    for role, col in _numeric_roles(spec).items():
        series = df[col]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            bad = pd.to_numeric(series, errors="coerce").isna() & series.notna()
            if not bad.any():
                raise DataError(
                    f"column {col!r} (spec.{role}) must be numeric; it has dtype {series.dtype} "
                    "(numbers stored as text). Convert it with pd.to_numeric first."
                )
            raise DataError(
                f"column {col!r} (spec.{role}) must be numeric; it has dtype {series.dtype} with "
                f"{int(bad.sum())} non-numeric values ({rows_preview(series.index[bad])}, e.g. "
                f"{series[bad].iloc[0]!r}). Convert it with pd.to_numeric or encode it first."
            )


#: A numeric column whose largest |value| is below this squares to (nearly) zero in float64.
TINY = 1e-140


def magnitude_limit(n_rows: int) -> float:
    """Largest absolute value a numeric column may hold for ``n_rows`` rows.

    Sums of squares and cross-products over the rows must stay finite in float64 with room
    for the design matrices built on them (a factor 1e4), so values whose squares (summed over
    the rows) would overflow are refused rather than turned into infinite standard errors.
    """
    return float(np.sqrt(np.finfo(float).max / (max(n_rows, 1) * 1e4)))


def check_values(df: pd.DataFrame, roles: dict[str, str]) -> None:
    """Raise ``DataError`` for infinite values, or values too large to square, in numeric ``roles``.

    ``roles`` maps a spec field (e.g. ``"outcome"`` or ``"plan.cost_column"``) to its column.
    Non-numeric columns are skipped (their type is checked elsewhere).
    """
    limit = magnitude_limit(len(df))
    for role, col in roles.items():
        values = df[col].to_numpy()
        if values.dtype.kind != "f":
            continue  # integers and booleans can be neither infinite nor too large to square
        lo, hi = _nan_range(values)
        largest = max(-lo, hi)
        if 0 < largest < TINY:
            raise DataError(
                f"column {col!r} ({_field(role)}) holds only values too small to compute with (largest "
                f"|value| {largest:.3g} < {TINY:.0e}): their squares underflow to zero. Rescale the column "
                "(e.g. multiply it by a power of ten) or check its units."
            )
        if np.isnan(lo) or (np.isfinite(lo) and np.isfinite(hi) and largest <= limit):
            continue  # one pass each for min and max; the masks below only run on bad data
        bad = np.isinf(values)
        if bad.any():
            raise DataError(
                f"column {col!r} ({_field(role)}) has {int(bad.sum())} infinite values "
                f"({rows_preview(df.index[bad])}). Replace them (e.g. with NaN and na_action: drop) "
                "or fix the computation that produced them."
            )
        huge = np.abs(values) > limit
        raise DataError(
            f"column {col!r} ({_field(role)}) has {int(huge.sum())} values too large to compute with "
            f"(|value| > {limit:.3g}, largest {max(-lo, hi):.3g}; "
            f"{rows_preview(df.index[huge])}): their squares overflow float64. Rescale the column "
            "(e.g. to thousands or millions) or fix the values."
        )


def _nan_range(values: np.ndarray) -> tuple[float, float]:
    """(min, max) ignoring NaN; (nan, nan) when every value is missing."""
    if values.size == 0:
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices
        return float(np.nanmin(values)), float(np.nanmax(values))


def _field(role: str) -> str:
    return role if "." in role else f"spec.{role}"


def _check_finite(df: pd.DataFrame, spec: ExperimentSpec) -> None:
    roles = _numeric_roles(spec)
    if spec.treatment is not None:
        roles["treatment"] = spec.treatment  # continuous treatments (DML, IV) must be finite too
    check_values(df, roles)


def _check_variation(df: pd.DataFrame, spec: ExperimentSpec) -> None:
    """A constant outcome or covariate carries no information: refuse it by name.

    A constant outcome would give a zero standard error and a p-value read from rounding
    noise; a constant covariate is collinear with the intercept.
    """
    checks = {"outcome": spec.outcome} if spec.outcome is not None else {}
    checks.update({f"covariates[{i}]": c for i, c in enumerate(spec.covariates)})
    for role, col in checks.items():
        found = _constant_value(df[col])
        if found is None:
            continue
        first, n_values = found
        what = (
            "an effect cannot be estimated from an outcome that never varies (any p-value would "
            "be rounding noise). Check the column and the filters that produced the data."
            if role == "outcome" else
            "it carries no information and is collinear with the intercept. Remove it from "
            "spec.covariates."
        )
        raise DataError(
            f"column {col!r} (spec.{role}) is constant: all {n_values} non-missing rows equal "
            f"{_plain(first)!r}; {what}"
        )


def _constant_value(series: pd.Series) -> tuple[Any, int] | None:
    """(the value, non-missing count) when every non-missing value is the same, else None."""
    arr = series.to_numpy()
    if arr.size and arr.dtype.kind in "iub":
        return (arr[0], arr.size) if arr.min() == arr.max() else None
    if arr.dtype.kind == "f":  # min == max in two passes, without copying the column
        lo, hi = _nan_range(arr)
        if np.isnan(lo) or lo != hi:
            return None
        return lo, int(np.count_nonzero(~np.isnan(arr)))
    values = series.dropna()
    if len(values) == 0 or (values != values.iloc[0]).any():
        return None
    return values.iloc[0], len(values)


def _check_control_variation(df: pd.DataFrame, spec: ExperimentSpec) -> None:
    """Panels: never-treated units whose outcome never varies give a zero-variance comparison.

    Every panel method reads the treated units' path against the controls'; a flat control
    outcome makes placebo, cluster and jackknife standard errors collapse to rounding noise.
    """
    if spec.design not in _PANEL_DESIGNS or spec.unit is None or spec.outcome is None:
        return
    if spec.cohort is not None:
        cohort = df[spec.cohort]
        if pd.api.types.is_numeric_dtype(cohort):
            never = cohort.isna() | (cohort == 0)
        else:
            never = cohort.isna() | (cohort.astype(str).str.strip().isin(["0", "0.0"]))
    elif spec.treatment is not None and pd.api.types.is_numeric_dtype(df[spec.treatment]):
        ever = df.groupby(spec.unit, sort=False)[spec.treatment].transform("max")
        never = ever == 0
    else:
        return
    never = never.to_numpy(dtype=bool)
    y_all = df[spec.outcome].to_numpy(dtype=float, na_value=np.nan)
    keep = never & ~np.isnan(y_all)
    y = y_all[keep]
    if len(y) > 1 and not (y != y[0]).any():
        n_units = df.loc[never, spec.unit].nunique()
        raise DataError(
            f"column {spec.outcome!r} (spec.outcome) is constant ({_plain(y[0])!r}) across all {len(y)} rows of the "
            f"{n_units} never-treated (control) unit(s); a flat comparison makes every standard error "
            "collapse to rounding noise. Check the outcome and the control units."
        )
    if spec.time is None or len(y) < 2:
        return
    unit_codes, n_units = _codes(df[spec.unit].to_numpy()[keep])
    time_codes, n_times = _codes(df[spec.time].to_numpy()[keep])
    if n_units < 2 or n_times < 2:
        return
    resid = y - _group_means(unit_codes, y) - _group_means(time_codes, y) + y.mean()
    if np.abs(resid).max() <= 1e-9 * max(np.abs(y).max(), 1e-300):
        raise DataError(
            f"column {spec.outcome!r} (spec.outcome) moves in lockstep across the {n_units} never-treated "
            "(control) units: their outcomes differ only by a constant per unit, with no unit-specific "
            "variation over time. Placebo, jackknife and cluster standard errors would be rounding noise. "
            "Check that the control rows hold real, unit-level data."
        )


def sorted_codes(values: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(sorted distinct values, code of each row)`` for id and period columns, or None.

    Integer columns whose range is not much larger than their length are coded by offset
    (no sort, no hashing); text and object columns by hashing (``pandas.factorize``), then
    sorting only the distinct values. Other dtypes (dates, floats) return None: callers
    keep their ``np.sort(unique)`` / ``searchsorted`` path for them.
    """
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if arr.dtype.kind in "iu" and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo <= 4 * arr.size + 1024:
            offset = arr - lo
            present = np.bincount(offset, minlength=hi - lo + 1) > 0
            rank = np.cumsum(present) - 1
            return (np.flatnonzero(present) + lo).astype(arr.dtype), rank[offset]
        return None
    if arr.dtype == object or isinstance(getattr(values, "dtype", None), pd.StringDtype):
        codes, uniques = pd.factorize(values, sort=True)
        if (codes < 0).any():
            return None
        return np.asarray(uniques, dtype=object), codes
    return None


def _codes(values: Any) -> tuple[np.ndarray, int]:
    coded = sorted_codes(values)
    if coded is not None:
        return coded[1], len(coded[0])
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes, len(uniques)


def _group_means(codes: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean of ``y`` within each group code, aligned to the rows (bincount, no groupby)."""
    means = np.bincount(codes, weights=y) / np.bincount(codes)
    return means[codes]


def duplicate_pairs(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Boolean mask of rows whose ``(a, b)`` pair occurs more than once (``keep=False``)."""
    ca, na = _codes(a)
    cb, nb = _codes(b)
    size = na * nb
    key = ca.astype(np.int64) * nb + cb
    if size <= 8 * len(key) + 1024:  # panel-like: count on the unit x period grid
        return np.bincount(key, minlength=size)[key] > 1
    codes, counts = np.unique(key, return_inverse=True, return_counts=True)[1:]
    return counts[codes] > 1


def _check_clusters(df: pd.DataFrame, spec: ExperimentSpec) -> None:
    if spec.cluster is None:
        return
    n = df[spec.cluster].nunique()
    if n < 2:
        raise DataError(
            f"column {spec.cluster!r} (spec.cluster) has {n} distinct value(s); cluster-robust standard "
            "errors need at least two clusters (and are unreliable below about 30). Remove spec.cluster or "
            "check the column."
        )


def _check_weights(df: pd.DataFrame, spec: ExperimentSpec) -> None:
    if spec.weights is None:
        return
    w = df[spec.weights]
    if not pd.api.types.is_numeric_dtype(w):
        return
    neg = w < 0
    if neg.any():
        raise DataError(
            f"column {spec.weights!r} (spec.weights) has {int(neg.sum())} negative weights "
            f"({rows_preview(df.index[neg])}); observation weights must be zero or positive."
        )
    if not (w > 0).any():
        raise DataError(f"column {spec.weights!r} (spec.weights) is zero in every row; no observation counts.")


def mixed_types(series: pd.Series) -> list[str]:
    """Names of the Python types mixed in an object column (e.g. ``['int', 'str']``), else []."""
    if series.dtype != object:
        return []
    if pd.api.types.infer_dtype(series, skipna=True) not in ("mixed", "mixed-integer", "mixed-integer-float"):
        return []  # the C type inference is fast; the Python scan below only runs on mixed columns
    kinds = {type(v).__name__ for v in series.dropna().to_numpy()}
    if len(kinds) <= 1 or kinds <= {"int", "float", "bool"}:
        return []
    return sorted(kinds)


def unify_ids(series: pd.Series) -> pd.Series:
    """Identifiers that mix numbers and text (``[5, "NYC"]``) as text, so they sort and compare.

    Mixed ids are common (numbers for some stores, names for others); they are compared as
    strings consistently. Other columns are returned unchanged.
    """
    if mixed_types(series):
        return series.map(lambda v: v if pd.isna(v) else str(v)).astype(object)
    return series


def check_time_column(df: pd.DataFrame, column: str) -> None:
    """Raise ``DataError`` when the time column mixes value types (e.g. 2004 and "2005")."""
    kinds = mixed_types(df[column])
    if kinds:
        raise DataError(
            f"column {column!r} (spec.time) mixes value types ({', '.join(kinds)}), so its periods "
            "have no order. Convert it to one type (numbers or dates) first."
        )


def _check_time(df: pd.DataFrame, spec: ExperimentSpec) -> None:
    if spec.time is not None:
        check_time_column(df, spec.time)


def _nan_mask(df: pd.DataFrame, roles: dict[str, str]) -> dict[str, pd.Series]:
    masks = {}
    for role, col in roles.items():
        if role == "cohort":
            continue  # a missing cohort means never treated (see spec.cohort)
        mask = df[col].isna()
        if mask.any():
            masks[role] = mask
    return masks


def _check_treatment(df: pd.DataFrame, spec: ExperimentSpec) -> None:
    if spec.treatment is None:
        return
    col = spec.treatment
    series = df[col].dropna()
    if spec.design == "ab":
        values = series.to_numpy()
        if len(values) == 0 or not (values != values[0]).any():
            raise DataError(
                f"column {col!r} (spec.treatment) has a single arm ({series.unique()[:1].tolist()}); "
                "an A/B analysis needs at least two arms."
            )
        return
    if spec.design in {"dml"} and pd.api.types.is_numeric_dtype(series) and series.nunique() > 2:
        return  # continuous treatment: PLR handles it
    if spec.design in {"iv", "price_test"}:
        return  # price_test: the treatment is the price, checked by the estimator
    values = set(pd.unique(series))
    if not values <= {0, 1}:
        odd = sorted((v for v in values if v not in (0, 1)), key=str)[:5]
        n_bad = int((~series.isin([0, 1])).sum())
        raise DataError(
            f"column {col!r} (spec.treatment) must be binary 0/1 for design {spec.design!r}; "
            f"{n_bad} rows hold other values (e.g. {odd}). Recode it to 0 (control) / 1 (treated)."
        )
    if spec.design in _PANEL_DESIGNS and spec.treatment_start is None:
        if not (series == 1).any():
            raise DataError(f"column {col!r} (spec.treatment) has no treated rows (no value is 1).")
    if spec.design not in _PANEL_DESIGNS:
        counts = series.astype(int).value_counts()
        if counts.get(1, 0) == 0 or counts.get(0, 0) == 0:
            which = "treated" if counts.get(1, 0) == 0 else "control"
            raise DataError(
                f"column {col!r} (spec.treatment) has no {which} rows; both arms are needed."
            )


def _check_panel(df: pd.DataFrame, spec: ExperimentSpec) -> None:
    if spec.design not in _ONE_ROW_PER_UNIT_TIME or spec.unit is None or spec.time is None:
        return
    dup = duplicate_pairs(df[spec.unit], df[spec.time])
    if dup.any():
        first = df.loc[dup, [spec.unit, spec.time]].iloc[0].tolist()
        raise DataError(
            f"columns {spec.unit!r} (spec.unit) and {spec.time!r} (spec.time) have "
            f"{int(dup.sum())} rows that share a unit-time pair (e.g. unit={first[0]!r}, "
            f"time={first[1]!r}; {rows_preview(df.index[dup])}). Aggregate to one row per "
            "unit and period first."
        )
    if spec.design in _PANEL_DESIGNS and spec.treatment is not None:
        treated_units = df.loc[df[spec.treatment] == 1, spec.unit].unique()
        n_units = df[spec.unit].nunique()
        if len(treated_units) == 0:
            raise DataError(f"column {spec.treatment!r} (spec.treatment) marks no treated unit.")
        if spec.cohort is None and len(treated_units) == n_units and spec.design != "staggered_did":
            raise DataError(
                f"every one of the {n_units} units in {spec.unit!r} is treated at some point "
                f"(spec.treatment={spec.treatment!r}); the design needs never-treated control units."
            )


def validate_data(data: Any, spec: ExperimentSpec) -> None:
    """Check ``data`` against ``spec`` and raise a ``DataError`` for the first problem found."""
    if spec.design == "surrogate":  # two samples with their own roles: checked in _samples
        from ._samples import split_samples

        split_samples(data, spec)
        return
    df = to_pandas(data)
    roles = spec.role_columns
    _missing_columns(df, roles)
    if len(df) == 0:
        raise DataError("the data has no rows.")
    _check_dtypes(df, spec)
    _check_finite(df, spec)
    masks = _nan_mask(df, roles)
    if spec.na_action == "raise":
        if masks:
            role, mask = next(iter(masks.items()))
            raise DataError(
                f"column {roles[role]!r} (spec.{role}) has {int(mask.sum())} missing values "
                f"({rows_preview(df.index[mask])}). Fill them, or set na_action: drop in the spec "
                "to drop those rows with a warning."
            )
    complete = df.loc[~np.logical_or.reduce(list(masks.values()))] if masks else df
    _check_time(complete, spec)
    _check_weights(complete, spec)
    _check_clusters(complete, spec)
    _check_treatment(complete, spec)
    ids = {c: unify_ids(complete[c]) for c in (spec.unit, spec.cluster) if c is not None}
    _check_panel(complete.assign(**ids) if ids else complete, spec)
    _check_variation(complete, spec)  # after the structural checks, so their errors come first
    _check_control_variation(complete, spec)


def prepare(
    data: Any,
    spec: ExperimentSpec,
    columns: Sequence[str] | None = None,
    *,
    validate: bool = True,
) -> Prepared:
    """Validate, then return a private copy of the role columns with NaN rows handled.

    With ``spec.na_action == "drop"`` rows with NaN in any used column are dropped with a
    :class:`RowsDroppedWarning` naming the count per column; the count is recorded so the
    result can report ``n_dropped``.
    """
    df = to_pandas(data)
    if validate:
        validate_data(df, spec)
    used = list(dict.fromkeys(list(spec.role_columns.values()) + list(columns or [])))
    _missing_columns(df, {f"column[{i}]": c for i, c in enumerate(used)})
    frame = df.loc[:, used]  # list indexing returns a new frame (copy-on-write in pandas >= 3)
    n_input = len(frame)
    reasons: dict[str, int] = {}
    ids = {c: unify_ids(frame[c]) for c in (spec.unit, spec.cluster) if c is not None}
    if any(ids[c] is not frame[c] for c in ids):
        frame = frame.assign(**ids)
    if spec.na_action == "drop":
        mask = frame.isna()
        if spec.cohort is not None:
            mask[spec.cohort] = False  # a missing cohort means never treated, not a row to drop
        bad = mask.any(axis=1)
        if bad.any():
            for col in used:
                count = int(mask[col].sum())
                if count:
                    reasons[f"missing {col}"] = count
            frame = frame.loc[~bad]
            if len(frame) == 0:
                raise DataError(
                    f"no rows are left after dropping the {n_input} rows with missing values "
                    f"({', '.join(f'{k}: {v}' for k, v in reasons.items())}); fill the gaps instead."
                )
            detail = ", ".join(f"{k}: {v}" for k, v in reasons.items())
            warnings.warn(
                f"dropped {int(bad.sum())} of {n_input} rows with missing values ({detail}) "
                "because na_action='drop'.",
                RowsDroppedWarning,
                stacklevel=3,
            )
    return Prepared(
        frame=frame,
        n_input=n_input,
        n_dropped=n_input - len(frame),
        dropped_reasons=reasons,
        fingerprint=fingerprint(df, used),
    )


def _plain(value: Any) -> Any:
    """A numpy scalar as its Python value, for messages (5.0 rather than np.float64(5.0))."""
    return value.item() if hasattr(value, "item") else value


# ExperimentSpec.validate(data) lives on a lower floor; it reaches this check through the hook.
_hooks.register("validate_data", validate_data)
