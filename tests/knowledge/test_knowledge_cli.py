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
