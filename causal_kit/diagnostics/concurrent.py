"""Concurrent studies: calendar periods, live-study tables, exposure shares and readout contamination.

Shared by the design-time conflict checks (:mod:`causal_kit.design.conflicts`) and the
readout (``causal_kit.estimate(..., calendar=...)``). A calendar table has one row per study
and unit (``study, unit, cell, role, start, end``, optionally ``status`` and ``owner``); see
``docs/concurrent.md``. Nothing here reads the registry: the caller passes the table (or a
calendar object with ``units_table()``).

At readout, :func:`contamination_table` gives each other study's exposure share in this
study's treated and control units over its window (the mean share of the window a unit is
treated by that study), :func:`contamination_diagnostic` turns it into a Diagnostic, and
:func:`study_indicators` adds each other study's treatment indicator as a time-varying
column, for ``interference: adjust``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from .._data import to_pandas
from ..errors import DataError
from ..result import Diagnostic

__all__ = [
    "CALENDAR_COLUMNS", "ROLES", "as_period", "period_text", "period_step", "add_periods", "live_table",
    "overlapping", "exposure_share", "study_window", "study_arms", "contamination_table",
    "contamination_diagnostic", "study_indicators", "calendar_rows",
]

#: Columns a plain calendar table must have (``status`` and ``owner`` are optional).
CALENDAR_COLUMNS: tuple[str, ...] = ("study", "unit", "cell", "role", "start", "end")
#: The roles a unit can play in a study.
ROLES: tuple[str, ...] = ("treated", "control", "excluded")


# ---------------------------------------------------------------------- periods
def as_period(value: Any) -> int | pd.Timestamp:
    """A period as a comparable value: an integer period or a timestamp.

    Examples
    --------
    >>> as_period("12"), as_period("2024-03-01")
    (12, Timestamp('2024-03-01 00:00:00'))
    """
    if isinstance(value, (bool, np.bool_)):
        raise DataError(f"a calendar period must be a date or an integer period; got {value!r}.")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (pd.Timestamp, datetime, date, np.datetime64)):
        return pd.Timestamp(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return pd.Timestamp(pd.to_datetime(text, format="ISO8601"))
    except (ValueError, TypeError):
        raise DataError(
            f"a calendar period must be a date (e.g. 2024-03-01) or an integer period; got {value!r}."
        ) from None


def period_text(value: Any) -> str:
    """The stored form of a period: ``'2024-03-01'`` for a day, ``'12'`` for an integer period.

    Examples
    --------
    >>> period_text(pd.Timestamp("2024-03-01")), period_text(7)
    ('2024-03-01', '7')
    """
    p = as_period(value)
    if isinstance(p, pd.Timestamp):
        return p.date().isoformat() if p == p.normalize() else p.isoformat()
    return str(p)


def period_step(times: Sequence[Any]) -> int | pd.Timedelta:
    """The typical spacing of sorted periods (the median gap): 1 for integer periods, 7 days for weeks.

    Examples
    --------
    >>> period_step([1, 2, 3]), period_step(pd.date_range("2024-01-01", periods=4, freq="W"))
    (1, Timedelta('7 days 00:00:00'))
    """
    values = [as_period(t) for t in times]
    if len(values) < 2:
        return 1 if not values or isinstance(values[0], int) else pd.Timedelta(days=1)
    if isinstance(values[0], pd.Timestamp):
        gaps = pd.Series(values).diff().dropna()
        return pd.Timedelta(gaps.median())
    return max(int(np.median(np.diff(values))), 1)


def add_periods(start: Any, n: int, step: int | pd.Timedelta) -> int | pd.Timestamp:
    """``start`` moved by ``n`` steps.

    Examples
    --------
    >>> add_periods("2024-01-01", 27, pd.Timedelta(days=1))
    Timestamp('2024-01-28 00:00:00')
    """
    p = as_period(start)
    if isinstance(p, pd.Timestamp):
        return p + n * (step if isinstance(step, pd.Timedelta) else pd.Timedelta(days=int(step)))
    if isinstance(step, pd.Timedelta):
        raise DataError(f"the calendar period {start!r} is an integer but the history's periods are dates.")
    return p + n * int(step)


def _length(start: Any, end: Any) -> float:
    """Inclusive length of ``[start, end]``: periods for integers, days for dates."""
    if isinstance(start, pd.Timestamp):
        return (end - start) / pd.Timedelta(days=1) + 1.0
    return float(end - start + 1)


def _same_kind(a: Any, b: Any) -> bool:
    return isinstance(a, pd.Timestamp) == isinstance(b, pd.Timestamp)


# ---------------------------------------------------------------------- tables
def live_table(calendar: Any) -> pd.DataFrame:
    """The calendar as a plain table (see the module docstring), closed studies dropped.

    ``calendar`` is a calendar-like object (``units_table()``) or a table; it is not modified.

    Examples
    --------
    >>> t = pd.DataFrame({"study": ["promo"], "unit": ["g1"], "cell": ["treatment"], "role": ["treated"],
    ...                   "start": ["2024-01-01"], "end": ["2024-01-28"]})
    >>> live_table(t)[["study", "role", "status"]].to_dict("records")
    [{'study': 'promo', 'role': 'treated', 'status': 'planned'}]
    """
    if calendar is None:
        return pd.DataFrame(columns=[*CALENDAR_COLUMNS, "status", "owner"])
    table = calendar.units_table() if hasattr(calendar, "units_table") else to_pandas(calendar)
    missing = [c for c in CALENDAR_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(
            f"the calendar table lacks column(s) {missing}; it needs {list(CALENDAR_COLUMNS)} "
            f"(one row per study and unit). It has {list(table.columns)[:12]}."
        )
    table = table.copy()
    if "status" not in table.columns:
        table["status"] = "planned"
    if "owner" not in table.columns:
        table["owner"] = None
    bad = sorted(set(table["role"].astype(str)) - set(ROLES))
    if bad:
        raise DataError(f"column 'role' of the calendar has {bad}; each row's role must be one of {list(ROLES)}.")
    for col in ("start", "end"):
        if table[col].isna().any():
            raise DataError(f"column {col!r} of the calendar has {int(table[col].isna().sum())} missing values; "
                            "every study needs a start and a planned end.")
    table["unit"] = table["unit"].astype(str)
    table["status"] = table["status"].fillna("planned").astype(str)
    return table[table["status"] != "closed"].reset_index(drop=True)


def overlapping(table: pd.DataFrame, start: Any, end: Any, *, name: str | None = None) -> pd.DataFrame:
    """Rows of studies other than ``name`` whose window overlaps ``[start, end]``.

    Periods of another kind (dates against integer periods) never overlap. A column
    ``overlap`` holds the share of ``[start, end]`` each row's study covers.
    """
    s, e = as_period(start), as_period(end)
    # one verdict per study window (a study's rows share it), not one per row
    windows = table.loc[:, ["study", "start", "end"]].astype(str).drop_duplicates()
    verdict: dict[tuple[str, str, str], float] = {}
    for study, a_text, b_text in windows.itertuples(index=False):
        a, b = as_period(a_text), as_period(b_text)
        ok = (name is None or study != str(name)) and _same_kind(a, s) and a <= e and b >= s
        verdict[study, a_text, b_text] = _length(max(a, s), min(b, e)) / _length(s, e) if ok else -1.0
    keys = zip(table["study"].astype(str), table["start"].astype(str), table["end"].astype(str))
    share = np.fromiter((verdict[k] for k in keys), dtype=float, count=len(table))
    out = table.assign(overlap=np.clip(share, 0.0, None))
    return out[share >= 0].reset_index(drop=True)


def exposure_share(table: pd.DataFrame, units: Iterable[Any], start: Any, end: Any,
                   *, name: str | None = None) -> pd.Series:
    """Share of ``[start, end]`` each unit is treated in some other live study (0 to 1).

    Overlapping treatments of one unit by two studies count once per study, capped at 1.

    Examples
    --------
    >>> t = pd.DataFrame({"study": ["promo"], "unit": ["g1"], "cell": ["treatment"], "role": ["treated"],
    ...                   "start": [11], "end": [20]})
    >>> exposure_share(t, ["g1", "g2"], 1, 20).to_dict()
    {'g1': 0.5, 'g2': 0.0}
    """
    ids = [str(u) for u in units]
    over = overlapping(table, start, end, name=name)
    treated = over[over["role"] == "treated"]
    share = treated.groupby("unit")["overlap"].sum().clip(upper=1.0)
    return share.reindex(ids).fillna(0.0).rename("exposure")




# ---------------------------------------------------------------------- readout
def _times(df: pd.DataFrame, column: str) -> pd.Series:
    """The time column as comparable periods (timestamps or integers)."""
    col = df[column]
    if pd.api.types.is_datetime64_any_dtype(col):
        return col
    if pd.api.types.is_numeric_dtype(col):
        return col
    try:
        return pd.to_datetime(col, format="ISO8601")
    except (ValueError, TypeError):
        raise DataError(f"column {column!r} (spec.time) must hold dates or integer periods to match the calendar.") from None


def _treated_rows(df: pd.DataFrame, spec: Any) -> pd.Series:
    """Rows where this study's treatment is on (treatment == 1, or at / after the unit's cohort)."""
    if spec.cohort is not None:
        cohort = pd.to_numeric(df[spec.cohort], errors="coerce") if not pd.api.types.is_datetime64_any_dtype(
            df[spec.cohort]) else df[spec.cohort]
        never = cohort.isna() | (cohort == 0) if not pd.api.types.is_datetime64_any_dtype(cohort) else cohort.isna()
        return ~never & (_times(df, spec.time) >= cohort.where(~never, _times(df, spec.time)))
    if spec.treatment is None:
        raise DataError("the contamination check needs spec.treatment (or spec.cohort) to tell treated units.")
    on = pd.to_numeric(df[spec.treatment], errors="coerce") == 1
    if spec.treatment_start is not None:
        start = as_period(spec.treatment_start)
        on &= _times(df, spec.time) >= start
    return on


def study_arms(data: Any, spec: Any) -> tuple[list[str], list[str]]:
    """This study's treated units (treated in some row) and control units (never), as text ids."""
    df = to_pandas(data)
    units = df[spec.unit].astype(str)
    treated = set(units[_treated_rows(df, spec).to_numpy()])
    return sorted(treated), sorted(set(units) - treated)


