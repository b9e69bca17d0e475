"""Unit x period panels shared by DiD, synthetic control, SDID and geo design.

:func:`build_panel` turns a long frame and a spec into dense ``(units x periods)`` arrays:
the outcome ``Y``, the absorbing treatment indicator ``D`` and each unit's first treated
period. It resolves the three ways a spec can say who is treated when:

* ``spec.cohort``: a column with each unit's first treated period (0, "0" or NaN: never);
  every other value must be one of the periods, or a later one;
* ``spec.treatment`` with ``spec.treatment_start``: an ever-treated flag plus a common start;
* ``spec.treatment`` alone: a per-period 0/1 indicator (absorbing).

Errors name the column, the count and the fix: duplicate rows, unbalanced panels,
treatment that switches off, cohorts that change within a unit, treated units with no
pre-period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._data import mixed_types, rows_preview, sorted_codes, unify_ids
from .errors import DataError, IdentificationError

if TYPE_CHECKING:
    from .spec import ExperimentSpec

__all__ = ["Panel", "build_panel"]

NEVER = -1  # first_treated index of never-treated units


@dataclass(frozen=True)
class Panel:
    """Dense panel arrays, units in sorted order, periods ascending.

    Attributes
    ----------
    units : (N,) array of unit labels
    times : (T,) array of period labels, ascending
    Y : (N, T) float array of the outcome; NaN marks a missing cell (unbalanced panels)
    D : (N, T) bool array, True when the unit is treated in that period
    first_treated : (N,) int array, index into ``times`` of the first treated period, -1 if never
    covariates : dict of name -> (N, T) float arrays
    """

    units: np.ndarray
    times: np.ndarray
    Y: np.ndarray
    D: np.ndarray
    first_treated: np.ndarray
    covariates: dict[str, np.ndarray] = field(default_factory=dict)
    outcome: str = ""
    unit_col: str = ""
    time_col: str = ""

    @property
    def n_units(self) -> int:
        return len(self.units)

    @property
    def n_periods(self) -> int:
        return len(self.times)

    @property
    def treated(self) -> np.ndarray:
        """(N,) bool: ever treated."""
        return self.first_treated != NEVER

    @property
    def cohort_times(self) -> np.ndarray:
        """Sorted distinct first-treated period labels of the treated cohorts."""
        idx = np.unique(self.first_treated[self.treated])
        return self.times[idx]

    @property
    def is_balanced(self) -> bool:
        return not np.isnan(self.Y).any()

    def first_treated_time(self) -> np.ndarray:
        """(N,) object array of first treated period labels (None for never treated)."""
        out = np.empty(self.n_units, dtype=object)
        for i, k in enumerate(self.first_treated):
            out[i] = None if k == NEVER else self.times[k]
        return out

    def to_long(self) -> pd.DataFrame:
        """Back to a long frame with columns unit, time, outcome, treated."""
        n, t = self.Y.shape
        return pd.DataFrame(
            {
                self.unit_col or "unit": np.repeat(self.units, t),
                self.time_col or "time": np.tile(self.times, n),
                self.outcome or "y": self.Y.ravel(),
                "treated": self.D.ravel().astype(int),
            }
        )


def is_never_treated(values: pd.Series) -> pd.Series:
    """0, "0" or missing: never treated (spec.cohort)."""
    if pd.api.types.is_numeric_dtype(values):
        return values.isna() | (values == 0)
    text = values.map(lambda v: str(v).strip() if not pd.isna(v) else "")
    return values.isna() | text.isin(["0", "0.0"])


def _cohort_index(cohort: str, time: str, values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Index into ``times`` of each unit's first treated period; ``len(times)`` when after the data.

    Every cohort must be one of the periods, or after the last one (treated after the data
    end). A value between periods (2005.5), before the first period, negative or infinite is
    refused: truncating or guessing would silently change who counts as treated when.
    """
    kind = times.dtype.kind
    as_text = kind not in "iufM"
    try:
        if kind in "iuf":
            v = pd.to_numeric(pd.Series(values, dtype=object), errors="raise").to_numpy(dtype=float)
            grid = times.astype(float)
        elif kind == "M":
            v = pd.to_datetime(pd.Series(values, dtype=object)).to_numpy(dtype=times.dtype)
            grid = times
        else:
            if not all(isinstance(x, str) for x in values):
                raise TypeError("text periods need text cohorts")
            v = np.array([x.strip() for x in values], dtype=object)
            grid = np.array([str(x) for x in times], dtype=object)
    except (TypeError, ValueError):
        raise DataError(
            f"column {cohort!r} (spec.cohort) holds first treated periods that cannot be compared "
            f"with column {time!r} (spec.time, dtype {times.dtype}); give both the same type "
            "(e.g. both integers or both dates)."
        ) from None
    pos = pd.Index(grid).get_indexer(v)
    finite = np.ones(len(v), dtype=bool) if as_text or kind == "M" else np.isfinite(v)
    later = (pos < 0) & finite & np.array([x > grid[-1] for x in v], dtype=bool)
    bad = ((pos < 0) & ~later) | ~finite
    if bad.any():
        odd = list(dict.fromkeys(values[bad].tolist()))[:3]
        raise DataError(
            f"column {cohort!r} (spec.cohort) gives {int(bad.sum())} unit(s) a first treated period that is "
            f"not a period of {time!r} (spec.time) (e.g. {odd}; the periods run from {times[0]!r} to "
            f"{times[-1]!r}). Give each unit's first treated period as one of the periods (or a later one "
            "when treatment starts after the data end); use 0 or leave it missing for never-treated units."
        )
    return np.where(later, len(times), pos)


