"""Data sources: read CSV, Parquet, DuckDB databases and SQL queries into one pandas frame.

:func:`load` is the one entry point. It accepts

* a path to a ``.csv`` / ``.csv.gz`` / ``.tsv`` / ``.parquet`` file;
* a DuckDB URL ``duckdb://path/to/file.duckdb?query=SELECT ...`` (``duckdb://?query=...``
  runs the query in memory, e.g. over Parquet files);
* a pandas, polars or pyarrow table (converted once, here, at the boundary);
* nothing, when the spec has a ``data:`` block (:class:`causal_kit.spec.DataSource`).

When the spec has an ``aggregate:`` block (:class:`causal_kit.spec.Aggregate`), raw rows
are aggregated to one row per group inside DuckDB, so only the panel reaches pandas. A
``data:`` block with a ``url`` reads from a warehouse or any Ibis backend instead, and the
same aggregation runs there (:mod:`causal_kit.warehouse`). The
generated SQL quotes every identifier; the aggregation functions come from a closed list.
A query the user writes is run as written: it is the user's own SQL.

Every problem with a source (a missing file, an SQL error, an empty result, a column
missing after aggregation) raises one :class:`~causal_kit.errors.DataError` with a clear
message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pandas as pd

from ._data import to_pandas
from .errors import DataError

if TYPE_CHECKING:
    import duckdb

    from .spec import Aggregate, DataSource, ExperimentSpec

__all__ = ["load", "quote_identifier", "aggregate_sql", "parse_duckdb_url"]

_CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_DB_SUFFIXES = (".duckdb", ".db", ".ddb")
_URL_PREFIX = "duckdb://"

#: Default aggregation of each role when ``aggregate.columns`` does not name it; metrics of
#: the outcome's kind follow ``aggregate.outcome``, anything not listed is averaged.
_ROLE_AGGREGATION = {
    "treatment": "max", "fuzzy": "max", "cohort": "min", "report.cost_column": "sum", "weights": "sum",
    "unit": "first", "time": "first", "cluster": "first",
}
_OUTCOME_LIKE = ("outcome", "pre_covariate", "numerator", "denominator")
_SQL_FUNCTION = {
    "sum": "sum",
    "mean": "avg",
    "min": "min",
    "max": "max",
    "median": "median",
    "count": "count",
    "first": "first",
}


def quote_identifier(name: str) -> str:
    """Quote a column or table name for DuckDB SQL (double quotes, inner quotes doubled).

    Examples
    --------
    >>> from causal_kit.io import quote_identifier
    >>> print(quote_identifier("first.treat"))
    "first.treat"
    >>> len(quote_identifier('a"b'))  # the inner quote is doubled
    6
    """
    return '"' + str(name).replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def parse_duckdb_url(url: str) -> tuple[str | None, str]:
    """Split ``duckdb://PATH?query=SQL`` into ``(database path or None, SQL)``.

    The SQL may be percent-encoded (``%20`` for a space); ``+`` is kept as a plus sign.

    Examples
    --------
    >>> from causal_kit.io import parse_duckdb_url
    >>> parse_duckdb_url("duckdb://sales.duckdb?query=SELECT * FROM sales")
    ('sales.duckdb', 'SELECT * FROM sales')
    """
    rest = url[len(_URL_PREFIX):]
    database, sep, params = rest.partition("?")
    if not sep or not params.startswith("query="):
        raise DataError(
            f"the DuckDB source {url!r} has no query; write it as "
            "duckdb://path/to/file.duckdb?query=SELECT ... FROM table"
        )
    query = unquote(params[len("query="):]).strip()
    if not query:
        raise DataError(f"the DuckDB source {url!r} has an empty query.")
    database = unquote(database)
    return (database or None) if database != ":memory:" else None, query


def load(
    source: Any = None,
    *,
    spec: ExperimentSpec | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> Any:
    """Read a data source into a pandas DataFrame, aggregating it as the spec asks.

    Parameters
    ----------
    source : str, path, DuckDB URL, pandas/polars/pyarrow table, optional
        What to read. When omitted, the spec's ``data:`` block says it.
    spec : ExperimentSpec, optional
        Supplies ``data`` (when ``source`` is omitted) and ``aggregate``.
    base_dir : path, optional
        Folder that relative paths in the spec's ``data:`` block are resolved against
        (the spec file's folder); defaults to the working directory. Paths given as
        ``source`` are used as given.

    Returns
    -------
    pandas.DataFrame or dict
        A new frame; a table passed in is never modified. When ``source`` is omitted and
        the spec's ``data:`` block names an ``observational`` file (design ``surrogate``),
        the dict ``{"experiment": frame, "observational": frame}``.

    Raises
    ------
    DataError
        Missing or unreadable file, SQL error, empty result, or a column the spec needs
        that is missing after aggregation.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit import io
    >>> raw = ck.datasets.load("mpdta")
    >>> spec = ck.ExperimentSpec(name="m", design="did", outcome="lemp", unit="countyreal",
    ...                          time="year", treatment="treat",
    ...                          aggregate={"by": ["countyreal", "year"], "outcome": "mean"})
    >>> io.load(raw, spec=spec).shape
    (2500, 4)
    """
    aggregate = spec.aggregate if spec is not None else None
    if source is None:
        if spec is None or spec.data is None:
            raise DataError(
                "no data source: pass a file, a duckdb:// URL or a table, or add a data: block "
                "(path / query / database) to the spec."
            )
        base = Path(base_dir) if base_dir else None
        frame = _load_spec_source(spec.data, spec, base)
        observational = load_observational(spec, base)
        return frame if observational is None else {"experiment": frame, "observational": observational}
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if text.startswith(_URL_PREFIX):
            database, query = parse_duckdb_url(text)
            return _run_sql(query, database=database, file=None, spec=spec)
        path = Path(text).expanduser()
        _check_file(path)
        if aggregate is None:
            return _read_file(path)
        return _run_sql(None, database=None, file=path, spec=spec)
    frame = to_pandas(source)
    if aggregate is None:
        return frame.copy()
    return _run_sql(None, database=None, file=None, spec=spec, frame=frame)


# ---------------------------------------------------------------------- files
def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    if name.endswith(_PARQUET_SUFFIXES) or path.is_dir():
        return "parquet"
    if name.endswith(_DB_SUFFIXES):
        return "duckdb"
    raise DataError(
        f"cannot read {str(path)!r}: unknown file type {path.suffix or '(none)'!r}. "
        "Use a .csv or .parquet file, or a duckdb://file.duckdb?query=SELECT ... URL."
    )


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"data file {str(path)!r} does not exist (working directory: {os.getcwd()}).")
    if _kind(path) == "duckdb":
        raise DataError(
            f"{str(path)!r} is a DuckDB database; say which rows to read with "
            f"duckdb://{path}?query=SELECT ... or a data: block with database and query."
        )


def _read_file(path: Path) -> pd.DataFrame:
    kind = _kind(path)
    try:
        if kind == "csv":
            sep = "\t" if path.name.lower().endswith(".tsv") else ","
            frame = pd.read_csv(path, sep=sep)
        else:
            frame = pd.read_parquet(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read {kind} file {str(path)!r}: {_one_line(exc)}") from None
    if len(frame) == 0:
        raise DataError(f"data file {str(path)!r} has no rows.")
    return frame


def _scan_sql(path: Path) -> tuple[str, list[Any]]:
    """A parameterised table function reading ``path`` (the path is never interpolated)."""
    if _kind(path) == "csv":
        return "read_csv_auto(?)", [str(path)]
    target = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
    return "read_parquet(?)", [target]


# ---------------------------------------------------------------------- spec data blocks
def _resolve(value: str, base_dir: Path | None) -> Path:
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def _load_spec_source(data: DataSource, spec: ExperimentSpec, base_dir: Path | None) -> pd.DataFrame:
    if data.url is not None:  # a warehouse or any Ibis backend: aggregate there, fetch the panel
        from .warehouse import load_source

        return load_source(data, spec, base_dir)
    database = None
    if data.database is not None:
        database = str(_resolve(data.database, base_dir))
        if not Path(database).exists():
            raise DataError(f"DuckDB database {database!r} (spec.data.database) does not exist.")
    file = None
    if data.path is not None:
        file = _resolve(data.path, base_dir)
        if not file.exists():
            raise DataError(f"data file {str(file)!r} (spec.data.path) does not exist.")
        if _kind(file) == "duckdb":
            database, file = str(file), None
            if data.query is None:
                _check_file(Path(database))
    if data.query is None and spec.aggregate is None and file is not None:
        return _read_file(file)
    return _run_sql(data.query, database=database, file=file, spec=spec, base_dir=base_dir)


def load_observational(spec: ExperimentSpec, base_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame | None:
    """The observational sample named by ``spec.data.observational`` (design ``surrogate``), or None.

    The path is resolved against ``base_dir`` (the spec file's folder) and aggregated as
    the spec asks, like the experiment's rows.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit import io
    >>> spec = ck.ExperimentSpec(name="m", design="ab", outcome="y", treatment="t")
    >>> io.load_observational(spec) is None
    True
    """
    if spec.data is None or spec.data.observational is None:
        return None
    path = _resolve(spec.data.observational, Path(base_dir) if base_dir else None)
    if not path.exists():
        raise DataError(
            f"observational data file {str(path)!r} (spec.data.observational) does not exist; "
            "fix the path (relative paths are read from the spec file's folder)."
        )
    return load(path, spec=spec)


# ---------------------------------------------------------------------- DuckDB
def aggregate_sql(source_sql: str, columns: list[str], spec: ExperimentSpec) -> str:
    """SQL aggregating ``source_sql`` (a subquery) as ``spec.aggregate`` says.

    Identifiers are quoted with :func:`quote_identifier`; functions come from a fixed
    list, so no user value reaches the SQL text unquoted.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.io import aggregate_sql
    >>> spec = ck.ExperimentSpec(name="g", design="sdid", outcome="sales", unit="geo",
    ...                          time="week", treatment="treated",
    ...                          aggregate={"by": ["geo", "week"]})
    >>> print(aggregate_sql("SELECT * FROM raw", ["geo", "week", "sales", "treated"], spec))
    SELECT "geo", "week", sum("sales") AS "sales", max("treated") AS "treated" FROM (SELECT * FROM raw) AS src GROUP BY "geo", "week" ORDER BY "geo", "week"
    """
    aggregate: Aggregate = spec.aggregate  # type: ignore[assignment]
    agg = _aggregations(spec, columns)
    by = ", ".join(quote_identifier(c) for c in aggregate.by)
    parts = [by] + [f"{_SQL_FUNCTION[fn]}({quote_identifier(c)}) AS {quote_identifier(c)}" for c, fn in agg.items()]
    if aggregate.period is not None:
        if spec.time is None or spec.time not in aggregate.by:
            raise DataError(
                "spec.aggregate.period truncates the time column, so spec.time must be set and "
                f"listed in aggregate.by (by = {list(aggregate.by)})."
            )
        col = quote_identifier(spec.time)
        # the period comes from a closed list (Aggregate.period), never from free text
        source_sql = (
            f"SELECT * REPLACE (CAST(date_trunc('{aggregate.period}', CAST({col} AS TIMESTAMP)) AS DATE) "
            f"AS {col}) FROM ({source_sql}) AS raw"
        )
    return f"SELECT {', '.join(parts)} FROM ({source_sql}) AS src GROUP BY {by} ORDER BY {by}"


def _aggregations(spec: ExperimentSpec, available: list[str]) -> dict[str, str]:
    """Column -> aggregation for every column the aggregated frame carries besides ``by``."""
    aggregate: Aggregate = spec.aggregate  # type: ignore[assignment]
    by = set(aggregate.by)
    out: dict[str, str] = {}
    for role, col in spec.role_columns.items():
        if col in by or col in out:
            continue
        if col not in available:
            continue  # reported as missing after aggregation
        if col in aggregate.columns:
            fn = aggregate.columns[col]
        elif role in _OUTCOME_LIKE:
            fn = aggregate.outcome
        else:
            fn = _ROLE_AGGREGATION.get(role.split("[")[0], "mean")
        out[col] = fn
    for col, fn in aggregate.columns.items():
        if col not in by and col not in out:
            out[col] = fn
    return out


def _run_sql(
    query: str | None,
    *,
    database: str | None,
    file: Path | None,
    spec: ExperimentSpec | None,
    frame: pd.DataFrame | None = None,
    base_dir: Path | None = None,
) -> pd.DataFrame:
    import duckdb

    if database is not None and not Path(database).exists():
        raise DataError(f"DuckDB database {database!r} does not exist.")
    try:
        con = duckdb.connect(database or ":memory:", read_only=database is not None)
    except duckdb.Error as exc:
        raise DataError(f"cannot open DuckDB database {database!r}: {_one_line(exc)}") from None
    try:
        if base_dir is not None:  # relative file names inside the query resolve next to the spec
            con.execute(f"SET file_search_path = {_quote_literal(str(base_dir))}")
        params: list[Any] = []
        if frame is not None:
            con.register("data", frame)
            source_sql = "SELECT * FROM data"
        elif file is not None:
            scan, params = _scan_sql(file)
            if query is not None:
                # a view cannot take prepared parameters: the path goes in as a quoted literal
                literal = scan.replace("?", _quote_literal(params[0]))
                con.execute(f"CREATE TEMP VIEW data AS SELECT * FROM {literal}")
                params = []
                source_sql = query
            else:
                source_sql = f"SELECT * FROM {scan}"
        else:
            source_sql = query or ""
        source_sql = source_sql.strip().rstrip(";")
        what = "the SQL query" if query is not None else f"reading {str(file)!r}" if file else "the data"
        sql = source_sql
        if spec is not None and spec.aggregate is not None:
            available = _describe(con, source_sql, params, what)
            missing = [c for c in spec.aggregate.by if c not in available]
            missing += [c for c in spec.aggregate.columns if c not in available and c not in missing]
            if missing:
                raise DataError(
                    f"column {missing[0]!r} (spec.aggregate) is not in the data source; "
                    f"its columns are: {_cols(available)}."
                )
            sql = aggregate_sql(source_sql, available, spec)
        try:
            result = con.execute(sql, params).df()
        except duckdb.Error as exc:
            raise DataError(f"{what} failed in DuckDB: {_one_line(exc)}") from None
    finally:
        con.close()
    if len(result) == 0:
        raise DataError(f"{what} returned no rows; check the filters and the source.")
    if spec is not None and spec.aggregate is not None:
        _check_aggregated(result, spec)
    return result


def _check_aggregated(result: pd.DataFrame, spec: ExperimentSpec) -> None:
    """Every role column survived the aggregation, or a DataError naming the first that did not."""
    gone = {r: c for r, c in spec.role_columns.items() if c not in result.columns}
    if gone:
        role, col = next(iter(gone.items()))
        raise DataError(
            f"column {col!r} (spec.{role}) is missing after aggregation; the aggregated data "
            f"has {_cols(list(result.columns))}. Add it to the source, to aggregate.by, or "
            "to aggregate.columns."
        )


def _describe(con: duckdb.DuckDBPyConnection, source_sql: str, params: list[Any], what: str) -> list[str]:
    import duckdb

    try:
        cursor = con.execute(f"SELECT * FROM ({source_sql}) AS src LIMIT 0", params)
    except duckdb.Error as exc:
        raise DataError(f"{what} failed in DuckDB: {_one_line(exc)}") from None
    return [d[0] for d in cursor.description]


def _cols(columns: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(str(c)) for c in columns[:limit])
    return shown + (", ..." if len(columns) > limit else "")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 400 else text[:397] + "..."
