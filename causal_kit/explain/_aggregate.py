"""Grouped sums of a ratio metric's numerator and denominator per segment cell and period.

Vectorised with integer codes and ``numpy.bincount`` (one pass over the rows per sum), so ten
million rows aggregate in well under a second; the decompositions then work on the cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError
from ._errors import ZeroDenominatorError, check_columns

__all__ = ["Cells", "aggregate_cells", "resolve_periods"]

_DENSE_LIMIT = 20_000_000  # use a dense bincount when the full cross product is at most this big


@dataclass(frozen=True)
class Cells:
    """Per-cell sums: ``codes[c, d]`` is cell ``c``'s level of dimension ``d``."""

    dims: tuple[str, ...]
    levels: tuple[np.ndarray, ...]
    codes: np.ndarray
    num: np.ndarray  # shape (2, n_cells): before, after
    den: np.ndarray
    rows: np.ndarray  # row counts, shape (2, n_cells)
    labels: tuple[object, object] = ("before", "after")

    def frame(self) -> pd.DataFrame:
        """The cells as a DataFrame of dimension labels."""
        return pd.DataFrame({d: self.levels[i][self.codes[:, i]] for i, d in enumerate(self.dims)})


def resolve_periods(values: pd.Series, before: object, after: object, column: str) -> tuple[object, object]:
    """The two period labels: given, or the two distinct values of ``column`` in sorted order."""
    if before is not None and after is not None:
        present = set(pd.unique(values))
        for label, which in ((before, "before"), (after, "after")):
            if label not in present:
                raise DataError(f"column {column!r} has no rows with the {which} label {label!r}; "
                                f"it has {sorted(map(str, present))[:10]}. Pass labels that occur.")
        if before == after:
            raise DataError(f"before and after are both {before!r}; pass two different labels of {column!r}.")
        return before, after
    uniq = pd.unique(values.dropna())
    if len(uniq) != 2:
        raise DataError(f"column {column!r} has {len(uniq)} distinct values; with no before/after labels it must "
                        "have exactly 2. Pass before=... and after=... to pick two.")
    lo, hi = sorted(uniq)
    return lo, hi


def _codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 for missing) and sorted levels of a segment column, fast for ints and categoricals."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy().astype(np.int64), np.asarray(col.cat.categories)
    x = col.to_numpy()
    if x.dtype.kind in "iub" and len(x):
        x = x.astype(np.int64, copy=False)
        lo, hi = int(x.min()), int(x.max())
        if hi - lo < 10_000_000:  # lookup table instead of a hash or sort over all rows
            shifted = x - lo if lo else x
            present = np.bincount(shifted) > 0
            if present.all():  # dense levels: the shifted values are the codes
                return shifted, np.arange(lo, hi + 1)
            lut = np.cumsum(present) - 1
            return lut[shifted], np.flatnonzero(present) + lo
    codes, uniques = pd.factorize(col, sort=True)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def _numeric(data: pd.DataFrame, column: str, role: str, rows: np.ndarray | None) -> np.ndarray:
    col = data[column]
    if not pd.api.types.is_numeric_dtype(col):
        raise DataError(f"column {column!r} ({role}) must be numeric; it is {col.dtype}. Convert it first.")
    x = col.to_numpy(dtype=float)
    if rows is not None:
        x = x[rows]
    with np.errstate(invalid="ignore", over="ignore"):
        total = x.sum()
    if not np.isfinite(total) and (bad := ~np.isfinite(x)).any():
        raise DataError(f"column {column!r} ({role}) has {int(bad.sum())} missing or infinite values in the two "
                        "periods compared. Fill or remove them before decomposing.")
    return x