def build_panel(
    frame: pd.DataFrame,
    spec: ExperimentSpec,
    *,
    balanced: bool = True,
    covariates: tuple[str, ...] = (),
    require_never_treated: bool = False,
    require_pre_period: bool = True,
) -> Panel:
    """Pivot ``frame`` into a :class:`Panel` following the roles in ``spec``.

    Parameters
    ----------
    frame : DataFrame
        Long data with one row per unit and period (already validated and copied).
    balanced : bool
        Raise ``DataError`` when some unit-period cells are missing.
    covariates : tuple of str
        Time-varying covariates to pivot into ``Panel.covariates``.
    require_never_treated : bool
        Raise ``IdentificationError`` when no unit is untreated throughout.
    require_pre_period : bool
        Raise ``IdentificationError`` when a treated unit is treated from the first period.
    """
    unit, time, outcome = spec.unit, spec.time, spec.outcome
    if unit is None or time is None or outcome is None:
        raise DataError("a panel needs spec.unit, spec.time and spec.outcome")
    if mixed_types(frame[unit]):
        frame = frame.assign(**{unit: unify_ids(frame[unit])})  # ids like [5, "NYC"] compare as text
    units, ui = _sorted_ids(frame[unit])
    times, ti = _sorted_ids(frame[time])
    if len(times) < 2:
        raise IdentificationError(
            f"column {time!r} (spec.time) has a single period ({times[0]!r}); a panel design needs "
            "at least one pre-period and one post-period."
        )
    n, t = len(units), len(times)
    cell = ui * t + ti
    per_cell = np.bincount(cell, minlength=n * t)
    if (per_cell > 1).any():  # duplicates, counted on the grid rather than by hashing rows again
        dup = per_cell[cell] > 1
        raise DataError(
            f"columns {unit!r} (spec.unit) and {time!r} (spec.time) have {int(dup.sum())} rows that "
            f"share a unit-period pair ({rows_preview(frame.index[dup])}). Aggregate to one row per "
            "unit and period first."
        )

    def dense(col: str) -> np.ndarray:
        arr = np.full(n * t, np.nan)
        arr[cell] = frame[col].to_numpy(dtype=float)
        return arr.reshape(n, t)

    Y = dense(outcome)
    observed = (per_cell > 0).reshape(n, t)
    if balanced and not observed.all():
        missing = int((~observed).sum())
        bad_units = units[(~observed).any(axis=1)]
        raise DataError(
            f"the panel is unbalanced: {missing} of {n * t} unit-period cells are missing "
            f"({len(bad_units)} units, e.g. {bad_units[:3].tolist()}). Fill the gaps, drop those units, "
            "or use an estimator that accepts unbalanced panels."
        )

    first = _first_treated(frame, spec, units, times, ui, ti, observed)
    D = np.zeros((n, t), dtype=bool)
    treated = first != NEVER
    D[treated] = np.arange(t)[None, :] >= first[treated, None]

    if require_pre_period and treated.any() and (first[treated] == 0).any():
        bad = units[treated & (first == 0)]
        raise IdentificationError(
            f"{len(bad)} treated unit(s) (e.g. {bad[:3].tolist()}) are treated from the first period "
            f"{times[0]!r}: there is no pre-period to learn from. Add earlier data or drop them."
        )
    if not treated.any():
        raise IdentificationError("no unit is ever treated; check spec.treatment / spec.cohort.")
    if require_never_treated and treated.all():
        raise IdentificationError(
            f"all {n} units are treated at some point; this estimator needs never-treated controls "
            "(or use staggered_did with not-yet-treated controls)."
        )
    covs = {c: dense(c) for c in covariates}
    return Panel(
        units=units, times=times, Y=Y, D=D, first_treated=first, covariates=covs,
        outcome=outcome, unit_col=unit, time_col=time,
    )