def study_window(data: Any, spec: Any) -> tuple[Any, Any]:
    """This study's treated window in the data: first treated period to the last period."""
    df = to_pandas(data)
    on = _treated_rows(df, spec).to_numpy()
    times = _times(df, spec.time)
    if not on.any():
        raise DataError(f"no row of the data is treated (spec.treatment {spec.treatment!r}); the window of "
                        "the study is unknown.")
    return as_period(times[on].min()), as_period(times.max())


def contamination_table(calendar: Any, data: Any, spec: Any, *, include_closed: bool = True) -> pd.DataFrame:
    """Each other study's exposure share in this study's treated and control units over its window.

    One row per other study overlapping the window: ``study``, ``owner``, ``start``, ``end``,
    ``n_treated_exposed`` / ``n_control_exposed`` (units of each arm it treats),
    ``share_treated`` / ``share_control`` (mean share of the window a unit of the arm is
    treated by it) and ``difference``. Closed studies count: they ran during the window.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"u": ["a", "a", "b", "b"], "t": [1, 2, 1, 2], "y": 1.0, "d": [0, 1, 0, 0]})
    >>> cal = pd.DataFrame({"study": ["promo"], "unit": ["a"], "cell": ["treatment"], "role": ["treated"],
    ...                     "start": [2], "end": [5]})
    >>> from types import SimpleNamespace
    >>> spec = SimpleNamespace(name="mine", unit="u", time="t", treatment="d", cohort=None, treatment_start=None)
    >>> contamination_table(cal, data, spec)[["study", "share_treated", "share_control"]].to_dict("records")
    [{'study': 'promo', 'share_treated': 1.0, 'share_control': 0.0}]
    """
    table = calendar_rows(calendar, include_closed)
    treated, control = study_arms(data, spec)
    start, end = study_window(data, spec)
    over = overlapping(table, start, end, name=spec.name)
    rows = []
    for study, group in over.groupby("study", sort=True):
        expo = exposure_share(group, treated + control, start, end, name=spec.name)
        t, c = expo.reindex(treated), expo.reindex(control)
        rows.append({
            "study": str(study), "owner": group["owner"].iloc[0], "start": period_text(group["start"].iloc[0]),
            "end": period_text(group["end"].iloc[0]), "status": str(group["status"].iloc[0]),
            "n_treated_exposed": int((t > 0).sum()), "n_control_exposed": int((c > 0).sum()),
            "share_treated": float(t.mean()) if len(t) else 0.0, "share_control": float(c.mean()) if len(c) else 0.0,
        })
    out = pd.DataFrame(rows, columns=["study", "owner", "start", "end", "status", "n_treated_exposed",
                                      "n_control_exposed", "share_treated", "share_control"])
    out["difference"] = out["share_treated"] - out["share_control"]
    return out


