"""Warehouse push-down through Ibis: aggregate rows where they live, bring back only the panel.

A spec's ``data:`` block with a ``url`` (any Ibis backend: ``postgres://...``,
``duckdb://file.duckdb``, ``polars://``, ``snowflake://...``, ``bigquery://...``, ``trino://...``)
and a ``table`` (or view; or a ``path`` the backend reads) is opened with ``ibis.connect``. The ``aggregate:`` step (period truncation, the unit x period
roll-up and only the columns the spec's roles need) is built as one Ibis expression
(:func:`aggregate_expr`) and executed by that backend; only the aggregated panel comes back
to Python. The aggregation rules are those of :mod:`causal_kit.io` (which runs the same step
in embedded DuckDB for files), so a panel is the same whichever engine built it.

Errors are named: :class:`~causal_kit.errors.BackendError` when Ibis or a backend's driver is
not installed (naming the extra to install) or the server cannot be reached within 8 s;
:class:`~causal_kit.errors.DataError` for a missing table, column or an empty result.
Passwords never appear in messages.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pandas as pd

from ._parallel import mask_url
from .errors import BackendError, CausalKitError, DataError
from .io import _aggregations, _check_aggregated, _cols, _one_line

if TYPE_CHECKING:
    from .spec import DataSource, ExperimentSpec

__all__ = ["connect", "aggregate_expr", "load_source"]

#: Seconds a database server gets to answer before :class:`BackendError`.
CONNECT_TIMEOUT = 8

_PERIOD_UNIT = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
_EXTRA = {"postgresql": "postgres", "postgres": "postgres", "duckdb": "duckdb", "polars": "polars"}


def connect(url: str, *, base_dir: str | os.PathLike[str] | None = None) -> Any:
    """An Ibis backend for ``url``, or a :class:`BackendError` naming the extra or the cause.

    Relative ``duckdb://`` files resolve against ``base_dir`` (the spec file's folder).
    PostgreSQL connections time out after :data:`CONNECT_TIMEOUT` seconds.

    Examples
    --------
    >>> from causal_kit.warehouse import connect
    >>> connect("duckdb://").name
    'duckdb'
    """
    try:
        import ibis
    except ImportError:
        raise BackendError(
            f"reading {mask_url(url)!r} pushes the aggregation down through Ibis, which is not installed; "
            "install it with pip install 'causal-kit[warehouse]'."
        ) from None
    scheme = url.split("://", 1)[0].lower()
    try:
        return ibis.connect(_with_defaults(url, scheme, base_dir))
    except ImportError as exc:
        extra = _EXTRA.get(scheme, scheme)
        raise BackendError(
            f"the Ibis backend for {scheme!r} ({mask_url(url)!r}) is not installed ({_one_line(exc).split('.')[0]}); "
            f"install it with pip install 'ibis-framework[{extra}]'."
        ) from None
    except Exception as exc:  # drivers raise their own types; name the source and the cause, masked
        raise BackendError(
            f"cannot connect to {mask_url(url)!r} (spec.data.url): {type(exc).__name__}: {_masked(exc, url)}. "
            "Check the host, port, database, user and that the server is running."
        ) from None


def aggregate_expr(table: Any, spec: ExperimentSpec) -> Any:
    """The Ibis expression of ``spec.aggregate`` over ``table``: truncate, group, aggregate, sort.

    Only the ``by`` columns and the columns the spec's roles (and ``aggregate.columns``) need
    are selected, so the backend reads and returns nothing else.

    Examples
    --------
    >>> import ibis, causal_kit as ck
    >>> from causal_kit.warehouse import aggregate_expr
    >>> raw = ibis.memtable(ck.datasets.load("mpdta"))
    >>> spec = ck.ExperimentSpec(name="m", design="did", outcome="lemp", unit="countyreal",
    ...                          time="year", treatment="treat",
    ...                          aggregate={"by": ["countyreal", "year"], "outcome": "mean"})
    >>> aggregate_expr(raw, spec).columns
    ('countyreal', 'year', 'lemp', 'treat')
    """
    aggregate = spec.aggregate
    if aggregate is None:
        raise DataError("aggregate_expr needs a spec with an aggregate: block.")
    available = list(table.columns)
    missing = [c for c in (*aggregate.by, *aggregate.columns) if c not in available]
    if missing:
        raise DataError(
            f"column {missing[0]!r} (spec.aggregate) is not in the data source; its columns are: {_cols(available)}."
        )
    rules = _aggregations(spec, available)
    table = table.select(*dict.fromkeys([*aggregate.by, *rules]))  # read only what the panel needs
    if aggregate.period is not None:
        if spec.time is None or spec.time not in aggregate.by:
            raise DataError(
                "spec.aggregate.period truncates the time column, so spec.time must be set and "
                f"listed in aggregate.by (by = {list(aggregate.by)})."
            )
        col = table[spec.time]
        table = table.mutate(**{spec.time: col.cast("timestamp").truncate(_PERIOD_UNIT[aggregate.period]).cast("date")})
    metrics = {col: _reduce(table[col], fn) for col, fn in rules.items()}
    by = list(aggregate.by)
    return table.group_by(by).aggregate(**metrics).order_by(by)


def _reduce(column: Any, fn: str) -> Any:
    if fn == "max" and column.type().is_boolean():  # not every SQL engine has max(boolean)
        return column.any()
    if fn == "min" and column.type().is_boolean():
        return column.all()
    return {"sum": column.sum, "mean": column.mean, "min": column.min, "max": column.max,
            "median": column.median, "count": column.count, "first": column.first}[fn]()


def load_source(data: DataSource, spec: ExperimentSpec, base_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Read ``data.url`` (a table or a path), aggregated on the backend as the spec asks.

    Examples
    --------
    >>> import tempfile, causal_kit as ck
    >>> from causal_kit.warehouse import load_source
    >>> path = tempfile.mkdtemp() + "/mpdta.parquet"
    >>> ck.datasets.load("mpdta").to_parquet(path)
    >>> spec = ck.ExperimentSpec(name="m", design="did", outcome="lemp", unit="countyreal",
    ...     time="year", treatment="treat", data={"url": "duckdb://", "path": path},
    ...     aggregate={"by": ["countyreal", "year"], "outcome": "mean"})
    >>> load_source(spec.data, spec).shape
    (2500, 4)
    """
    url = str(data.url)
    con = connect(url, base_dir=base_dir)
    where = f"{mask_url(url)!r} (spec.data.url)"
    table = _source_table(con, data, base_dir, where)
    expr = aggregate_expr(table, spec) if spec.aggregate is not None else table
    try:
        frame = expr.to_pandas()
    except CausalKitError:
        raise
    except Exception as exc:
        raise DataError(f"the aggregation on {where} failed in {con.name}: {_masked(exc, url)}") from None
    finally:
        _disconnect(con)
    what = f"the {con.name} source {where}"
    if len(frame) == 0:
        raise DataError(f"{what} returned no rows; check the table, the query and the filters.")
    if spec.aggregate is not None:
        _check_aggregated(frame, spec)
    return frame