def _first_treated(
    frame: pd.DataFrame,
    spec: ExperimentSpec,
    units: np.ndarray,
    times: np.ndarray,
    ui: np.ndarray,
    ti: np.ndarray,
    observed: np.ndarray,
) -> np.ndarray:
    n, t = len(units), len(times)
    first = np.full(n, NEVER, dtype=int)
    if spec.cohort is not None:
        cohort = frame[spec.cohort]
        if pd.api.types.is_numeric_dtype(cohort) and not pd.api.types.is_bool_dtype(cohort):
            return _first_treated_numeric(spec, cohort, units, times, ui, ti, observed)
        per_unit = frame.assign(_c=cohort.where(~is_never_treated(cohort), np.nan)).groupby(spec.unit)["_c"]
        changing = per_unit.nunique(dropna=False) > 1
        if changing.any():
            bad = changing.index[changing].tolist()
            raise DataError(
                f"column {spec.cohort!r} (spec.cohort) changes within {len(bad)} unit(s) "
                f"(e.g. {bad[:3]}); a unit's first treated period must be the same in every row."
            )
        values = per_unit.first().reindex(units).to_numpy()
        has = ~pd.isna(values)
        ks = _cohort_index(spec.cohort, str(spec.time), values[has], times)
        idx = np.flatnonzero(has)
        inside = ks < t  # a cohort after the last period is never treated within the data
        first[idx[inside]] = ks[inside]
        return first

    tr = frame[spec.treatment].to_numpy().astype(float)
    if spec.treatment_start is not None:
        start = spec.treatment_start
        try:
            k0 = int(np.searchsorted(times, pd.Series([start]).astype(times.dtype).iloc[0]))
        except (TypeError, ValueError):
            raise DataError(
                f"spec.treatment_start={start!r} cannot be compared with column {spec.time!r} "
                f"(dtype {times.dtype}); give it in the same type as the time column."
            ) from None
        if k0 == 0:
            raise IdentificationError(
                f"spec.treatment_start={start!r} is at or before the first period {times[0]!r}: "
                "there is no pre-period."
            )
        if k0 >= t:
            raise IdentificationError(
                f"spec.treatment_start={start!r} is after the last period {times[-1]!r}: there is "
                "no post-period."
            )
        grp = pd.Series(tr).groupby(ui).agg(["min", "max"])
        changing = grp["min"] != grp["max"]
        if changing.any():
            bad = units[grp.index[changing]]
            raise DataError(
                f"column {spec.treatment!r} (spec.treatment) changes within {len(bad)} unit(s) "
                f"(e.g. {bad[:3].tolist()}); with spec.treatment_start set it must be the "
                "ever-treated flag, constant per unit. Remove treatment_start to use it as a "
                "per-period indicator."
            )
        first[grp.index[grp["max"] == 1]] = k0
        return first

    Dm = np.zeros((n, t))
    Dm[ui, ti] = tr
    cum = np.maximum.accumulate(Dm, axis=1)
    switched_off = (cum > Dm) & observed
    if switched_off.any():
        bad = units[switched_off.any(axis=1)]
        raise DataError(
            f"column {spec.treatment!r} (spec.treatment) switches off again for {len(bad)} unit(s) "
            f"(e.g. {bad[:3].tolist()}); this estimator needs absorbing adoption (once treated, always "
            "treated). For a treatment that switches on and off use the de Chaisemartin-D'Haultfoeuille "
            "estimator: set estimators: [did_multiplegt] in the spec."
        )
    ever = Dm.max(axis=1) > 0
    first[ever] = np.argmax(Dm[ever] > 0, axis=1)
    return first


def _sorted_ids(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ids and each row's position among them."""
    coded = sorted_codes(values)
    if coded is not None:
        return coded
    uniq = np.sort(values.unique())
    return uniq, np.searchsorted(uniq, values.to_numpy())


def _first_treated_numeric(spec: ExperimentSpec, cohort: pd.Series, units: np.ndarray, times: np.ndarray,
                           ui: np.ndarray, ti: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """``_first_treated`` for a numeric cohort column, on the (units x periods) grid.

    Same checks as the grouped path (one cohort per unit; a unit is never treated in every
    row or in none), with per-unit min / max over the pivoted grid instead of a groupby.
    """
    n, t = len(units), len(times)
    v = cohort.to_numpy(dtype=float, na_value=np.nan)
    v = np.where(v == 0, np.nan, v)  # 0 or missing: never treated
    grid = np.full(n * t, np.nan)
    grid[ui * t + ti] = v
    grid = grid.reshape(n, t)
    never_rows = np.isnan(grid) & observed
    with np.errstate(invalid="ignore"):
        lo, hi = np.fmin.reduce(grid, axis=1), np.fmax.reduce(grid, axis=1)
    has = ~np.isnan(lo)
    changing = has & ((lo != hi) | never_rows.any(axis=1))
    if changing.any():
        bad = units[changing].tolist()
        raise DataError(
            f"column {spec.cohort!r} (spec.cohort) changes within {len(bad)} unit(s) "
            f"(e.g. {bad[:3]}); a unit's first treated period must be the same in every row."
        )
    first = np.full(n, NEVER, dtype=int)
    ks = _cohort_index(spec.cohort, str(spec.time), lo[has], times)
    idx = np.flatnonzero(has)
    inside = ks < t  # a cohort after the last period is never treated within the data
    first[idx[inside]] = ks[inside]
    return first


def describe_units(values: Any, limit: int = 3) -> str:
    """Short list of unit labels for messages."""
    vals = list(values)
    return ", ".join(map(repr, vals[:limit])) + (", ..." if len(vals) > limit else "")
