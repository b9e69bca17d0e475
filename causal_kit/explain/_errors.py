"""Named errors of the metric-movement tools, each a ``causal_kit.errors`` subclass.

They say what is wrong (the column, segment or node), how much, and how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ..errors import DataError, SpecError

__all__ = ["ZeroDenominatorError", "KpiTreeMismatchError", "CyclicGraphError", "UnknownColumnError",
           "check_columns"]


class ZeroDenominatorError(DataError):
    """A segment's denominator sums to zero (or below) in a period, so its rate is undefined."""


class KpiTreeMismatchError(DataError):
    """The KPI tree, evaluated on the data's leaves, does not reproduce an observed node."""


class CyclicGraphError(SpecError):
    """The causal graph given as an edge list has a cycle; change attribution needs a DAG."""


class UnknownColumnError(DataError):
    """A column named in the arguments or the spec is not in the data."""


def check_columns(data: pd.DataFrame, columns: Iterable[str], *, role: str) -> None:
    """Raise :class:`UnknownColumnError` naming every missing column and the columns on offer."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame. Got {type(data).__name__} instead.")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        have = ", ".join(map(str, list(data.columns)[:12]))
        raise UnknownColumnError(
            f"{role}: {len(missing)} column(s) not in the data: {', '.join(map(repr, missing))}. "
            f"The data have: {have}{' ...' if data.shape[1] > 12 else ''}. Fix the name or add the column.")