def aggregate_cells(data: pd.DataFrame, *, period: str, before: object, after: object, dimensions: list[str],
                    numerator: str, denominator: str | None) -> Cells:
    """Sum numerator and denominator per (period, segment cell); checks denominators."""
    dims = list(dimensions)
    if not dims:
        raise DataError("dimensions is empty; name at least one segment column (e.g. ['region']).")
    if len(set(dims)) != len(dims) or period in dims:
        raise DataError(f"dimensions {dims} repeat a column or include the period column {period!r}; "
                        "list each segment column once.")
    check_columns(data, [period, numerator, *dims] + ([denominator] if denominator else []), role="mix_rate")
    before, after = resolve_periods(data[period], before, after, period)
    p = data[period].to_numpy()
    which = np.full(len(p), -1, dtype=np.int64)
    which[p == before] = 0
    which[p == after] = 1
    selected = which >= 0
    subset = None if selected.all() else np.flatnonzero(selected)
    num = _numeric(data, numerator, "numerator", subset)
    den = _numeric(data, denominator, "denominator", subset) if denominator else None

    codes_rows, levels, sizes = [], [], []
    for d in dims:
        codes, uniques = _codes(data[d])
        if subset is not None:
            codes = codes[subset]
        if (codes < 0).any():
            raise DataError(f"segment column {d!r} has {int((codes < 0).sum())} missing values in the two periods. "
                            "Fill them (e.g. with 'unknown') so every row belongs to a segment.")
        codes_rows.append(codes)
        levels.append(np.asarray(uniques))
        sizes.append(max(len(uniques), 1))
    if subset is not None:
        which = which[subset]
    key = codes_rows[0].astype(np.int64)
    for c, s in zip(codes_rows[1:], sizes[1:]):
        key *= s
        key += c
    total = float(np.prod(sizes, dtype=float))
    if total <= _DENSE_LIMIT:
        size = int(total)
        cell_key = key
    else:
        cell_key, _ = pd.factorize(key, sort=True)
        size = int(cell_key.max()) + 1 if len(cell_key) else 0
    flat = which * size
    flat += cell_key
    sums_num = np.bincount(flat, weights=num, minlength=2 * size).reshape(2, size)
    counts = np.bincount(flat, minlength=2 * size).reshape(2, size)
    sums_den = (counts.astype(float) if den is None
                else np.bincount(flat, weights=den, minlength=2 * size).reshape(2, size))
    keep = np.flatnonzero(counts.sum(axis=0) > 0)
    if cell_key is key:
        cell_codes = np.zeros((len(keep), len(dims)), dtype=np.int64)
        rest = keep.copy()
        for j in range(len(dims) - 1, -1, -1):
            cell_codes[:, j] = rest % sizes[j]
            rest //= sizes[j]
    else:
        first = np.zeros(size, dtype=np.int64)
        first[cell_key[::-1]] = np.arange(len(cell_key))[::-1]
        cell_codes = np.column_stack([c[first[keep]] for c in codes_rows])
    cells = Cells(tuple(dims), tuple(levels), cell_codes, sums_num[:, keep], sums_den[:, keep], counts[:, keep],
                  (before, after))
    _check_denominators(cells, (before, after), denominator)
    return cells


def _check_denominators(cells: Cells, labels: tuple[object, object], denominator: str | None) -> None:
    bad = (cells.rows > 0) & (cells.den <= 0)
    if bad.any():
        t, c = np.nonzero(bad)
        frame = cells.frame().iloc[c[:5]]
        examples = "; ".join(f"{labels[ti]!s}: " + ", ".join(f"{k}={v}" for k, v in row.items())
                             for ti, (_, row) in zip(t[:5], frame.iterrows()))
        raise ZeroDenominatorError(
            f"denominator column {denominator!r} sums to zero or less in {int(bad.sum())} segment-period cell(s) "
            f"that have rows, so their rate is undefined (e.g. {examples}). Remove those rows, merge the segments "
            "into a larger one, or use a coarser segmentation.")
    for t in (0, 1):
        if cells.den[t].sum() <= 0:
            raise ZeroDenominatorError(f"denominator column {denominator!r} sums to zero in period {labels[t]!s}; "
                                       "the metric is undefined there.")
