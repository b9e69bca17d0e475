"""Warehouse push-down through Ibis: the same panel from DuckDB, PostgreSQL and Polars, row for row."""

from __future__ import annotations

import time

import _postgres
import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit import io
from causal_kit.errors import BackendError, DataError
from causal_kit.spec import as_spec

pytest.importorskip("ibis")
postgres_url = _postgres.postgres_url  # the server fixture

ROLES = dict(name="orders", design="did", outcome="sales", unit="geo", time="day", treatment="treated")
AGGREGATE = {"by": ["geo", "day"], "period": "week", "outcome": "sum",
             "columns": {"spend": "sum", "basket": "median", "orders": "count"}}


def _orders(seed: int = 1) -> pd.DataFrame:
    """Order-level rows: several per geo and day, a boolean treatment from the fifth week."""
    rng = np.random.default_rng(seed)
    n = 3000
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 70, n), unit="D")
    geo = rng.choice([f"g{i}" for i in range(8)], n)
    return pd.DataFrame({
        "geo": geo,
        "day": day.date,
        "sales": rng.gamma(2.0, 10.0, n).round(2),
        "spend": rng.uniform(0, 5, n).round(2),
        "basket": rng.integers(1, 9, n),
        "orders": np.arange(n),
        "treated": (np.isin(geo, ["g0", "g1"]) & (day >= pd.Timestamp("2024-02-05"))),
    })


def _spec(data: dict) -> ck.ExperimentSpec:
    return as_spec({**ROLES, "data": data, "aggregate": AGGREGATE})


def _normal(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["day"] = pd.to_datetime(out["day"]).astype("datetime64[ns]")
    out["treated"] = out["treated"].astype(bool)
    return out.astype({"sales": float, "spend": float, "basket": float, "orders": "int64"})


@pytest.fixture(scope="module")
def orders_parquet(tmp_path_factory):
    path = tmp_path_factory.mktemp("wh") / "orders.parquet"
    _orders().to_parquet(path)
    return path


def test_duckdb_and_polars_backends_give_the_embedded_panel(orders_parquet) -> None:
    embedded = io.load(orders_parquet, spec=_spec({"path": str(orders_parquet)}))
    assert len(embedded) == 8 * 10  # 8 geos x 10 weeks: only the panel comes back
    for url in ("duckdb://", "polars://"):
        panel = io.load(spec=_spec({"url": url, "path": str(orders_parquet)}))
        pd.testing.assert_frame_equal(_normal(panel), _normal(embedded), check_exact=False, rtol=1e-12)


@pytest.mark.slow
def test_postgresql_gives_the_same_panel_row_for_row(postgres_url, orders_parquet) -> None:  # noqa: F811
    import psycopg

    raw = _orders()
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS orders")
        con.execute("CREATE TABLE orders (geo TEXT, day DATE, sales DOUBLE PRECISION, spend DOUBLE PRECISION, "
                    "basket INTEGER, orders BIGINT, treated BOOLEAN)")
        with con.cursor().copy("COPY orders FROM STDIN") as copy:
            for row in raw.itertuples(index=False):
                copy.write_row(tuple(row))
    embedded = io.load(orders_parquet, spec=_spec({"path": str(orders_parquet)}))
    on_server = io.load(spec=_spec({"url": postgres_url, "table": "orders"}))
    pd.testing.assert_frame_equal(_normal(on_server), _normal(embedded), check_exact=False, rtol=1e-12)

    with pytest.raises(DataError, match=r"cannot read table 'nope' \(spec.data.table\) from 'postgresql://ck:\*\*\*@"):
        io.load(spec=_spec({"url": postgres_url, "table": "nope"}))


def test_the_expression_groups_on_the_backend_and_reads_only_needed_columns(orders_parquet) -> None:
    import ibis

    from causal_kit.warehouse import aggregate_expr

    raw = ibis.memtable(_orders().assign(unused=1.0))
    sql = ibis.to_sql(aggregate_expr(raw, _spec({"url": "duckdb://", "path": str(orders_parquet)})))
    assert "GROUP BY" in sql and "unused" not in sql


def test_a_backend_that_is_not_installed_names_the_extra() -> None:
    with pytest.raises(BackendError, match=r"pip install 'ibis-framework\[snowflake\]'") as err:
        io.load(spec=_spec({"url": "snowflake://ana:s3cret@acct/db", "table": "orders"}))
    assert "s3cret" not in str(err.value)


def test_an_unreachable_server_is_a_named_error_within_ten_seconds() -> None:
    start = time.monotonic()
    with pytest.raises(BackendError, match=r"cannot connect to 'postgres://ana:\*\*\*@127.0.0.1:1/db'") as err:
        io.load(spec=_spec({"url": "postgres://ana:s3cret@127.0.0.1:1/db", "table": "orders"}))
    assert time.monotonic() - start < 10 and "s3cret" not in str(err.value)


def test_the_spec_never_records_the_password_and_checks_the_block() -> None:
    spec = _spec({"url": "postgresql://ana:s3cret@wh.example/sales", "table": "orders"})
    assert spec.data.url.endswith("s3cret@wh.example/sales")  # still usable for the connection
    assert "s3cret" not in spec.to_yaml() and "ana:***@wh.example" in spec.to_json()
    with pytest.raises(Exception, match="data.url needs exactly one of 'table' or 'path'"):
        _spec({"url": "duckdb://", "table": "a", "path": "x.parquet"})
    with pytest.raises(Exception, match="data.url reads a 'table' or a 'path', not a 'query'"):
        _spec({"url": "duckdb://", "query": "SELECT 1"})
    with pytest.raises(Exception, match="data.table names a table of data.url's backend"):
        _spec({"path": "x.csv", "table": "orders"})
