"""The knowledge commands of the CLI: the evidence schema and the registry export formats."""

from __future__ import annotations

import json

import jsonschema
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
