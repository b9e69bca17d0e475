"""The results registry: an embedded DuckDB file (or a shared PostgreSQL database) recording
every estimate and design run.

Scheduled readouts append one row per method and run (run id, spec and its hash, data
fingerprint, numbers, diagnostic statuses, lineage and report path); :func:`history`
and :func:`latest` read them back as DataFrames and :func:`export` writes them out.

The file lives at ``~/.causal_kit/registry.duckdb`` unless ``CAUSAL_KIT_REGISTRY`` or an
explicit path says otherwise. DuckDB allows one writing process per file, so every
operation takes an exclusive lock on ``<file>.lock`` (``fcntl``), opens the database,
runs one short transaction and closes it again; a process that finds the file busy
retries with exponential backoff. A write that fails is rolled back, so the registry is
never left half-written. The layout is versioned in the ``schema_version`` table and
older files are migrated on open, one function per version step (:data:`MIGRATIONS`).

Teams whose schedulers run on several hosts set ``CAUSAL_KIT_REGISTRY`` (or pass
``Registry(url)``) to ``postgresql://user:password@host:5432/db``: the same tables and
migrations, with the server's transactions instead of the file lock (see
:mod:`causal_kit.registry._postgres`). Code on top of the registry (the calendar) uses
:meth:`Registry.connect` and standard SQL with ``?`` placeholders, which both backends run.
Passwords are masked wherever the location is shown or stored.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from .._parallel import mask_url
from ..errors import CausalKitError, DataError
from ._postgres import RegistryConnectionError, clean_error, is_postgres_url
from ._postgres import connect as _connect_postgres
from ._rows import _design_row, _estimate_row, _insert, _now, _num

if TYPE_CHECKING:
    import duckdb

    from ..result import EffectEstimate
    from ..spec import ExperimentSpec

__all__ = [
    "Registry",
    "RegistryError",
    "RegistryPathError",
    "SCHEMA_VERSION",
    "MIGRATIONS",
    "COLUMNS",
    "default_path",
    "RegistryConnectionError",
    "record",
    "record_design",
    "history",
    "latest",
    "export",
]

#: The layout this version of causal_kit writes.
SCHEMA_VERSION = 4

#: Columns of the ``runs`` table at :data:`SCHEMA_VERSION`, with their SQL types (DuckDB and PostgreSQL).
COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR NOT NULL",
    "timestamp": "TIMESTAMP NOT NULL",
    "kind": "VARCHAR NOT NULL",
    "name": "VARCHAR NOT NULL",
    "design": "VARCHAR",
    "method": "VARCHAR NOT NULL",
    "estimand": "VARCHAR",
    "estimate": "DOUBLE PRECISION",
    "se": "DOUBLE PRECISION",
    "ci_low": "DOUBLE PRECISION",
    "ci_high": "DOUBLE PRECISION",
    "p_value": "DOUBLE PRECISION",
    "alpha": "DOUBLE PRECISION",
    "n_obs": "BIGINT",
    "n_units": "BIGINT",
    "worst_status": "VARCHAR",
    "diagnostics": "VARCHAR",
    "spec": "VARCHAR",
    "spec_hash": "VARCHAR",
    "data_fingerprint": "VARCHAR",
    "lineage": "VARCHAR",
    "report_path": "VARCHAR",
    "source": "VARCHAR",
    "details": "VARCHAR",
    "look": "INTEGER",
    "look_key": "VARCHAR",
    "decision": "VARCHAR",
    "data_end": "VARCHAR",
}

_LOCK_TIMEOUT = 60.0


class RegistryError(CausalKitError):
    """The registry file cannot be opened, locked, migrated or written."""


class RegistryPathError(RegistryError, DataError):
    """The registry path is a folder, or a file that is not a DuckDB database (the user's to fix)."""


def default_path() -> Path:
    """The registry file: ``$CAUSAL_KIT_REGISTRY`` or ``~/.causal_kit/registry.duckdb``.

    A PostgreSQL URL in ``$CAUSAL_KIT_REGISTRY`` is read by :class:`Registry` directly.
    """
    env = os.environ.get("CAUSAL_KIT_REGISTRY")
    if env and not is_postgres_url(env):
        return Path(env).expanduser()
    return Path.home() / ".causal_kit" / "registry.duckdb"


# ---------------------------------------------------------------------- migrations
def _migrate_0_to_1(con: duckdb.DuckDBPyConnection) -> None:
    """v0 (a bare ``runs`` table) -> v1: version table, fingerprint, diagnostics, lineage."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP)")
    for col in ("data_fingerprint", "worst_status", "diagnostics", "spec", "lineage", "report_path"):
        con.execute(f'ALTER TABLE runs ADD COLUMN IF NOT EXISTS "{col}" VARCHAR')


def _migrate_1_to_2(con: duckdb.DuckDBPyConnection) -> None:
    """v1 -> v2: run kind (estimate / design), design, estimand, alpha, sizes, data source, details."""
    con.execute("ALTER TABLE runs ADD COLUMN IF NOT EXISTS kind VARCHAR DEFAULT 'estimate'")
    con.execute("UPDATE runs SET kind = 'estimate' WHERE kind IS NULL")
    for col, typ in (("design", "VARCHAR"), ("estimand", "VARCHAR"), ("alpha", "DOUBLE PRECISION"),
                     ("n_obs", "BIGINT"), ("n_units", "BIGINT"), ("source", "VARCHAR"), ("details", "VARCHAR")):
        con.execute(f'ALTER TABLE runs ADD COLUMN IF NOT EXISTS "{col}" {typ}')


def _migrate_2_to_3(con: duckdb.DuckDBPyConnection) -> None:
    """v2 -> v3: sequential look bookkeeping (look number, look key, decision)."""
    for col, typ in (("look", "INTEGER"), ("look_key", "VARCHAR"), ("decision", "VARCHAR")):
        con.execute(f'ALTER TABLE runs ADD COLUMN IF NOT EXISTS "{col}" {typ}')


def _migrate_3_to_4(con: duckdb.DuckDBPyConnection) -> None:
    """v3 -> v4: the last period of the data each run read (the history report's x-axis)."""
    con.execute('ALTER TABLE runs ADD COLUMN IF NOT EXISTS "data_end" VARCHAR')


#: ``from_version -> function`` upgrading a file by one step, inside one transaction.
MIGRATIONS: dict[int, Callable[[Any], None]] = {
    0: _migrate_0_to_1, 1: _migrate_1_to_2, 2: _migrate_2_to_3, 3: _migrate_3_to_4,
}


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    ).fetchall()
    return {r[0] for r in rows}


def _version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The file's schema version; ``None`` for an empty file, 0 for the unversioned layout."""
    tables = _tables(con)
    if "schema_version" in tables:
        value = con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
        return int(value) if value is not None else 0
    if "runs" in tables:
        return 0
    return None


def _ensure_schema(con: duckdb.DuckDBPyConnection, path: Path | str) -> None:
    version = _version(con)
    if version == SCHEMA_VERSION:
        return
    _check_not_newer(version, path)
    con.begin()
    try:
        if hasattr(con, "lock_schema"):  # a shared server: one host creates or migrates, the others wait
            con.lock_schema()
            version = _version(con)
            _check_not_newer(version, path)
            if version == SCHEMA_VERSION:
                con.commit()
                return
        if version is None:
            cols = ", ".join(f'"{c}" {t}' for c, t in COLUMNS.items())
            con.execute(f"CREATE TABLE runs ({cols})")
            con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP)")
            steps: list[int] = []
        else:
            steps = list(range(version, SCHEMA_VERSION))
        for step in steps:
            MIGRATIONS[step](con)
        con.execute("INSERT INTO schema_version VALUES (?, ?)", [SCHEMA_VERSION, _now()])
        con.commit()
    except Exception:
        con.rollback()
        raise


