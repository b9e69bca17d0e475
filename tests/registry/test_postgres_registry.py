"""The registry on a real PostgreSQL server: same rows as DuckDB, migrations, masking, concurrency."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import _postgres
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.errors import BackendError
from causal_kit.registry import COLUMNS, SCHEMA_VERSION, Registry, RegistryConnectionError

pytestmark = pytest.mark.slow  # a PostgreSQL server starts for this module
pytest.importorskip("psycopg")

postgres_url = _postgres.postgres_url  # the server fixtures
fresh_postgres = _postgres.fresh_postgres

AB = dict(name="cuped", design="ab", outcome="y", treatment="treat", pre_covariate="pre")


@pytest.fixture(scope="module")
def ab_result():
    spec = ck.ExperimentSpec(**AB)
    return spec, ck.estimate(ck.datasets.load("ab_cuped_sim"), spec)


def _design():
    from causal_kit.datasets import simulate_geo_panel

    spec = ck.ExperimentSpec(name="geo", design="did", outcome="kpi", unit="geo", time="date", treatment="treated")
    design = ck.design.plan(simulate_geo_panel(n_geos=16, n_days=120, seed=3), spec, n_treated=4, duration=14,
                            n_candidates=1, n_windows=4, candidate_estimators=("did",), inference="approximate")
    return spec, design


def test_postgres_and_duckdb_hold_the_same_rows(fresh_postgres, tmp_path, ab_result) -> None:
    spec, result = ab_result
    dspec, design = _design()
    frames, plain = {}, {}
    for where in (fresh_postgres, tmp_path / "runs.duckdb"):
        reg = Registry(where)
        reg.record([result, result], spec=spec, run_id="r1", source="postgresql://ana:pw123@wh/db | table=orders")
        reg.record(result, spec=spec, run_id="r2")
        reg.record_design(design, spec=dspec, run_id="d1")
        frames[reg.backend] = (reg.history("cuped"), reg.latest(), reg.runs(), reg.history("geo", kind="design"))
        plain[reg.backend] = [{k: v for k, v in r.items() if k != "timestamp"} for r in reg.run_rows()]
        assert reg.schema_version() == SCHEMA_VERSION
    assert plain["postgres"] == plain["duckdb"] and len(plain["postgres"]) == 4  # the bulk-export rows
    for pg, duck in zip(frames["postgres"], frames["duckdb"]):
        assert list(pg.columns) == list(COLUMNS)
        pd.testing.assert_frame_equal(pg.drop(columns="timestamp"), duck.drop(columns="timestamp"))
    history = frames["postgres"][0]
    assert len(history) == 3 and history["source"].iloc[0] == "postgresql://ana:***@wh/db | table=orders"
    latest = frames["postgres"][1].set_index("name")["run_id"]
    assert latest["cuped"] == "r2" and latest["geo"] == "d1"


def test_an_older_layout_on_the_server_is_migrated_in_place(fresh_postgres) -> None:
    import psycopg

    old = {c: t for c, t in COLUMNS.items() if c not in ("look", "look_key", "decision", "data_end")}
    with psycopg.connect(fresh_postgres, autocommit=True) as con:
        con.execute(f"CREATE TABLE runs ({', '.join(f'{chr(34)}{c}{chr(34)} {t}' for c, t in old.items())})")
        con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP)")
        con.execute("INSERT INTO schema_version VALUES (2, now())")
        con.execute("INSERT INTO runs (run_id, timestamp, kind, name, method, estimate) "
                    "VALUES ('old', now(), 'estimate', 'legacy', 'ab', 1.25)")
    reg = Registry(fresh_postgres)
    assert reg.schema_version() == SCHEMA_VERSION
    rows = reg.history("legacy")
    assert rows["estimate"].tolist() == [1.25] and rows["look"].isna().all() and "data_end" in rows


def test_credentials_never_show_and_a_dead_server_fails_fast(postgres_url, tmp_path) -> None:
    reg = Registry(postgres_url)
    assert "secret" not in repr(reg) and "ck:***@" in reg.location
    dead = f"postgresql://ck:secret@/ck?host={tmp_path}&port=5433"  # no server on this socket
    start = time.monotonic()
    with pytest.raises(RegistryConnectionError, match=r"cannot connect to the registry 'postgresql://ck:\*\*\*@") as err:
        Registry(dead).runs()
    assert time.monotonic() - start < 10
    assert isinstance(err.value, BackendError) and "secret" not in str(err.value)
    with pytest.raises(RegistryConnectionError, match="within") as err:
        Registry("postgresql://ana:hunter2@127.0.0.1:1/ck").latest()
    assert "hunter2" not in str(err.value)


def test_the_environment_variable_and_the_cli_use_the_server(fresh_postgres, tmp_path, monkeypatch, capsys) -> None:
    from causal_kit.cli import main

    monkeypatch.setenv("CAUSAL_KIT_REGISTRY", fresh_postgres)
    assert Registry().backend == "postgres"
    ck.datasets.load("ab_cuped_sim").to_csv(tmp_path / "ab.csv", index=False)
    (tmp_path / "ab.yaml").write_text("\n".join(f"{k}: {v}" for k, v in AB.items()) + "\n")
    assert main(["estimate", str(tmp_path / "ab.yaml"), "--data", str(tmp_path / "ab.csv")]) == 0
    out = capsys.readouterr().out
    assert "appended to postgresql://ck:***@" in out and "secret" not in out
    assert len(Registry(fresh_postgres).history("cuped")) == 1


WRITER = textwrap.dedent("""
    import sys, time
    import causal_kit as ck
    from causal_kit.registry import Registry, _insert, _now
    url, mode, name, n, path = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    result = ck.EffectEstimate.from_json(open(path).read())
    reg = Registry(url)
    if mode == "hang":
        with reg.connect() as con:
            con.begin()
            for i in range(n):
                _insert(con, {"run_id": f"{name}-{i}", "timestamp": _now(), "kind": "estimate", "name": name,
                              "method": "ab"})
            print("ready", flush=True)
            time.sleep(300)
    else:
        for i in range(n):
            reg.record([result, result], name=name, run_id=f"{name}-{i}")
""")


def test_eight_concurrent_writers_one_killed_mid_transaction_lose_no_rows(fresh_postgres, tmp_path, ab_result) -> None:
    _, result = ab_result
    (tmp_path / "result.json").write_text(result.to_json())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(ck.__file__).parents[1]),
                                                                     os.environ.get("PYTHONPATH")]))}
    args = [fresh_postgres, "?", "?", "6", str(tmp_path / "result.json")]
    procs = []
    for k in range(8):  # all start on an empty database: one creates the schema, the others wait
        mode, name = ("hang", "killed") if k == 0 else ("record", f"writer{k}")
        procs.append(subprocess.Popen([sys.executable, "-c", WRITER, args[0], mode, name, *args[3:]], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    assert procs[0].stdout.readline().strip() == "ready"
    procs[0].send_signal(signal.SIGKILL)
    for proc in procs[1:]:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    procs[0].wait(timeout=30)

    reg = Registry(fresh_postgres)
    runs = reg.runs()
    assert len(runs) == 7 * 6 * 2
    assert "killed" not in set(runs["name"])
    assert runs.groupby(["name", "run_id"]).size().eq(2).all()
    assert runs["name"].nunique() == 7
    with reg.connect() as con:
        assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 1
    reg.record(result, name="after")  # the killed writer left no lock behind
    assert len(reg.history("after")) == 1
    assert json.loads(runs["diagnostics"].iloc[0])
