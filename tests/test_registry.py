"""Results registry: round trip, queries, export, concurrent writers, failed writes, migrations."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import duckdb
import pandas as pd
import pytest

from causal_kit import ExperimentSpec, registry
from causal_kit.registry import SCHEMA_VERSION, Registry, RegistryError
from causal_kit.result import Diagnostic, EffectEstimate, make_lineage

SPEC = ExperimentSpec(name="geo-test", design="sdid", outcome="sales", unit="geo", time="week",
                      treatment="treated")


def _result(estimate: float = 1.5, method: str = "sdid", status: str = "pass") -> EffectEstimate:
    return EffectEstimate(
        method=method, estimand="ATT", estimate=estimate, se=0.5, ci=(estimate - 1, estimate + 1),
        p_value=0.01, alpha=0.05, n_obs=100, n_units=10, design="sdid", outcome="sales",
        diagnostics=(Diagnostic("pre_fit", status, "Pre-period fit checked."),),
        lineage=make_lineage(SPEC, "abc123"),
    )


def test_record_history_latest_and_export(tmp_path):
    reg = Registry(tmp_path / "reg.duckdb")
    assert reg.history("geo-test").empty and reg.schema_version() is None
    first = reg.record(_result(1.0), spec=SPEC, report_path=tmp_path / "r1.html")
    second = reg.record([_result(2.0), _result(2.5, "did", "fail")], spec=SPEC)
    reg.record(_result(9.0), spec=SPEC.update(name="other"))

    hist = reg.history("geo-test")
    assert hist["run_id"].tolist() == [first, second, second]
    assert hist["method"].tolist() == ["sdid", "did", "sdid"] or hist["method"].tolist() == ["sdid", "sdid", "did"]
    assert hist["estimate"].tolist()[0] == 1.0
    row = hist.iloc[0]
    assert row["spec_hash"] == SPEC.spec_hash and row["data_fingerprint"] == "abc123"
    assert ExperimentSpec.from_yaml(row["spec"]) == SPEC
    assert json.loads(row["lineage"])["data_fingerprint"] == "abc123"
    assert json.loads(row["diagnostics"]) == [{"name": "pre_fit", "status": "pass"}]
    assert row["report_path"].endswith("r1.html")
    assert set(hist.loc[hist["method"] == "did", "worst_status"]) == {"fail"}

    latest = reg.latest()
    assert sorted(latest["name"].unique()) == ["geo-test", "other"]
    assert set(latest.loc[latest["name"] == "geo-test", "run_id"]) == {second}
    assert reg.latest("other")["estimate"].tolist() == [9.0]

    for fmt, reader in (("parquet", pd.read_parquet), ("csv", pd.read_csv), ("json", pd.read_json)):
        out = reg.export(tmp_path / f"runs.{fmt}", format=fmt)
        assert len(reader(out)) == 4
    with pytest.raises(RegistryError, match="'format' parameter of export must be one of"):
        reg.export(tmp_path / "x.xlsx", format="xlsx")
    assert reg.schema_version() == SCHEMA_VERSION


def test_default_path_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CAUSAL_KIT_REGISTRY", str(tmp_path / "env.duckdb"))
    assert registry.default_path() == tmp_path / "env.duckdb"
    registry.record(_result(), spec=SPEC)
    assert len(registry.history("geo-test")) == 1
    assert len(registry.latest()) == 1
    assert registry.export(tmp_path / "all.parquet").exists()
    monkeypatch.delenv("CAUSAL_KIT_REGISTRY")
    assert registry.default_path().name == "registry.duckdb"
    assert registry.default_path().parent.name == ".causal_kit"


_WRITER = textwrap.dedent(
    """
    import sys
    from causal_kit.registry import Registry
    from causal_kit.result import EffectEstimate
    path, worker = sys.argv[1], int(sys.argv[2])
    reg = Registry(path)
    for i in range(6):
        res = EffectEstimate(method="did", estimand="ATT", estimate=worker * 100 + i, se=1.0,
                             ci=(0.0, 1.0), p_value=0.5, alpha=0.05, n_obs=1)
        reg.record(res, name="concurrent")
    """
)


def test_eight_concurrent_writer_processes_lose_nothing(tmp_path):
    path = tmp_path / "shared.duckdb"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(w)], stderr=subprocess.PIPE)
        for w in range(8)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    hist = Registry(path).history("concurrent")
    assert len(hist) == 48
    assert sorted(hist["estimate"].astype(int)) == sorted(w * 100 + i for w in range(8) for i in range(6))
    assert hist["run_id"].nunique() == 48


def test_a_failed_write_leaves_the_registry_consistent(tmp_path, monkeypatch):
    reg = Registry(tmp_path / "reg.duckdb")
    reg.record(_result(1.0), spec=SPEC)
    calls = {"n": 0}
    real_insert = registry._insert

    def failing_insert(con, row):
        calls["n"] += 1
        if calls["n"] == 2:
            raise duckdb.IOException("disk full")
        real_insert(con, row)

    monkeypatch.setattr(registry, "_insert", failing_insert)
    with pytest.raises(RegistryError, match="could not write to the registry .*disk full"):
        reg.record([_result(2.0), _result(3.0, "did")], spec=SPEC)
    monkeypatch.setattr(registry, "_insert", real_insert)
    assert reg.history("geo-test")["estimate"].tolist() == [1.0]  # nothing of the failed run
    reg.record(_result(4.0), spec=SPEC)
    assert reg.history("geo-test")["estimate"].tolist() == [1.0, 4.0]


def test_a_writer_killed_mid_transaction_leaves_the_registry_consistent(tmp_path):
    path = tmp_path / "reg.duckdb"
    Registry(path).record(_result(1.0), spec=SPEC)
    script = textwrap.dedent(
        """
        import os, sys
        from causal_kit.registry import Registry, _insert, _now
        reg = Registry(sys.argv[1])
        with reg.connect() as con:
            con.begin()
            _insert(con, {"run_id": "half", "timestamp": _now(), "kind": "estimate",
                          "name": "geo-test", "method": "sdid", "estimate": 99.0})
            os._exit(1)  # die holding the lock, with the transaction open
        """
    )
    proc = subprocess.run([sys.executable, "-c", script, str(path)], timeout=60)
    assert proc.returncode == 1
    reg = Registry(path, timeout=10)
    assert reg.history("geo-test")["estimate"].tolist() == [1.0]
    reg.record(_result(2.0), spec=SPEC)  # the lock died with the process
    assert reg.history("geo-test")["estimate"].tolist() == [1.0, 2.0]


def _make_v0(path):
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE runs (run_id VARCHAR, timestamp TIMESTAMP, name VARCHAR, method VARCHAR, "
        "estimate DOUBLE, se DOUBLE, ci_low DOUBLE, ci_high DOUBLE, p_value DOUBLE, spec_hash VARCHAR)"
    )
    con.execute("INSERT INTO runs VALUES ('old', TIMESTAMP '2024-01-01 00:00:00', 'geo-test', 'did', "
                "0.5, 0.1, 0.3, 0.7, 0.02, 'h0')")
    con.close()


@pytest.mark.parametrize("start", [0, 1])
def test_migrating_an_older_file(tmp_path, start):
    path = tmp_path / f"v{start}.duckdb"
    _make_v0(path)
    if start == 1:
        con = duckdb.connect(str(path))
        registry.MIGRATIONS[0](con)
        con.execute("INSERT INTO schema_version VALUES (1, NULL)")
        con.close()
    reg = Registry(path)
    assert reg.schema_version() == SCHEMA_VERSION
    reg.record(_result(2.0), spec=SPEC)
    hist = reg.history("geo-test")
    assert hist["run_id"].tolist()[0] == "old"
    assert hist["kind"].tolist() == ["estimate", "estimate"]
    assert hist["estimate"].tolist() == [0.5, 2.0]
    assert set(registry.COLUMNS) <= set(hist.columns)
    con = duckdb.connect(str(path), read_only=True)
    versions = [r[0] for r in con.execute("SELECT version FROM schema_version ORDER BY version").fetchall()]
    con.close()
    assert versions[-1] == SCHEMA_VERSION


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.duckdb"
    Registry(path).record(_result(), spec=SPEC)
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (?, NULL)", [SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(RegistryError, match="newer than this causal_kit understands"):
        Registry(path).history("geo-test")


def test_design_runs_are_recorded_separately(tmp_path):
    class FakeDesign:  # the registry only needs to_dict() / to_json() of a design result
        method = "sdid"

        def to_dict(self):
            return {"mde": 0.04, "duration_weeks": 6, "assignment": [1, 2]}

    reg = Registry(tmp_path / "reg.duckdb")
    reg.record_design(FakeDesign(), spec=SPEC)
    assert reg.history("geo-test").empty
    designs = reg.history("geo-test", kind="design")
    assert designs["kind"].tolist() == ["design"]
    assert json.loads(designs["details"].iloc[0]) == {"mde": 0.04, "duration_weeks": 6}


def test_the_data_period_of_each_run_is_recorded(tmp_path):
    """``causal_kit.estimate`` notes the data's last period; the registry keeps it for the history axis."""
    import causal_kit as ck
    from causal_kit.report.history import data_period

    data = ck.datasets.load("california_prop99")
    spec = ExperimentSpec(name="p99", design="did", outcome="PacksPerCapita", unit="State", time="Year",
                          treatment="treated")
    reg = Registry(tmp_path / "reg.duckdb")
    for last in (1995, 2000):
        reg.record(ck.estimate(data[data["Year"] <= last], spec), spec=spec)
    hist = reg.history("p99")
    assert hist["data_end"].tolist() == ["1995", "2000"]
    x, title = data_period(hist)
    assert title == "Data through" and [d.year for d in x] == [1995, 2000]


def test_run_rows_are_the_runs_frame_as_plain_dicts(tmp_path):
    import math

    import pandas as pd

    import causal_kit as ck
    from causal_kit.registry import Registry

    reg = Registry(tmp_path / "r.duckdb")
    assert reg.run_rows() == []
    spec = ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat", pre_covariate="pre")
    reg.record(ck.estimate(ck.datasets.load("ab_cuped_sim"), spec), spec=spec)
    (frame_row,), (plain,) = reg.runs().to_dict("records"), reg.run_rows()
    assert set(plain) == set(frame_row)
    for key, value in frame_row.items():
        missing = value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
        assert plain[key] is None if missing else plain[key] == value, key
