"""The results registry: an embedded DuckDB file recording every estimate and design run.

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
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from ..errors import CausalKitError, DataError

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
    "record",
    "record_design",
    "history",
    "latest",
    "export",
]

#: The layout this version of causal_kit writes.
SCHEMA_VERSION = 4

#: Columns of the ``runs`` table at :data:`SCHEMA_VERSION`, with their DuckDB types.
COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR NOT NULL",
    "timestamp": "TIMESTAMP NOT NULL",
    "kind": "VARCHAR NOT NULL",
    "name": "VARCHAR NOT NULL",
    "design": "VARCHAR",
    "method": "VARCHAR NOT NULL",
    "estimand": "VARCHAR",
    "estimate": "DOUBLE",
    "se": "DOUBLE",
    "ci_low": "DOUBLE",
    "ci_high": "DOUBLE",
    "p_value": "DOUBLE",
    "alpha": "DOUBLE",
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
    """The registry file: ``$CAUSAL_KIT_REGISTRY`` or ``~/.causal_kit/registry.duckdb``."""
    env = os.environ.get("CAUSAL_KIT_REGISTRY")
    if env:
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
    for col, typ in (("design", "VARCHAR"), ("estimand", "VARCHAR"), ("alpha", "DOUBLE"),
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
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()
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


def _ensure_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    version = _version(con)
    if version == SCHEMA_VERSION:
        return
    if version is not None and version > SCHEMA_VERSION:
        raise RegistryError(
            f"the registry {str(path)!r} has schema version {version}, newer than this causal_kit "
            f"understands ({SCHEMA_VERSION}); upgrade causal_kit."
        )
    con.begin()
    try:
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


# ---------------------------------------------------------------------- rows
def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _spec_yaml(spec: ExperimentSpec | dict[str, Any] | None) -> str | None:
    if spec is None:
        return None
    if isinstance(spec, dict):
        return yaml.safe_dump(spec, sort_keys=False) if spec else None
    return spec.to_yaml()


def _estimate_row(result: EffectEstimate, spec: ExperimentSpec | None, **common: Any) -> dict[str, Any]:
    lineage = result.lineage
    return {
        **common,
        "kind": "estimate",
        "name": common["name"] or (lineage.spec.get("name") if lineage else None) or result.method,
        "design": result.design or None,
        "method": result.method,
        "estimand": result.estimand,
        "estimate": _num(result.estimate),
        "se": _num(result.se),
        "ci_low": _num(result.ci[0]),
        "ci_high": _num(result.ci[1]),
        "p_value": _num(result.p_value),
        "alpha": _num(result.alpha),
        "n_obs": _int(result.n_obs),
        "n_units": _int(result.n_units),
        "worst_status": result.worst_status,
        "diagnostics": json.dumps([{"name": d.name, "status": d.status} for d in result.diagnostics]),
        "spec": _spec_yaml(spec) or _spec_yaml(lineage.spec if lineage else None),
        "spec_hash": spec.spec_hash if spec is not None else (lineage.spec_hash if lineage else None),
        "data_fingerprint": lineage.data_fingerprint if lineage else None,
        "lineage": json.dumps(lineage.to_dict(), default=str) if lineage else None,
        "details": json.dumps(result.details, default=str),
        "data_end": _data_end(result),
        **_look_columns(result),
    }


def _data_end(result: EffectEstimate) -> str | None:
    """The data's last period recorded by ``causal_kit.estimate`` (``None`` when it has no time role)."""
    end = result.details.get("data_end") if isinstance(result.details, dict) else None
    return None if end is None else str(end)


def _look_columns(result: EffectEstimate) -> dict[str, Any]:
    """Look number, key and decision of a sequential readout (empty for a fixed-horizon one)."""
    seq = result.details.get("sequential") if isinstance(result.details, dict) else None
    if not isinstance(seq, dict) or seq.get("look") is None:
        return {}
    return {"look": int(seq["look"]), "look_key": str(seq.get("look_key")), "decision": seq.get("decision")}