def _source_table(con: Any, data: DataSource, base_dir: Any, where: str) -> Any:
    try:
        if data.table is not None:
            return con.table(data.table)
        path = Path(str(data.path)).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.exists():
            raise DataError(f"data file {str(path)!r} (spec.data.path) does not exist.")
        name = path.name.lower()
        return con.read_csv(str(path)) if name.endswith((".csv", ".csv.gz", ".tsv")) else con.read_parquet(str(path))
    except CausalKitError:
        raise
    except Exception as exc:
        target = f"table {data.table!r} (spec.data.table)" if data.table is not None else f"{data.path!r} (spec.data.path)"
        raise DataError(f"cannot read {target} from {where}: {_masked(exc, str(data.url))}") from None


def _with_defaults(url: str, scheme: str, base_dir: Any) -> str:
    """Add a connect timeout to server URLs and resolve relative DuckDB files."""
    parts = urlsplit(url)
    if scheme in ("postgres", "postgresql"):
        query = dict(parse_qsl(parts.query))
        query.setdefault("connect_timeout", str(CONNECT_TIMEOUT))
        return urlunsplit(parts._replace(scheme="postgres", query=urlencode(query)))
    if scheme == "duckdb" and base_dir is not None:
        file = url.split("://", 1)[1].split("?", 1)[0]
        if file and file != ":memory:" and not Path(file).is_absolute():
            return url.replace(file, str(Path(base_dir) / file), 1)
    return url


def _masked(exc: BaseException, url: str) -> str:
    text = _one_line(exc)
    password = urlsplit(url).password if "://" in url else None
    return text.replace(password, "***") if password else text


def _disconnect(con: Any) -> None:
    disconnect = getattr(con, "disconnect", None)
    if callable(disconnect):
        disconnect()
