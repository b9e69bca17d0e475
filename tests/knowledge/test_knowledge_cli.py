"""The knowledge commands of the CLI: the evidence schema and the registry export formats."""

from __future__ import annotations

import json

import jsonschema
import pytest
from _cli_helpers import _isolated_registry, run  # noqa: F401

from causal_kit.knowledge import evidence_schema


def test_schema_evidence_prints_the_published_schema(capsys):
    code, out, _ = run(capsys, "schema", "evidence")
    assert code == 0
    schema = json.loads(out)
    assert schema == json.loads(json.dumps(evidence_schema()))
    jsonschema.Draft202012Validator.check_schema(schema)
    code, out, _ = run(capsys, "schema")
    assert code == 0 and "EvidenceRecord" not in out


def _record_one(path):
    import causal_kit as ck
    from causal_kit.registry import Registry

    spec = ck.ExperimentSpec(name="checkout", design="ab", outcome="y", treatment="treat", pre_covariate="pre",
                             report={"intervention": "new checkout"})
    Registry(path).record(ck.estimate(ck.datasets.load("ab_cuped_sim"), spec), spec=spec)


def test_registry_export_writes_jsonld_turtle_and_tables(tmp_path, capsys):
    import pandas as pd
    import rdflib

    from causal_kit.knowledge.graph import read_jsonld

    reg = tmp_path / "runs.duckdb"
    _record_one(reg)
    code, _, err = run(capsys, "--registry", reg, "registry", "export", "--format", "jsonld", "--out", tmp_path / "e.jsonld")
    assert code == 0, err
    (rec,) = read_jsonld(tmp_path / "e.jsonld")
    assert rec.intervention.key == "new-checkout"
    code, _, _ = run(capsys, "--registry", reg, "registry", "export", "--format", "ttl", "--out", tmp_path / "e.ttl")
    assert code == 0 and len(rdflib.Graph().parse(tmp_path / "e.ttl", format="turtle")) > 50
    code, out, _ = run(capsys, "--json", "--registry", reg, "registry", "export", "--format", "parquet",
                       "--out", tmp_path / "tables")
    assert code == 0 and len(json.loads(out)["paths"]) == 3
    assert pd.read_parquet(tmp_path / "tables" / "effects.parquet")["estimate"].iloc[0] == rec.effect.estimate
    # a .parquet file name keeps the raw runs table
    code, _, _ = run(capsys, "--registry", reg, "registry", "export", "--format", "parquet", "--out", tmp_path / "r.parquet")
    assert code == 0 and "spec_hash" in pd.read_parquet(tmp_path / "r.parquet").columns


def test_serve_mcp_refuses_a_malformed_source(capsys, tmp_path):
    code, _, err = run(capsys, "--registry", tmp_path / "r.duckdb", "serve-mcp", "--source", "nopath")
    assert code == 2 and "--source takes NAME=PATH" in err


@pytest.mark.slow
def test_serve_mcp_over_stdio_answers_a_client(tmp_path):
    import os
    import sys
    from pathlib import Path

    import anyio
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    import causal_kit as ck

    data = tmp_path / "ab.csv"
    ck.datasets.load("ab_cuped_sim").to_csv(data, index=False)
    root = str(Path(__file__).resolve().parents[2])
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "causal_kit.cli", "--registry", str(tmp_path / "r.duckdb"), "serve-mcp",
                                      "--source", f"checkout={data}"],
        env={**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")})
    seen = {}

    async def main():
        async with Client(params) as client:
            seen["tools"] = sorted(t.name for t in (await client.list_tools()).tools)
            out = await client.call_tool("describe_data", {"source": "checkout"})
            seen["rows"] = out.structured_content["result"]["n_rows"]

    anyio.run(main)
    assert seen["tools"] == sorted(["describe_data", "draft_spec", "plan_design", "estimate", "explain_result",
                                    "query_evidence"])
    assert seen["rows"] == 10_000
