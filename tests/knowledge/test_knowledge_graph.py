"""JSON-LD / Turtle / Parquet export: round trips, the vocabulary, and the SPARQL examples of the docs."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
import rdflib
from rdflib.compare import isomorphic

from causal_kit import Diagnostic, EffectEstimate, ExperimentSpec
from causal_kit.errors import SpecError
from causal_kit.knowledge import EvidenceError, records
from causal_kit.knowledge.collect import record_dicts
from causal_kit.knowledge.export import export_registry
from causal_kit.knowledge.graph import (
    CK,
    VOCAB_PATH,
    read_jsonld,
    to_graph,
    vocabulary,
    write_jsonld,
    write_turtle,
)
from causal_kit.knowledge.tables import read_tables, tables, write_tables
from causal_kit.registry import Registry
from causal_kit.result import make_lineage

DOCS = Path(__file__).resolve().parents[2] / "docs" / "knowledge.md"


def _result(name, outcome_label, estimate, ci, trends="pass", intervention="shorter delivery windows"):
    spec = ExperimentSpec(name=name, design="did", outcome="orders", treatment="t", unit="geo", time="week",
                          report={"outcome_label": outcome_label, "intervention": intervention, "markets": ["DE"]})
    res = EffectEstimate("did", "ATT", estimate, (ci[1] - ci[0]) / 3.92, ci, 0.01, 0.05, 400, outcome="orders",
                         design="did", n_units=20, lineage=make_lineage(spec, f"fp-{name}"),
                         diagnostics=(Diagnostic("pre_trends", trends, "checked", p_value=0.4, assumption="parallel_trends"),))
    return res, spec


@pytest.fixture
def registry(tmp_path):
    reg = Registry(tmp_path / "runs.duckdb")
    for args in (("north", "repeat orders", 0.123456789012345, (0.05, 0.2)),
                 ("south", "repeat orders", 0.3, (0.1, 0.5), "fail"),
                 ("east", "repeat orders", 0.02, (-0.1, 0.14)),
                 ("west", "basket size", 1.5, (0.5, 2.5), "pass", "free returns")):
        res, spec = _result(*args)
        reg.record(res, spec=spec, report_path=tmp_path / f"{args[0]}.html")
    return reg


def test_jsonld_round_trips_to_equal_records(registry, tmp_path):
    recs = records(registry)
    path = write_jsonld(recs, tmp_path / "e.jsonld")
    assert read_jsonld(path) == recs
    doc = json.loads(path.read_text())
    assert doc["@graph"][0]["effect"]["estimate"] == 0.123456789012345
    # the bulk (dict) path writes the same document as the model path
    bulk = export_registry(tmp_path / "bulk.jsonld", "jsonld", registry=registry)[0]
    assert json.loads(bulk.read_text()) == doc


def test_turtle_and_jsonld_are_the_same_graph_at_full_precision(registry, tmp_path):
    recs = records(registry)
    ttl = write_turtle(recs, tmp_path / "e.ttl")
    from_ttl = rdflib.Graph().parse(ttl, format="turtle")
    from_jsonld = rdflib.Graph().parse(write_jsonld(recs, tmp_path / "e.jsonld"), format="json-ld")
    assert isomorphic(from_ttl, from_jsonld)
    values = {float(o) for o in from_ttl.objects(None, rdflib.URIRef(CK + "estimate"))}
    assert 0.123456789012345 in values  # rdflib alone would write 1.234568e-01


def test_every_term_written_is_in_the_published_vocabulary(registry):
    graph = to_graph(records(registry))
    vocab = vocabulary()
    declared = set(vocab.subjects())
    used = {p for p in graph.predicates() if str(p).startswith(CK)}
    used |= {o for o in graph.objects(None, rdflib.RDF.type) if str(o).startswith(CK)}
    assert used - declared == set()
    published = rdflib.Graph().parse(VOCAB_PATH, format="turtle")
    assert isomorphic(published, vocab), "regenerate causal_kit/knowledge/vocab.ttl from graph.vocabulary()"


def _sparql_blocks():
    return re.findall(r"```sparql\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)


def test_the_sparql_examples_of_the_docs_answer_their_questions(registry):
    graph = to_graph(records(registry))
    trends, established, provenance = _sparql_blocks()
    rows = list(graph.query(trends))
    assert [(str(r.study), float(r.estimate)) for r in rows] == [("east", 0.02), ("north", 0.123456789012345)]
    rows = list(graph.query(established))
    assert {(str(r.intervention), str(r.outcome)) for r in rows} == {
        ("shorter delivery windows", "repeat orders"), ("free returns", "basket size")}
    assert all(str(r.conclusion) == "positive" for r in rows) and len(rows) == 3
    rows = list(graph.query(provenance))
    used = {str(r.used) for r in rows}
    assert "urn:causal-kit:data:fp-north" in used and any(u.startswith("urn:causal-kit:spec:") for u in used)
    assert len({str(r.record) for r in rows}) == 4


def test_parquet_tables_round_trip_and_agree_with_the_records(registry, tmp_path):
    recs = records(registry)
    written = write_tables(recs, tmp_path / "tables")
    back = read_tables(tmp_path / "tables")
    expected = tables(recs)
    for name in written:
        pd.testing.assert_frame_equal(back[name], expected[name], check_dtype=False)
    effects = back["effects"].set_index("record_id")
    for rec in recs:
        row = effects.loc[rec.id]
        assert row["estimate"] == rec.effect.estimate and row["verdict"] == rec.verdict.label
    assert len(back["diagnostics"]) == 4 and set(back["studies"]["study"]) == {"north", "south", "east", "west"}
    assert back["studies"].set_index("study").loc["north", "n_runs"] == 1


def test_dict_and_model_paths_agree(registry):
    assert record_dicts(registry) == [r.model_dump(mode="json") for r in records(registry)]


def test_export_errors_are_named(registry, tmp_path):
    with pytest.raises(SpecError, match="'format' parameter of export_registry"):
        export_registry(tmp_path / "x", "xml", registry=registry)
    (tmp_path / "file").write_text("x")
    with pytest.raises(EvidenceError, match="go into a folder"):
        write_tables(records(registry), tmp_path / "file")
    with pytest.raises(EvidenceError, match="lacks studies.parquet"):
        read_tables(tmp_path)
    (tmp_path / "bad.jsonld").write_text('{"@graph": [{"id": 1}]}')
    with pytest.raises(EvidenceError, match="node 0 .* is not a valid evidence record"):
        read_jsonld(tmp_path / "bad.jsonld")
    (tmp_path / "notjson.jsonld").write_text("nope")
    with pytest.raises(EvidenceError, match="cannot read the JSON-LD file"):
        read_jsonld(tmp_path / "notjson.jsonld")


def test_non_finite_numbers_are_null_not_nan(tmp_path):
    reg = Registry(tmp_path / "r.duckdb")
    res, spec = _result("x", "orders", 0.5, (0.1, 0.9))
    reg.record(res.with_updates(p_value=float("nan")), spec=spec)
    path = export_registry(tmp_path / "e.jsonld", "jsonld", registry=reg)[0]
    text = path.read_text()
    assert "NaN" not in text and json.loads(text)["@graph"][0]["effect"]["p_value"] is None
    assert not math.isnan(read_jsonld(path)[0].effect.estimate)