def _check_not_newer(version: int | None, path: Path | str) -> None:
    if version is not None and version > SCHEMA_VERSION:
        raise RegistryError(
            f"the registry {str(path)!r} has schema version {version}, newer than this causal_kit "
            f"understands ({SCHEMA_VERSION}); upgrade causal_kit."
        )


# ---------------------------------------------------------------------- locking
@contextlib.contextmanager
def _file_lock(path: Path, timeout: float) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # no fcntl (Windows): rely on DuckDB's own lock and the retry loop
        yield
        return
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RegistryError(
                        f"the registry {str(path)!r} stayed locked for {timeout:.0f} s; another "
                        f"process holds {str(lock_path)!r}."
                    ) from None
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.05)  # locks are held for milliseconds: poll often
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _connect(path: Path, timeout: float) -> duckdb.DuckDBPyConnection:
    """Open the file, retrying while a process outside causal_kit holds DuckDB's own lock."""
    import duckdb

    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise RegistryError(f"cannot open the registry {str(path)!r}: {exc}") from None
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.5)
        except duckdb.Error as exc:
            raise RegistryError(f"cannot open the registry {str(path)!r}: {exc}") from None


# ---------------------------------------------------------------------- the registry
class Registry:
    """A results registry stored in one DuckDB file or a shared PostgreSQL database.

    Parameters
    ----------
    path : str or Path, optional
        The DuckDB file, or a ``postgresql://user:password@host:5432/db`` URL; default
        ``$CAUSAL_KIT_REGISTRY``, else ``~/.causal_kit/registry.duckdb``. Created on first write.
    timeout : float
        Seconds to wait for the file lock (DuckDB) or the server (PostgreSQL, at most 8 s)
        before raising :class:`RegistryError`.

    Examples
    --------
    >>> import tempfile, causal_kit as ck
    >>> from causal_kit.registry import Registry
    >>> reg = Registry(tempfile.mkdtemp() + "/runs.duckdb")
    >>> spec = ck.ExperimentSpec(name="cuped", design="ab", outcome="y", treatment="treat")
    >>> run_id = reg.record(ck.estimate(ck.datasets.load("ab_cuped_sim"), spec), spec=spec)
    >>> len(reg.history("cuped"))
    1
    >>> Registry("postgresql://ana:s3cret@db.example/ck").location
    'postgresql://ana:***@db.example/ck'
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = _LOCK_TIMEOUT) -> None:
        if path is None and is_postgres_url(os.environ.get("CAUSAL_KIT_REGISTRY")):
            path = os.environ["CAUSAL_KIT_REGISTRY"]
        self.url: str | None = str(path) if is_postgres_url(path) else None
        self.path: Path | None = None
        if self.url is None:
            self.path = Path(path).expanduser() if path is not None else default_path()
        self.timeout = timeout

    @property
    def backend(self) -> str:
        """``"duckdb"`` or ``"postgres"``."""
        return "postgres" if self.url is not None else "duckdb"

    @property
    def location(self) -> str:
        """Where the registry lives, for messages: the file, or the URL with its password masked."""
        return mask_url(self.url) if self.url is not None else str(self.path)

    def __repr__(self) -> str:
        return f"Registry({self.location!r})"

    def check_path(self) -> None:
        """Raise :class:`RegistryPathError` when the path is a folder or a file that is not DuckDB.

        A missing file is fine (it is created on the first write). The check reads only the
        file header, so it is cheap enough to run before a long estimate. A PostgreSQL
        registry is checked when it is first opened.
        """
        if self.path is None:
            return
        if self.path.is_dir():
            raise RegistryPathError(
                f"the registry path {str(self.path)!r} is a directory; give a file such as "
                f"{str(self.path / 'registry.duckdb')!r} (--registry or $CAUSAL_KIT_REGISTRY)."
            )
        if not self.path.exists():
            return
        try:
            with open(self.path, "rb") as handle:
                header = handle.read(12)
        except OSError as exc:
            raise RegistryPathError(f"the registry {str(self.path)!r} cannot be read: {exc.strerror or exc}.") from None
        if len(header) and header[8:12] != b"DUCK":
            raise RegistryPathError(
                f"the registry path {str(self.path)!r} is not a DuckDB database file; point --registry "
                "(or $CAUSAL_KIT_REGISTRY) at a new or existing registry file."
            )

    @contextlib.contextmanager
    def connect(self, *, create: bool = True) -> Iterator[Any]:
        """Open the registry (migrating an older layout) and close it again on exit.

        DuckDB: the file is locked for the duration. PostgreSQL: one server connection; use
        ``con.begin()`` / ``con.commit()`` for a transaction. Both take standard SQL with ``?``
        placeholders and return rows through ``.fetchone()``, ``.fetchall()`` or ``.df()``.
        Yields ``None`` when the registry does not exist yet and ``create`` is false.
        """
        if self.url is not None:
            con = _connect_postgres(self.url, timeout=self.timeout)
            try:
                if not create and _version(con) is None:
                    yield None
                    return
                _ensure_schema(con, self.location)
                yield con
            finally:
                con.close()
            return
        assert self.path is not None
        if not self.path.exists() and not create:
            yield None
            return
        self.check_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.path, self.timeout):
            con = _connect(self.path, self.timeout)
            try:
                _ensure_schema(con, self.path)
                yield con
            finally:
                con.close()

    # ------------------------------------------------------------------ writes
    def _append(self, rows: list[dict[str, Any]]) -> None:
        with self.connect() as con:
            if con is None:  # pragma: no cover - create=True always yields a connection
                raise RegistryError(f"cannot open the registry {self.location!r}")
            con.begin()
            try:
                for row in rows:
                    _insert(con, row)
                con.commit()
            except Exception as exc:
                con.rollback()
                if isinstance(exc, CausalKitError):
                    raise
                detail = clean_error(exc, self.url) if self.url else str(exc)
                raise RegistryError(f"could not write to the registry {self.location!r}: {detail}") from None

    def record(
        self,
        results: EffectEstimate | Sequence[EffectEstimate],
        *,
        spec: ExperimentSpec | None = None,
        report_path: str | os.PathLike[str] | None = None,
        name: str | None = None,
        run_id: str | None = None,
        source: str | None = None,
    ) -> str:
        """Append one run (one row per result) in a single transaction; return its run id.

        Parameters
        ----------
        results : EffectEstimate or sequence of them
            One result, or the robustness list from ``spec.estimators``.
        spec : ExperimentSpec, optional
            The spec; defaults to the one stored in each result's lineage.
        report_path : path, optional
            Where the HTML report of this run was written.
        name : str, optional
            Study name; defaults to ``spec.name``.
        run_id : str, optional
            Defaults to a new random id.
        source : str, optional
            Where the data came from (file, URL or query), for the audit trail.
        """
        items = [results] if not isinstance(results, Sequence) else list(results)
        run_id = run_id or uuid.uuid4().hex[:16]
        common = {
            "run_id": run_id,
            "timestamp": _now(),
            "name": name or (spec.name if spec is not None else None),
            "report_path": str(Path(report_path).resolve()) if report_path else None,
            "source": mask_url(source) if source else source,  # a data URL's password stays out of the registry
        }
        self._append([_estimate_row(r, spec, **common) for r in items])
        return run_id

    def record_design(
        self,
        design: Any,
        *,
        spec: ExperimentSpec | None = None,
        report_path: str | os.PathLike[str] | None = None,
        name: str | None = None,
        run_id: str | None = None,
        source: str | None = None,
    ) -> str:
        """Append a design run (its scalar results go to ``details``); return its run id."""
        run_id = run_id or uuid.uuid4().hex[:16]
        common = {
            "run_id": run_id,
            "timestamp": _now(),
            "name": name or (spec.name if spec is not None else None),
            "report_path": str(Path(report_path).resolve()) if report_path else None,
            "source": mask_url(source) if source else source,
        }
        self._append([_design_row(design, spec, **common)])
        return run_id

    def record_movement(self, analysis: Any, *, report_path: str | os.PathLike[str] | None = None,
                        run_id: str | None = None, source: str | None = None) -> str:
        """Append a metric-movement run (``kind="movement"``): one row per decomposition, with the
        change as ``estimate`` and the components in ``details``; return its run id."""
        run_id = run_id or uuid.uuid4().hex[:16]
        spec = analysis.spec
        common = {"run_id": run_id, "timestamp": _now(), "name": spec.name, "source": mask_url(source) if source else source,
                  "report_path": str(Path(report_path).resolve()) if report_path else None}
        spec_text = yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True), sort_keys=False)
        rows = [{**common, "kind": "movement", "method": d.method, "estimate": _num(d.change), "alpha": _num(d.alpha),
                 "spec": spec_text, "details": json.dumps(d.to_dict()["components"], default=str)}
                for d in analysis.decompositions]
        self._append(rows)
        return run_id

    # ------------------------------------------------------------------ reads
    def _query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        with self.connect(create=False) as con:
            if con is None:
                return pd.DataFrame({c: pd.Series(dtype=_pandas_type(t)) for c, t in COLUMNS.items()})
            frame = con.execute(sql, list(params)).df()
        if self.url is not None:  # psycopg rows: give the columns DuckDB's dtypes
            frame = frame.astype({c: _duckdb_dtype(t, frame[c]) for c, t in COLUMNS.items() if c in frame.columns})
        return frame

    def history(self, name: str, *, kind: str | None = "estimate") -> pd.DataFrame:
        """Every run of study ``name``, oldest first (one row per method and run).

        Columns are :data:`COLUMNS`; ``timestamp`` is in UTC.

        ``kind="design"`` lists design runs instead, ``kind=None`` both.
        """
        where = "name = ?" + (" AND kind = ?" if kind else "")
        params = [name] + ([kind] if kind else [])
        return self._query(f"SELECT * FROM runs WHERE {where} ORDER BY timestamp, run_id, method", params)

    def latest(self, name: str | None = None) -> pd.DataFrame:
        """The rows of the most recent run of each study (or of study ``name``)."""
        where, params = ("WHERE name = ?", [name]) if name else ("", [])
        sql = (  # standard SQL (a window function), so that DuckDB and PostgreSQL both run it
            "WITH ranked AS (SELECT name, run_id, ROW_NUMBER() OVER "
            f"(PARTITION BY name ORDER BY timestamp DESC, run_id DESC) AS rank FROM runs {where}), "
            "last AS (SELECT name, run_id FROM ranked WHERE rank = 1) "
            "SELECT runs.* FROM runs JOIN last USING (name, run_id) ORDER BY runs.name, runs.method"
        )
        return self._query(sql, params)

    def runs(self) -> pd.DataFrame:
        """Every row of the registry, oldest first."""
        return self._query("SELECT * FROM runs ORDER BY timestamp, run_id, method")

    def run_rows(self) -> list[dict[str, Any]]:
        """:meth:`runs` as plain dicts (column -> value, ``None`` where missing), without a DataFrame:
        bulk exports of many runs read them several times faster."""
        cols = list(COLUMNS)
        with self.connect(create=False) as con:
            if con is None:
                return []
            rows = con.execute(f"SELECT {', '.join(cols)} FROM runs ORDER BY timestamp, run_id, method").fetchall()
        return [dict(zip(cols, row)) for row in rows]

    def prior_looks(self, name: str, *, method: str | None = None) -> list[dict[str, Any]]:
        """Earlier looks of sequential study ``name``, oldest first, for ``ABTest(prior_looks=...)``.

        One entry per look (a re-run of a look keeps its latest row), each with ``look``, ``key``,
        ``n_obs``, ``estimate``, ``ci_low``, ``ci_high``, ``p_value``, ``boundary_z`` and ``decision``.
        """
        runs = self.history(name)
        if runs.empty:
            return []
        runs = runs[runs["look"].notna()]
        if method is not None:
            runs = runs[runs["method"] == method]
        looks: dict[str, dict[str, Any]] = {}
        for row in runs.itertuples(index=False):
            seq = json.loads(row.details or "{}").get("sequential", {})
            looks[str(row.look_key)] = {
                "look": int(row.look), "key": seq.get("look_key", row.look_key), "n_obs": int(row.n_obs),
                "estimate": row.estimate, "ci_low": row.ci_low, "ci_high": row.ci_high, "p_value": row.p_value,
                "boundary_z": seq.get("boundary_z"), "decision": row.decision,
            }
        return list(looks.values())

    def schema_version(self) -> int | None:
        """The file's schema version (after migration), or ``None`` when it does not exist."""
        with self.connect(create=False) as con:
            return None if con is None else _version(con)

    def export(self, path: str | os.PathLike[str], format: str = "parquet") -> Path:
        """Write every run to ``path`` as ``parquet``, ``csv`` or ``json`` (records); return the path."""
        if format not in ("parquet", "csv", "json"):
            raise RegistryError(
                f"The 'format' parameter of export must be one of 'parquet', 'csv', 'json'. Got {format!r} instead."
            )
        frame = self.runs()
        out = Path(path).expanduser()
        out.parent.mkdir(parents=True, exist_ok=True)
        if format == "parquet":
            frame.to_parquet(out, index=False)
        elif format == "csv":
            frame.to_csv(out, index=False)
        else:
            frame.to_json(out, orient="records", date_format="iso", indent=1)
        return out