def calendar_rows(calendar: Any, include_closed: bool = True) -> pd.DataFrame:
    """The calendar's rows as a checked table; closed studies kept (as ``ended``) when ``include_closed``."""
    if calendar is not None and hasattr(calendar, "units_table"):
        calendar = calendar.units_table(include_closed=include_closed)
    if calendar is None:
        return live_table(None)
    table = to_pandas(calendar)
    if include_closed and "status" in table.columns:
        table = table.assign(status=table["status"].replace("closed", "ended"))
    return live_table(table)


def contamination_diagnostic(table: pd.DataFrame, *, threshold: float = 0.05, adjusted: bool = False) -> Diagnostic:
    """``concurrent_studies``: warn when another study treats this study's arms unequally.

    A study whose exposure share differs between the treated and the control units by more
    than ``threshold`` confounds the comparison; equal exposure in both arms does not bias a
    DiD but can modify the effect, so it is named too.
    """
    if table.empty:
        return Diagnostic("concurrent_studies", "pass", "no other study in the calendar treats units of this "
                          "study during its window.", statistic=0.0, threshold=threshold, assumption="interference")
    worst = table.loc[table["difference"].abs().idxmax()]
    parts = [f"{r.study} treats {r.share_treated:.0%} of the treated and {r.share_control:.0%} of the control "
             "units' window" for r in table.itertuples()]
    bad = bool(abs(worst["difference"]) > threshold)
    return Diagnostic(
        "concurrent_studies", "warn" if bad else "pass",
        "; ".join(parts) + (f": {worst['study']} is confounded with this study's treatment; "
                            + ("the estimate below is adjusted for it (interference: adjust)." if adjusted else
                               "read out with interference: adjust.") if bad else
                            ": exposure is balanced across the arms."),
        statistic=float(worst["difference"]), threshold=threshold, assumption="interference",
    )


