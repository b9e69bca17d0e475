"""Data checks and preparation shared by every estimator and design.

Everything that touches the caller's table goes through here: conversion to pandas at the
boundary (pandas, polars, pyarrow), role checks with errors that name the spec field, the
column, the count and the fix, explicit NaN handling (raise by default, drop with a warning
on request) and a content fingerprint for lineage. The caller's frame is never mutated:
:func:`prepare` returns a copy.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import DataError, RowsDroppedWarning

if TYPE_CHECKING:
    from .spec import ExperimentSpec

__all__ = ["to_pandas", "validate_data", "prepare", "Prepared", "fingerprint", "rows_preview"]

_PANEL_DESIGNS = {"did", "event_study", "staggered_did", "synthetic_control", "sdid"}


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


def fingerprint(data: pd.DataFrame) -> str:
    """A content fingerprint of a frame (values, column names and order), 16 hex digits.

    The first 8 digits hash the column names, dtypes and row count; the last 8 are a CRC-32 of
    the values (numeric columns from their raw bytes, fast enough for tens of millions of rows); other columns go through ``pandas.util.hash_pandas_object``.
    It detects changed data; it is not a cryptographic hash.
    """
    header = ("|".join(f"{c}:{data[c].dtype}" for c in data.columns) + f"#{len(data)}").encode()
    crc = 0
    for col in data.columns:
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
        close = [c for c in df.columns if str(c).lower() == str(col).lower()]
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
    if spec.design in {"dml", "iv"}:
        roles.update({f"covariates[{i}]": c for i, c in enumerate(spec.covariates)})
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


def _check_finite(df: pd.DataFrame, spec: ExperimentSpec) -> None:
    for role, col in _numeric_roles(spec).items():
        values = df[col].to_numpy()
        if values.dtype.kind != "f":
            continue
        bad = np.isinf(values)
        if bad.any():
            raise DataError(
                f"column {col!r} (spec.{role}) has {int(bad.sum())} infinite values "
                f"({rows_preview(df.index[bad])}). Replace them (e.g. with NaN and na_action: drop) "
                "or fix the computation that produced them."
            )


def _nan_mask(df: pd.DataFrame, roles: dict[str, str]) -> dict[str, pd.Series]:
    masks = {}
    for role, col in roles.items():
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
    if spec.design in {"iv"}:
        return
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
    if spec.design not in _PANEL_DESIGNS or spec.unit is None or spec.time is None:
        return
    dup = df.duplicated([spec.unit, spec.time], keep=False)
    if dup.any():
        first = df.loc[dup, [spec.unit, spec.time]].iloc[0].tolist()
        raise DataError(
            f"columns {spec.unit!r} (spec.unit) and {spec.time!r} (spec.time) have "
            f"{int(dup.sum())} rows that share a unit-time pair (e.g. unit={first[0]!r}, "
            f"time={first[1]!r}; {rows_preview(df.index[dup])}). Aggregate to one row per "
            "unit and period first."
        )
    if spec.treatment is not None:
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
    _check_treatment(complete, spec)
    _check_panel(complete, spec)


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
    if spec.na_action == "drop":
        mask = frame.isna()
        bad = mask.any(axis=1)
        if bad.any():
            for col in used:
                count = int(mask[col].sum())
                if count:
                    reasons[f"missing {col}"] = count
            frame = frame.loc[~bad]
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
        fingerprint=fingerprint(df.loc[:, used]),
    )
