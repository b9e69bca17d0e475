"""Design-time spillover buffer: keep the neighbours of treated units out of the control group.

When treatment spills over onto nearby units, a control unit next to a treated one is not a
clean control. :func:`buffer_zone` marks every untreated unit within the spillover reach of a
treated unit (the last edge of ``spec.spillover.bands_km`` with ``spec.coordinates``, or
``spec.spillover.hops`` on ``spec.neighbors``) as ``buffer``; :func:`apply_buffer` removes those
units from a planned geo design's control cell, lists them in ``tables["buffer"]`` and says in a
diagnostic how much control KPI the buffer costs. At readout, ``spec.spillover.buffer: true``
makes the ``spillover`` estimator drop the same units.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ..result import Diagnostic
from .result import DesignResult

__all__ = ["buffer_zone", "apply_buffer"]


def buffer_zone(units_frame: pd.DataFrame, treated: Any, spec: Any) -> pd.DataFrame:
    """Role of each unit: ``treated``, ``buffer`` (untreated within reach of a treated unit) or ``control``.

    Parameters
    ----------
    units_frame : DataFrame
        One or more rows per unit with ``spec.unit`` (and the ``spec.coordinates`` columns).
    treated : sequence
        The units planned for treatment.
    spec : ExperimentSpec
        With ``spec.coordinates`` or ``spec.neighbors`` and, optionally, ``spec.spillover``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> geo = ck.datasets.load("spillover_sim").drop_duplicates("geo")
    >>> spec = ck.ExperimentSpec(name="b", design="spillover", outcome="y", unit="geo", treatment="treated",
    ...     coordinates=["lat", "lon"], spillover={"bands_km": [15]})
    >>> zone = buffer_zone(geo, ["g0000", "g0001"], spec)
    >>> sorted(zone["role"].unique())
    ['buffer', 'control', 'treated']
    """
    from ..inference.exposure import exposure_rings, read_neighbors, unit_coordinates

    if spec.coordinates is None and spec.neighbors is None:
        raise SpecError("a spillover buffer needs spec.coordinates [lat, lon] or spec.neighbors (an adjacency list).")
    if spec.unit not in units_frame.columns:
        raise DataError(f"column {spec.unit!r} (spec.unit) is not in the frame; it has {list(units_frame.columns)[:10]}.")
    units = np.array(sorted(units_frame[spec.unit].astype(str).unique()))
    frame = units_frame.assign(**{spec.unit: units_frame[spec.unit].astype(str)})
    wanted = {str(u) for u in treated}
    unknown = sorted(wanted - set(units))
    if unknown:
        raise DataError(f"{len(unknown)} treated unit(s) are not in {spec.unit!r} (e.g. {unknown[:5]}).")
    is_treated = np.isin(units, list(wanted))
    cfg = spec.spillover
    if spec.coordinates is not None:
        lat, lon = unit_coordinates(frame, spec.unit, spec.coordinates, units)
        ring, dist = exposure_rings(is_treated, lat=lat, lon=lon, bands_km=cfg.bands_km if cfg else (25.0,))
    else:
        ring, dist = exposure_rings(is_treated, adjacency=read_neighbors(spec.neighbors, units),
                                    hops=cfg.hops if cfg else 1)
    role = np.where(is_treated, "treated", np.where(ring > 0, "buffer", "control"))
    return pd.DataFrame({"unit": units, "role": role, "distance": dist})


def apply_buffer(design: DesignResult, history: pd.DataFrame, spec: Any | None = None) -> DesignResult:
    """A copy of a geo ``design`` whose control cell leaves out the treated units' neighbours.

    Examples
    --------
    >>> import pandas as pd
    >>> import causal_kit as ck
    >>> from types import SimpleNamespace
    >>> geo = ck.datasets.load("spillover_sim").drop_duplicates("geo")
    >>> spec = ck.ExperimentSpec(name="b", design="spillover", outcome="y", unit="geo", treatment="treated",
    ...     coordinates=["lat", "lon"], spillover={"bands_km": [15]})
    >>> a = pd.DataFrame({"unit": geo["geo"], "cell": ["treatment"] * 10 + ["control"] * 110, "kpi": 1.0,
    ...                   "kpi_share": 1 / 120, "cost": 0.0})
    >>> d = ck.design.DesignResult(method="did", spec=spec, spec_hash="", assignment=a, power_curve=pd.DataFrame(),
    ...     duration_table=pd.DataFrame(), estimator_ranking=pd.DataFrame(), mde=0.05, mde_absolute=1.0,
    ...     target_power=0.8, alpha=0.05, recommended_duration=4, type1_error=0.05)
    >>> buffered = apply_buffer(d, geo)
    >>> len(buffered.tables["buffer"]) > 0, len(buffered.assignment) < 120
    (True, True)
    """
    spec = design.spec if spec is None else spec
    a = design.assignment
    treated = a.loc[a["cell"] != "control", "unit"].tolist()
    zone = buffer_zone(history, treated, spec)
    buffered = set(zone.loc[zone["role"] == "buffer", "unit"])
    drop = a["unit"].astype(str).isin(buffered) & (a["cell"] == "control")
    n_control = int((a["cell"] == "control").sum())
    lost = float(a.loc[drop, "kpi_share"].sum())
    left = n_control - int(drop.sum())
    status = "pass" if left >= 5 else "fail"
    diag = Diagnostic(
        "spillover_buffer", status,
        f"{int(drop.sum())} of {n_control} control units lie within spillover reach of a treated unit and are left out "
        f"as a buffer ({lost:.1%} of the KPI); {left} control units remain"
        + ("." if left >= 5 else ": too few controls. Narrow the spillover bands or treat fewer clustered units."),
        statistic=float(drop.sum()), threshold=5.0, assumption="interference")
    tables = {**dict(design.tables), "buffer": zone[zone["role"] == "buffer"].reset_index(drop=True)}
    return replace(design, assignment=a.loc[~drop].reset_index(drop=True), diagnostics=(*design.diagnostics, diag),
                   tables=tables, details={**design.details, "buffer_units": int(drop.sum())})