def _design_row(design: Any, spec: ExperimentSpec | None, **common: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if hasattr(design, "to_dict"):
        payload = design.to_dict()
    elif hasattr(design, "to_json"):
        payload = json.loads(design.to_json())
    scalars = {k: v for k, v in payload.items() if isinstance(v, (int, float, str, bool)) or v is None}
    lineage = payload.get("lineage") if isinstance(payload.get("lineage"), dict) else None
    return {
        **common,
        "kind": "design",
        "name": common["name"] or (spec.name if spec is not None else "design"),
        "design": spec.design if spec is not None else None,
        "method": str(getattr(design, "method", None) or payload.get("method") or "design"),
        "alpha": _num(spec.alpha) if spec is not None else None,
        "worst_status": getattr(design, "worst_status", None) or payload.get("worst_status"),
        "spec": _spec_yaml(spec),
        "spec_hash": spec.spec_hash if spec is not None else None,
        "data_fingerprint": (lineage or {}).get("data_fingerprint"),
        "lineage": json.dumps(lineage, default=str) if lineage else None,
        "details": json.dumps(scalars, default=str),
    }


def _insert(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> None:
    cols = [c for c in COLUMNS if c in row]
    names = ", ".join(f'"{c}"' for c in cols)
    marks = ", ".join("?" for _ in cols)
    con.execute(f"INSERT INTO runs ({names}) VALUES ({marks})", [row[c] for c in cols])


# ---------------------------------------------------------------------- the registry
class Registry:
    """A results registry stored in one DuckDB file.

    Parameters
    ----------
    path : str or Path, optional
        The DuckDB file; :func:`default_path` when omitted. Created on first write.
    timeout : float
        Seconds to wait for the file lock before raising :class:`RegistryError`.

    Examples
    --------
    >>> import tempfile, causal_kit as ck
    >>> from causal_kit.registry import Registry
    >>> reg = Registry(tempfile.mkdtemp() + "/runs.duckdb")
    >>> spec = ck.ExperimentSpec(name="cuped", design="ab", outcome="y", treatment="treat")
    >>> run_id = reg.record(ck.estimate(ck.datasets.load("ab_cuped_sim"), spec), spec=spec)
    >>> len(reg.history("cuped"))
    1
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = _LOCK_TIMEOUT) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Registry({str(self.path)!r})"

    def check_path(self) -> None:
        """Raise :class:`RegistryPathError` when the path is a folder or a file that is not DuckDB.

        A missing file is fine (it is created on the first write). The check reads only the
        file header, so it is cheap enough to run before a long estimate.
        """
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
    def connect(self, *, create: bool = True) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """Lock the file, open it (migrating an older layout) and close it again on exit.

        Yields ``None`` when the file does not exist and ``create`` is false.
        """
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
                raise RegistryError(f"cannot open the registry {str(self.path)!r}")
            con.begin()
            try:
                for row in rows:
                    _insert(con, row)
                con.commit()
            except Exception as exc:
                con.rollback()
                if isinstance(exc, CausalKitError):
                    raise
                raise RegistryError(f"could not write to the registry {str(self.path)!r}: {exc}") from exc

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
            "source": source,
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
            "source": source,
        }
        self._append([_design_row(design, spec, **common)])
        return run_id

    def record_movement(self, analysis: Any, *, report_path: str | os.PathLike[str] | None = None,
                        run_id: str | None = None, source: str | None = None) -> str:
        """Append a metric-movement run (``kind="movement"``): one row per decomposition, with the
        change as ``estimate`` and the components in ``details``; return its run id."""
        run_id = run_id or uuid.uuid4().hex[:16]
        spec = analysis.spec
        common = {"run_id": run_id, "timestamp": _now(), "name": spec.name, "source": source,
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
            return con.execute(sql, list(params)).df()

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
        sql = (
            f"WITH last AS (SELECT name, arg_max(run_id, timestamp) AS run_id FROM runs {where} GROUP BY name) "
            "SELECT runs.* FROM runs JOIN last USING (name, run_id) ORDER BY runs.name, runs.method"
        )
        return self._query(sql, params)

    def runs(self) -> pd.DataFrame:
        """Every row of the registry, oldest first."""
        return self._query("SELECT * FROM runs ORDER BY timestamp, run_id, method")

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
