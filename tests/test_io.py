"""Data sources: files, DuckDB URLs, spec data blocks, aggregation pushed into DuckDB, errors."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from causal_kit import ExperimentSpec, io
from causal_kit.errors import DataError, SpecError

PANEL = dict(design="did", outcome="lemp", unit="countyreal", time="year", treatment="treat")


@pytest.fixture
def raw(load):
    """mpdta exploded to two raw rows per county-year (halves of the outcome, a spend column)."""
    df = load("mpdta")
    a = df.assign(lemp=df["lemp"] * 0.25, spend=1.0)
    b = df.assign(lemp=df["lemp"] * 0.75, spend=2.0)
    return pd.concat([a, b], ignore_index=True)


@pytest.fixture
def files(tmp_path, raw):
    csv = tmp_path / "raw.csv"
    parquet = tmp_path / "raw.parquet"
    raw.to_csv(csv, index=False)
    raw.to_parquet(parquet, index=False)
    db = tmp_path / "sales.duckdb"
    con = duckdb.connect(str(db))
    con.register("raw_df", raw)
    con.execute("CREATE TABLE raw AS SELECT * FROM raw_df")
    con.close()
    return {"csv": csv, "parquet": parquet, "db": db, "dir": tmp_path}


def _spec(**extra):
    return ExperimentSpec(name="m", **PANEL, **extra)


def test_csv_and_parquet_read_as_given(files, raw):
    for key in ("csv", "parquet"):
        out = io.load(files[key])
        assert out.shape == raw.shape
        np.testing.assert_allclose(out["lemp"].to_numpy(), raw["lemp"].to_numpy())


def test_aggregation_pushed_into_duckdb_gives_the_panel(files, load):
    truth = load("mpdta").sort_values(["countyreal", "year"]).reset_index(drop=True)
    spec = _spec(aggregate={"by": ["countyreal", "year"], "outcome": "sum", "columns": {"spend": "sum"}})
    for source in (files["csv"], files["parquet"], str(files["csv"])):
        panel = io.load(source, spec=spec)
        assert list(panel.columns) == ["countyreal", "year", "lemp", "treat", "spend"]
        assert len(panel) == 2500
        np.testing.assert_allclose(panel["lemp"].to_numpy(), truth["lemp"].to_numpy(), rtol=1e-12)
        assert set(panel["spend"]) == {3.0}
        assert set(panel["treat"]) == {0, 1}


def test_aggregate_of_an_in_memory_frame_leaves_it_untouched(raw):
    before = raw.copy()
    spec = _spec(aggregate={"by": ["countyreal", "year"], "outcome": "mean"})
    panel = io.load(raw, spec=spec)
    assert len(panel) == 2500
    pd.testing.assert_frame_equal(raw, before)


def test_duckdb_url_and_spec_data_blocks(files):
    url = f"duckdb://{files['db']}?query=SELECT * FROM raw WHERE year >= 2005"
    spec = _spec(aggregate={"by": ["countyreal", "year"]})
    assert len(io.load(url, spec=spec)) == 500 * 3
    # percent-encoded query text is decoded; '+' stays a plus sign
    encoded = f"duckdb://{files['db']}?query=SELECT%20year%2B1%20AS%20y1%20FROM%20raw%20LIMIT%203"
    assert io.load(encoded)["y1"].tolist() == [2004, 2005, 2006]
    # in-memory DuckDB over a file, and a spec data block with relative paths
    by_file = _spec(data={"path": "raw.parquet", "query": "SELECT * FROM data WHERE year < 2005"})
    assert len(io.load(spec=by_file, base_dir=files["dir"])) == 2 * 500 * 2
    by_db = _spec(data={"database": "sales.duckdb", "query": "SELECT * FROM raw"},
                  aggregate={"by": ["countyreal", "year"]})
    assert len(io.load(spec=by_db, base_dir=files["dir"])) == 2500
    # file names inside a query resolve next to the spec too
    in_query = _spec(data={"query": "SELECT * FROM 'raw.parquet' WHERE year = 2007"})
    assert len(io.load(spec=in_query, base_dir=files["dir"])) == 2 * 500


def test_identifiers_are_quoted(files, raw):
    odd = raw.rename(columns={"year": 'we"ek one', "countyreal": "select"})
    spec = ExperimentSpec(name="q", design="did", outcome="lemp", unit="select", time='we"ek one',
                          treatment="treat", aggregate={"by": ["select", 'we"ek one']})
    sql = io.aggregate_sql("SELECT * FROM t", list(odd.columns), spec)
    assert '"we""ek one"' in sql and '"select"' in sql
    assert len(io.load(odd, spec=spec)) == 2500


def test_polars_and_pyarrow_inputs(raw):
    pl = pytest.importorskip("polars", reason="polars is an optional dependency")
    import pyarrow as pa

    spec = _spec(aggregate={"by": ["countyreal", "year"]})
    a = io.load(pl.from_pandas(raw), spec=spec)
    b = io.load(pa.Table.from_pandas(raw), spec=spec)
    c = io.load(raw, spec=spec)
    pd.testing.assert_frame_equal(a, c)
    pd.testing.assert_frame_equal(b, c)
    assert isinstance(io.load(pl.from_pandas(raw)), pd.DataFrame)


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("missing.csv", r"data file '.*missing.csv' does not exist"),
        ("duckdb://{db}?query=SELEC * FROM raw", r"the SQL query failed in DuckDB: Parser Error"),
        ("duckdb://{db}?query=SELECT * FROM nope", r"SQL query failed in DuckDB: Catalog Error"),
        ("duckdb://{db}?query=SELECT * FROM raw WHERE year > 3000", r"returned no rows"),
        ("duckdb://{db}", r"has no query; write it as duckdb://"),
        ("duckdb://{dir}/absent.duckdb?query=SELECT 1", r"DuckDB database '.*absent.duckdb' does not exist"),
        ("{db}", r"is a DuckDB database; say which rows to read"),
        ("{dir}/notes.xlsx", r"unknown file type '.xlsx'"),
    ],
)
def test_bad_sources_raise_one_clear_data_error(files, source, match):
    (files["dir"] / "notes.xlsx").write_text("x")
    with pytest.raises(DataError, match=match):
        io.load(source.format(db=files["db"], dir=files["dir"]))


def test_column_missing_after_aggregation(files):
    url = f"duckdb://{files['db']}?query=SELECT countyreal, year, lemp FROM raw"
    spec = _spec(aggregate={"by": ["countyreal", "year"]})
    with pytest.raises(DataError, match=r"column 'treat' \(spec.treatment\) is missing after aggregation"):
        io.load(url, spec=spec)
    bad_by = _spec(aggregate={"by": ["county", "year"]})
    with pytest.raises(DataError, match=r"column 'county' \(spec.aggregate\) is not in the data source"):
        io.load(files["csv"], spec=bad_by)


def test_empty_file_and_missing_spec_source(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("lemp,treat\n")
    with pytest.raises(DataError, match="has no rows"):
        io.load(empty)
    with pytest.raises(DataError, match="no data source"):
        io.load(spec=_spec())
    with pytest.raises(DataError, match=r"spec.data.path\) does not exist"):
        io.load(spec=_spec(data={"path": "nowhere.csv"}), base_dir=tmp_path)


def test_spec_data_and_aggregate_fields_validate():
    with pytest.raises(SpecError, match="data needs a 'path', a 'query' or a 'url'"):
        _spec(data={})
    with pytest.raises(SpecError, match=r"spec.aggregate.outcome"):
        _spec(aggregate={"by": ["countyreal"], "outcome": "total"})
    spec = _spec(data={"path": "a.csv"}, aggregate={"by": "countyreal"})
    assert spec.aggregate.by == ("countyreal",)
    assert ExperimentSpec.from_yaml(spec.to_yaml()) == spec


def test_period_truncates_daily_rows_to_a_weekly_panel(tmp_path):
    from causal_kit.datasets.simulate import simulate_geo_panel

    daily = simulate_geo_panel(n_geos=4, n_days=28, start="2024-01-01", effect=0.1, treated=1, seed=3)
    daily.to_csv(tmp_path / "daily.csv", index=False)
    spec = ExperimentSpec(name="g", design="did", outcome="kpi", unit="geo", time="date", treatment="treated",
                          aggregate={"by": ["geo", "date"], "period": "week", "columns": {"cost": "sum"}})
    weekly = io.load(tmp_path / "daily.csv", spec=spec)
    assert weekly.shape == (4 * 4, 5)
    assert weekly["date"].dt.day_of_week.eq(0).all()  # 2024-01-01 is a Monday; weeks start on Mondays
    expected = daily.assign(week=daily["date"].dt.to_period("W-SUN").dt.start_time).groupby(["geo", "week"])["kpi"].sum()
    np.testing.assert_allclose(weekly["kpi"].to_numpy(), expected.to_numpy(), rtol=1e-12)
    with pytest.raises(DataError, match="spec.time must be set and listed in aggregate.by"):
        io.load(daily, spec=spec.update(aggregate={"by": ["geo"], "period": "week"}))


def test_ab_events_aggregate_to_users_with_ratio_metric_parts_summed():
    events = pd.DataFrame({
        "user": [1, 1, 2, 2, 2, 3], "arm": ["a", "a", "b", "b", "b", "a"],
        "treat": [0, 0, 1, 1, 1, 0], "clicks": [1, 0, 2, 1, 0, 1], "views": [3, 2, 4, 4, 1, 5],
        "country": ["x", "x", "y", "y", "y", "x"],
    })
    spec = ExperimentSpec(name="ratio", design="ab", treatment="treat", numerator="clicks",
                          denominator="views", cluster="country", aggregate={"by": ["user"]})
    users = io.load(events, spec=spec)
    assert users["user"].tolist() == [1, 2, 3]
    assert users["clicks"].tolist() == [1, 3, 1] and users["views"].tolist() == [5, 9, 5]
    assert users["treat"].tolist() == [0, 1, 0] and users["country"].tolist() == ["x", "y", "x"]
