"""The experiment calendar: which studies are planned or running, on which units, when.

Two tables in the registry file, created on first use with portable SQL:

* ``calendar_studies``: one row per study (name, owner, first and planned last period,
  status ``planned`` / ``running`` / ``closed``, spec hash, whether overlaps were allowed);
* ``calendar_units``: one row per study and unit (cell and role ``treated`` / ``control`` /
  ``excluded``).

Every operation goes through :meth:`Registry.connect`, so the calendar has the registry's
guarantees: one exclusive file lock per operation and one transaction per write. Adding a
study checks the live studies in its window and inserts it in the same transaction, so two
processes registering colliding assignments at once cannot both succeed: the second is
refused with :class:`~causal_kit.design.conflicts.CalendarConflictError` naming the first
and the units they share.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from ..design.conflicts import (
    CALENDAR_COLUMNS,
    CalendarConflictError,
    as_period,
    find_conflicts,
    live_table,
    period_text,
    raise_on_conflicts,
)
from ..errors import DataError
from . import Registry, RegistryError

__all__ = ["Calendar", "CalendarError", "CalendarConflictError", "STATUSES"]

#: Study statuses; a closed study no longer counts as live.
STATUSES: tuple[str, ...] = ("planned", "running", "closed")

_STUDIES_SQL = (
    "CREATE TABLE IF NOT EXISTS calendar_studies ("
    "name VARCHAR(200) NOT NULL PRIMARY KEY, owner VARCHAR(200), start_period VARCHAR(40) NOT NULL, "
    "end_period VARCHAR(40) NOT NULL, status VARCHAR(20) NOT NULL, spec_hash VARCHAR(100), "
    "allow_overlap BOOLEAN NOT NULL, created_at TIMESTAMP NOT NULL, closed_at TIMESTAMP)"
)
_UNITS_SQL = (
    "CREATE TABLE IF NOT EXISTS calendar_units ("
    "study VARCHAR(200) NOT NULL, unit VARCHAR(200) NOT NULL, cell VARCHAR(100) NOT NULL, "
    "role VARCHAR(20) NOT NULL)"
)
_STUDY_COLUMNS = ("name", "owner", "start_period", "end_period", "status", "spec_hash", "allow_overlap",
                  "created_at", "closed_at")


class CalendarError(RegistryError, DataError):
    """A calendar request that cannot be met: unknown study or units, a taken name, a bad window."""


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _role(cell: str) -> str:
    return "control" if cell == "control" else "excluded" if cell == "excluded" else "treated"


def _unit_rows(units: Mapping[str, Iterable[Any]] | pd.DataFrame) -> list[tuple[str, str, str]]:
    """``(unit, cell, role)`` rows from ``{cell: units}`` or a frame with ``unit`` and ``cell``."""
    if isinstance(units, pd.DataFrame):
        missing = [c for c in ("unit", "cell") if c not in units.columns]
        if missing:
            raise CalendarError(f"the units table lacks column(s) {missing}; give 'unit' and 'cell' columns.")
        pairs = list(zip(units["unit"], units["cell"]))
    else:
        pairs = [(u, cell) for cell, group in units.items() for u in group]
    rows, seen = [], {}
    for unit, cell in pairs:
        u, c = str(unit), str(cell)
        if u in seen and seen[u] != c:
            raise CalendarError(f"unit {u!r} is in two cells ({seen[u]!r} and {c!r}); each unit takes one cell.")
        if u not in seen:
            seen[u] = c
            rows.append((u, c, _role(c)))
    if not any(r[2] == "treated" for r in rows):
        raise CalendarError("the study treats no unit; give at least one unit in a treatment cell.")
    if not any(r[2] == "control" for r in rows):
        raise CalendarError("the study has no control unit; give the units of the 'control' cell.")
    return rows


class Calendar:
    """The experiment calendar stored in a registry file.

    Parameters
    ----------
    registry : Registry, str or Path, optional
        The registry (or its file); :func:`~causal_kit.registry.default_path` when omitted.

    Examples
    --------
    >>> import tempfile
    >>> from causal_kit.registry import Calendar
    >>> cal = Calendar(tempfile.mkdtemp() + "/runs.duckdb")
    >>> cal.add("promo", units={"treatment": ["g1", "g2"], "control": ["g3", "g4"]},
    ...         start="2024-03-01", end="2024-03-28", owner="growth")
    >>> cal.list()[["name", "status", "n_treated", "n_control"]].to_dict("records")
    [{'name': 'promo', 'status': 'planned', 'n_treated': 2, 'n_control': 2}]
    >>> cal.close("promo")
    >>> cal.list()["status"].tolist()
    ['closed']
    """

    def __init__(self, registry: Registry | str | os.PathLike[str] | None = None) -> None:
        self.registry = registry if isinstance(registry, Registry) else Registry(registry)

    def __repr__(self) -> str:
        return f"Calendar({str(self.registry.path)!r})"

    # ------------------------------------------------------------------ storage
    @staticmethod
    def _ensure(con: Any) -> None:
        con.execute(_STUDIES_SQL)
        con.execute(_UNITS_SQL)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame | None:
        with self.registry.connect(create=False) as con:
            if con is None:
                return None
            self._ensure(con)
            return con.execute(sql, list(params)).df()

    # ------------------------------------------------------------------ writes
    def add(
        self,
        name: str,
        *,
        units: Mapping[str, Iterable[Any]] | pd.DataFrame,
        start: Any,
        end: Any,
        owner: str | None = None,
        status: str = "planned",
        allow_overlap: bool = False,
        spec_hash: str | None = None,
        known_units: Iterable[Any] | None = None,
        replace: bool = False,
    ) -> None:
        """Add a planned or running study, refusing it when it collides with a live study.

        Parameters
        ----------
        name : str
            The study's name (``spec.name``); unique in the calendar.
        units : mapping or DataFrame
            ``{cell: units}`` with cells ``treatment`` (``treatment_2``, ...), ``control`` and
            optionally ``excluded``, or a frame with ``unit`` and ``cell`` columns (a design's
            assignment).
        start, end : date or int
            First treated period and planned last period (inclusive).
        owner : str, optional
        status : {"planned", "running"}
        allow_overlap : bool
            Accept sharing units with other live studies in the window (otherwise refused).
        spec_hash : str, optional
        known_units : iterable, optional
            Every unit that exists (e.g. the history's); units outside it are refused.
        replace : bool
            Replace a study of the same name instead of refusing the name.

        Raises
        ------
        CalendarError
            A taken name, an end before the start, unknown units, a bad status.
        CalendarConflictError
            The units collide with a live study in the window (both named, with the units).
        """
        name = str(name).strip()
        if not name:
            raise CalendarError("a calendar study needs a non-empty name (spec.name).")
        if status not in ("planned", "running"):
            raise CalendarError(f"The 'status' parameter of Calendar.add must be 'planned' or 'running'. Got {status!r} instead.")
        s, e = as_period(start), as_period(end)
        if isinstance(s, pd.Timestamp) != isinstance(e, pd.Timestamp):
            raise CalendarError(f"study {name!r}: start {start!r} and end {end!r} must both be dates or both integer periods.")
        if e < s:
            raise CalendarError(
                f"study {name!r}: the planned end {period_text(e)} is before the start {period_text(s)}; "
                "give an end on or after the start."
            )
        rows = _unit_rows(units)
        if known_units is not None:
            known = {str(u) for u in known_units}
            unknown = sorted(u for u, _, _ in rows if u not in known)
            if unknown:
                raise CalendarError(
                    f"study {name!r} names {len(unknown)} unknown unit(s) ({', '.join(unknown[:8])}); "
                    f"the data has {len(known)} units. Fix the ids or add those units to the data."
                )
        with self.registry.connect() as con:
            con.begin()
            try:
                self._ensure(con)
                taken = con.execute("SELECT status FROM calendar_studies WHERE name = ?", [name]).fetchall()
                if taken and not replace:
                    raise CalendarError(
                        f"a study named {name!r} is already in the calendar (status {taken[0][0]}); choose another "
                        "name, close and replace it (replace=True / --replace), or close it first."
                    )
                if taken:
                    con.execute("DELETE FROM calendar_units WHERE study = ?", [name])
                    con.execute("DELETE FROM calendar_studies WHERE name = ?", [name])
                table = live_table(self._units(con))
                roles = {u: role for u, _, role in rows}
                raise_on_conflicts(find_conflicts(table, roles, s, e, name=name), name=name,
                                   allow_overlap=allow_overlap)
                con.execute(
                    f"INSERT INTO calendar_studies ({', '.join(_STUDY_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [name, owner, period_text(s), period_text(e), status, spec_hash, bool(allow_overlap), _now(), None],
                )
                con.executemany("INSERT INTO calendar_units (study, unit, cell, role) VALUES (?, ?, ?, ?)",
                                [[name, u, c, r] for u, c, r in rows])
                con.commit()
            except Exception:
                con.rollback()
                raise

    def register_design(self, design: Any, *, replace: bool = False) -> str:
        """Add a planned :class:`~causal_kit.design.DesignResult` (planned with ``calendar=``); return its name.

        The window is ``details["calendar"]`` (start and the end at the recommended duration),
        the units its assignment, with the geos it excluded as ``excluded``.
        """
        window = (design.details or {}).get("calendar")
        if not window:
            raise CalendarError(
                "this design was planned without the calendar, so it has no window to register; plan it with "
                "calendar=Calendar(...) (or causal-kit design --register)."
            )
        spec = design.spec
        frame = design.assignment.loc[:, ["unit", "cell"]]
        planned = {str(u) for u in frame["unit"]}
        dropped = [*design.details.get("excluded", []), *window.get("excluded_for_calendar", [])]
        excluded = [u for u in dict.fromkeys(str(u) for u in dropped) if u not in planned]
        if excluded:
            frame = pd.concat([frame, pd.DataFrame({"unit": excluded, "cell": "excluded"})], ignore_index=True)
        owner = spec.report.owner if spec.report is not None else None
        self.add(spec.name, units=frame, start=window["start"], end=window["end"], owner=owner,
                 allow_overlap=bool(spec.plan.allow_overlap) if spec.plan is not None else False,
                 spec_hash=design.spec_hash, replace=replace)
        return spec.name

    def start(self, name: str) -> None:
        """Mark planned study ``name`` running (its treatment has begun).

        Raises :class:`CalendarError` for a study that is not in the calendar or is closed.
        """
        with self.registry.connect() as con:
            con.begin()
            try:
                self._ensure(con)
                row = con.execute("SELECT status FROM calendar_studies WHERE name = ?", [str(name)]).fetchone()
                if row is None:
                    raise CalendarError(f"no study named {name!r} in the calendar {str(self.registry.path)!r}.")
                if row[0] == "closed":
                    raise CalendarError(f"study {name!r} is closed; book it again (replace=True) to run it.")
                con.execute("UPDATE calendar_studies SET status = ? WHERE name = ?", ["running", str(name)])
                con.commit()
            except Exception:
                con.rollback()
                raise

    def close(self, name: str, *, end: Any = None) -> None:
        """Mark study ``name`` closed (optionally with its actual last period); it stops counting as live.

        Raises :class:`CalendarError` for a study that is not in the calendar.
        """
        with self.registry.connect() as con:
            con.begin()
            try:
                self._ensure(con)
                row = con.execute("SELECT start_period FROM calendar_studies WHERE name = ?", [str(name)]).fetchone()
                if row is None:
                    known = [r[0] for r in con.execute("SELECT name FROM calendar_studies ORDER BY name").fetchall()]
                    raise CalendarError(
                        f"no study named {name!r} in the calendar {str(self.registry.path)!r}; it holds "
                        f"{len(known)} studies" + (f" ({', '.join(known[:8])})." if known else ".")
                    )
                params: list[Any] = ["closed", _now()]
                sql = "UPDATE calendar_studies SET status = ?, closed_at = ?"
                if end is not None:
                    e = as_period(end)
                    if e < as_period(row[0]):
                        raise CalendarError(f"study {name!r}: the end {period_text(e)} is before its start {row[0]}.")
                    sql += ", end_period = ?"
                    params.append(period_text(e))
                con.execute(sql + " WHERE name = ?", [*params, str(name)])
                con.commit()
            except Exception:
                con.rollback()
                raise

    # ------------------------------------------------------------------ reads
    @staticmethod
    def _units(con: Any) -> pd.DataFrame:
        return con.execute(
            "SELECT u.study, u.unit, u.cell, u.role, s.start_period AS start, s.end_period AS \"end\", "
            "s.status, s.owner FROM calendar_units u JOIN calendar_studies s ON u.study = s.name "
            "ORDER BY s.start_period, u.study, u.cell, u.unit"
        ).df()

    def units_table(self, *, include_closed: bool = False) -> pd.DataFrame:
        """One row per study and unit (``study, unit, cell, role, start, end, status, owner``).

        This is the plain table :func:`causal_kit.design.plan` and the readout's contamination
        check take; closed studies are left out unless ``include_closed``.
        """
        with self.registry.connect(create=False) as con:
            if con is None:
                return pd.DataFrame(columns=[*CALENDAR_COLUMNS, "status", "owner"])
            self._ensure(con)
            table = self._units(con)
        return table if include_closed else table[table["status"] != "closed"].reset_index(drop=True)

    def list(self, *, status: str | None = None) -> pd.DataFrame:
        """One row per study: name, owner, start, end, status, units per role and cells, oldest start first."""
        frame = self._read(
            "SELECT s.name, s.owner, s.start_period AS start, s.end_period AS \"end\", s.status, s.spec_hash, "
            "s.allow_overlap, s.created_at, s.closed_at, "
            "SUM(CASE WHEN u.role = 'treated' THEN 1 ELSE 0 END) AS n_treated, "
            "SUM(CASE WHEN u.role = 'control' THEN 1 ELSE 0 END) AS n_control, "
            "SUM(CASE WHEN u.role = 'excluded' THEN 1 ELSE 0 END) AS n_excluded, "
            "COUNT(DISTINCT CASE WHEN u.role = 'treated' THEN u.cell END) AS n_cells "
            "FROM calendar_studies s LEFT JOIN calendar_units u ON u.study = s.name "
            "GROUP BY s.name, s.owner, s.start_period, s.end_period, s.status, s.spec_hash, s.allow_overlap, "
            "s.created_at, s.closed_at ORDER BY s.start_period, s.name"
        )
        if frame is None:
            frame = pd.DataFrame(columns=["name", "owner", "start", "end", "status", "spec_hash", "allow_overlap",
                                          "created_at", "closed_at", "n_treated", "n_control", "n_excluded", "n_cells"])
        for col in ("n_treated", "n_control", "n_excluded", "n_cells"):
            frame[col] = frame[col].fillna(0).astype(int)
        if len(frame):  # chronological, not text order ("9" before "10"); integer periods before dates
            key = [(isinstance(p, pd.Timestamp), p.value if isinstance(p, pd.Timestamp) else p)
                   for p in frame["start"].map(as_period)]
            frame = frame.iloc[sorted(range(len(frame)), key=lambda i: (key[i], str(frame["name"].iloc[i])))]
        if status is not None:
            if status not in STATUSES:
                raise CalendarError(f"The 'status' parameter of Calendar.list must be one of {list(STATUSES)}. "
                                    f"Got {status!r} instead.")
            frame = frame[frame["status"] == status]
        return frame.reset_index(drop=True)

    def show(self, name: str) -> dict[str, Any]:
        """Study ``name``: its calendar row and its units per cell (``{"study": {...}, "units": {cell: [...]}}``)."""
        studies = self.list()
        row = studies[studies["name"] == str(name)]
        if row.empty:
            raise CalendarError(
                f"no study named {name!r} in the calendar {str(self.registry.path)!r}; it holds {len(studies)} "
                "studies" + (f" ({', '.join(studies['name'].astype(str).tolist()[:8])})." if len(studies) else ".")
            )
        units = self.units_table(include_closed=True)
        units = units[units["study"] == str(name)]
        cells = {str(c): sorted(g["unit"].astype(str)) for c, g in units.groupby("cell", sort=True)}
        return {"study": row.iloc[0].to_dict(), "units": cells}