def _column_name(study: str, taken: Iterable[str]) -> str:
    base = "other_study__" + re.sub(r"\W+", "_", str(study)).strip("_")
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


def study_indicators(calendar: Any, data: Any, spec: Any, *, include_closed: bool = True
                     ) -> tuple[pd.DataFrame, dict[str, str]]:
    """A copy of ``data`` with one 0/1 column per other study: its treatment of the row's unit then.

    Returns the copy and ``{column: study}``. Only studies that overlap this study's window
    and treat some of its units get a column. ``data`` is not modified.
    """
    df = to_pandas(data).copy()
    table = calendar_rows(calendar, include_closed)
    start, end = study_window(df, spec)
    over = overlapping(table, start, end, name=spec.name)
    units = df[spec.unit].astype(str)
    times = _times(df, spec.time)
    kind_is_date = pd.api.types.is_datetime64_any_dtype(times)
    columns: dict[str, str] = {}
    for study, group in over[over["role"] == "treated"].groupby("study", sort=True):
        s, e = as_period(group["start"].iloc[0]), as_period(group["end"].iloc[0])
        if isinstance(s, pd.Timestamp) != kind_is_date:
            continue
        on = units.isin(set(group["unit"])).to_numpy() & (times >= s).to_numpy() & (times <= e).to_numpy()
        if not on.any():
            continue
        name = _column_name(study, list(df.columns) + list(columns))
        df[name] = on.astype(float)
        columns[name] = str(study)
    return df, columns