def _pandas_type(duck_type: str) -> str:
    base = duck_type.split()[0]
    return {"DOUBLE": "float64", "BIGINT": "Int64", "INTEGER": "Int64", "TIMESTAMP": "datetime64[ns]"}.get(base, "object")


def _duckdb_dtype(sql_type: str, values: pd.Series) -> str:
    """The pandas dtype DuckDB's ``.df()`` gives ``values`` of ``sql_type`` (PostgreSQL rows get the
    same): nullable integers only when a value is missing, text as ``str`` unless all missing."""
    base = sql_type.split()[0]
    missing = values.isna()
    if base in ("BIGINT", "INTEGER"):
        bits = "64" if base == "BIGINT" else "32"
        return f"Int{bits}" if missing.any() else f"int{bits}"
    if base == "VARCHAR":
        return "object" if missing.all() else "str"
    return {"DOUBLE": "float64", "TIMESTAMP": "datetime64[us]"}.get(base, "object")


# ---------------------------------------------------------------------- module helpers
def record(results: Any, *, spec: ExperimentSpec | None = None, path: str | os.PathLike[str] | None = None,
           report_path: str | os.PathLike[str] | None = None) -> str:
    """Append a run to the registry at ``path`` (default :func:`default_path`); return its id."""
    return Registry(path).record(results, spec=spec, report_path=report_path)


def record_design(design: Any, *, spec: ExperimentSpec | None = None, path: str | os.PathLike[str] | None = None,
                  report_path: str | os.PathLike[str] | None = None) -> str:
    """Append a design run to the registry at ``path``; return its id."""
    return Registry(path).record_design(design, spec=spec, report_path=report_path)


def history(name: str, *, path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Every estimate run of study ``name``, oldest first, from the registry at ``path``."""
    return Registry(path).history(name)


def latest(name: str | None = None, *, path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The most recent run of each study (or of ``name``) from the registry at ``path``."""
    return Registry(path).latest(name)


def export(out: str | os.PathLike[str], format: str = "parquet", *, path: str | os.PathLike[str] | None = None) -> Path:
    """Export the registry at ``path`` to ``out`` (``parquet``, ``csv`` or ``json``)."""
    return Registry(path).export(out, format=format)


# the experiment calendar lives in its own module and uses Registry.connect
from .calendar import Calendar, CalendarConflictError, CalendarError  # noqa: E402

__all__ += ["Calendar", "CalendarError", "CalendarConflictError"]
