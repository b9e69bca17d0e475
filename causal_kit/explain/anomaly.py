"""Which segments moved unusually? Robust, seasonal z-scores of each segment against its own history.

For each segment the latest value is compared with the median of its earlier values in the
same seasonal phase (e.g. week of year, day of week; all earlier values without a season).
The scale comes from the earlier values' own out-of-sample residuals (each against the
median of the other periods of its phase) through the scaled median absolute deviation
(``1.4826 * MAD``): a robust z-score that one past outlier cannot inflate.
Segments are ranked by ``|z|``; those above ``threshold`` are flagged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ._errors import check_columns

__all__ = ["flag_anomalies"]


def _leave_one_out_residuals(y: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Each value minus the median of the other values of its phase (phases seen once are skipped)."""
    out = []
    for p in np.unique(phase):
        vals = y[phase == p]
        if len(vals) > 1:
            out += [vals[i] - np.median(np.delete(vals, i)) for i in range(len(vals))]
    return np.asarray(out)


def flag_anomalies(history: pd.DataFrame, *, segment: str, time: str, metric: str, season: int | None = None,
                   threshold: float = 3.5, latest: object = None, min_history: int = 8) -> pd.DataFrame:
    """Robust seasonal z-score of each segment's latest value, ranked (candidate drivers first).

    Parameters
    ----------
    history : DataFrame
        One row per segment and period; not modified.
    segment, time, metric : str
        Segment, period (sortable) and metric columns.
    season : int, optional
        Season length in periods (52 for weekly data with a yearly cycle, 7 for daily data with a
        weekly cycle). Needs at least two full seasons of history; ``None`` for no seasonality.
    threshold : float, default 3.5
        ``|z|`` above which a segment is flagged (3.5 is Iglewicz and Hoaglin's rule for
        modified z-scores).
    latest : optional
        The period scored; default the last one.
    min_history : int, default 8
        Fewest earlier periods a segment needs to be scored.

    Returns
    -------
    DataFrame
        ``segment``, ``latest``, ``expected`` (seasonal median baseline), ``deviation``,
        ``robust_z``, ``flagged``, ``rank`` -- sorted by ``|robust_z|``.

    Examples
    --------
    >>> from causal_kit.explain import flag_anomalies, simulate_kpi_history
    >>> h = simulate_kpi_history(110, stations=8, seed=0)
    >>> table = flag_anomalies(h, segment="station", time="week", metric="on_time_rate", season=52)
    >>> table.iloc[0]["segment"]
    'S3'
    """
    check_columns(history, [segment, time, metric], role="flag_anomalies")
    if not pd.api.types.is_numeric_dtype(history[metric]):
        raise DataError(f"column {metric!r} must be numeric; it is {history[metric].dtype}.")
    if season is not None and season < 2:
        raise SpecError(f"The 'season' parameter of flag_anomalies must be an int >= 2 or None. Got {season!r}.")
    dup = int(history.duplicated([segment, time]).sum())
    if dup:
        raise DataError(f"history has {dup} duplicated ({segment!r}, {time!r}) rows; keep one row per segment and "
                        "period (aggregate first).")
    nan = int(history[metric].isna().sum())
    if nan:
        raise DataError(f"column {metric!r} has {nan} missing values; fill or drop them before scoring.")
    if history.empty:
        raise DataError("history is empty; pass one row per segment and period.")
    periods = np.sort(history[time].unique())
    last = periods[-1] if latest is None else latest
    if last not in set(periods):
        raise DataError(f"latest period {last!r} is not in column {time!r}.")
    order = {p: i for i, p in enumerate(periods)}
    rows = []
    for seg, part in history.groupby(segment, sort=True):
        part = part.sort_values(time)
        idx = part[time].map(order).to_numpy()
        y = part[metric].to_numpy(dtype=float)
        past = idx < order[last]
        now = idx == order[last]
        if not now.any() or past.sum() < min_history:
            continue
        value = float(y[now][0])
        yp = y[past]
        if season is not None:
            if past.sum() < 2 * season:
                raise DataError(f"segment {seg!r} has {int(past.sum())} earlier periods; season={season} needs at "
                                f"least {2 * season}. Pass season=None or more history.")
            phase = idx[past] % season
            same = yp[phase == idx[now][0] % season]
            base = float(np.median(same)) if len(same) else float(np.median(yp))
            # past residuals against the median of the *other* periods of the same phase, so that the
            # scale is not shrunk by fitting each point to itself (the latest point is out of sample too)
            resid = _leave_one_out_residuals(yp, phase)
        else:
            base = float(np.median(yp))
            resid = yp - base
        centre = float(np.median(resid))
        scale = 1.4826 * float(np.median(np.abs(resid - centre)))
        expected = base + centre
        z = (value - expected) / scale if scale > 0 else (0.0 if value == expected else np.inf * np.sign(value - expected))
        rows.append({"segment": seg, "latest": value, "expected": expected, "deviation": value - expected,
                     "robust_z": z})
    if not rows:
        raise DataError(f"no segment has {min_history} earlier periods and a value in period {last!r}; add history "
                        "or lower min_history.")
    out = pd.DataFrame(rows)
    out["flagged"] = out["robust_z"].abs() > threshold
    out = out.sort_values("robust_z", key=np.abs, ascending=False, ignore_index=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out
