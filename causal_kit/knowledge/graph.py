"""Knowledge-graph export: evidence records as JSON-LD and RDF, with a small published vocabulary.

Each record becomes one node of type ``ck:EvidenceRecord`` (also a ``prov:Entity``) whose nested
parts are typed nodes (``ck:Intervention``, ``ck:Outcome``, ``ck:Population``, ``ck:Effect``,
``ck:Verdict``, ``ck:Assumption``, ``ck:Diagnostic``, ...). Properties are the record's field
names in the ``ck:`` namespace (``ck:estimate``, ``ck:ci_low``, ``ck:status``); provenance
follows PROV-O: the record ``prov:wasGeneratedBy`` a run (``prov:Activity``) that ``prov:used``
the data (by fingerprint) and the spec (by hash) and ``prov:wasAssociatedWith`` the software, at
``prov:generatedAtTime``. Records link to their study (``ck:inStudy``, a ``ck:Study``), their
report (``ck:hasReport``, a ``ck:Report``) and related records (``ck:relatedRecord``).

JSON-LD is written directly as JSON (fast: no RDF library on the export path) and read back
into records unchanged (:func:`read_jsonld`); Turtle goes through rdflib. :func:`vocabulary`
builds the vocabulary as an RDF graph; ``vocab.ttl`` beside this module is its published form.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .record import (
    AssumptionCheck,
    BusinessEffect,
    DecisionInfo,
    DiagnosticInfo,
    Effect,
    EvidenceError,
    EvidenceRecord,
    Intervention,
    Links,
    OutcomeInfo,
    Population,
    Provenance,
    Related,
    VerdictInfo,
    slug,
)

__all__ = ["CK", "PROV", "CONTEXT", "to_jsonld", "write_jsonld", "read_jsonld", "to_graph", "write_turtle",
           "vocabulary", "VOCAB_PATH"]

CK = "https://causal-kit.org/ns#"
PROV = "http://www.w3.org/ns/prov#"
VOCAB_PATH = Path(__file__).with_name("vocab.ttl")

#: The JSON-LD context: record fields are ``ck:`` terms; provenance terms are PROV-O's.
CONTEXT: dict[str, Any] = {
    "@vocab": CK,
    "ck": CK,
    "prov": PROV,
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "wasGeneratedBy": {"@id": "prov:wasGeneratedBy", "@type": "@id"},
    "generatedAtTime": {"@id": "prov:generatedAtTime", "@type": "xsd:dateTime"},
    "used": {"@id": "prov:used", "@type": "@id"},
    "wasAssociatedWith": {"@id": "prov:wasAssociatedWith", "@type": "@id"},
    "label": "rdfs:label",
    "versions": {"@id": "ck:versions", "@type": "@json"},
}

#: Node type of each nested part (the field that holds it -> ck class).
_TYPES: dict[type[BaseModel], str] = {
    Intervention: "Intervention", OutcomeInfo: "Outcome", Population: "Population", Effect: "Effect",
    BusinessEffect: "BusinessEffect", VerdictInfo: "Verdict", DecisionInfo: "Decision",
    AssumptionCheck: "Assumption", DiagnosticInfo: "Diagnostic", Provenance: "Provenance", Links: "Links",
    Related: "RelatedRecord",
}
#: Keys the export adds around a record (dropped when reading records back).
_ADDED = {"@id", "@type", "inStudy", "hasReport", "wasGeneratedBy", "generatedAtTime", "relatedRecord"}


def _iri(base: str, *parts: str) -> str:
    text = ":".join(parts)
    return base + (text.replace(" ", "%20") if " " in text else text)


def _typed_record(d: dict[str, Any]) -> dict[str, Any]:
    """The record dict with ``@type`` on each nested part (written out per field: this runs 100,000 times)."""
    effect = d["effect"]
    links = d["links"]
    out = dict(d)
    for key, cls in (("intervention", "Intervention"), ("outcome", "Outcome"), ("population", "Population"),
                     ("verdict", "Verdict"), ("provenance", "Provenance")):
        out[key] = {"@type": cls, **d[key]}
    if d.get("decision"):
        out["decision"] = {"@type": "Decision", **d["decision"]}
    out["effect"] = {"@type": "Effect", **effect, "business": {"@type": "BusinessEffect", **effect["business"]}}
    out["assumptions"] = [{"@type": "Assumption", **a, "diagnostics": [{"@type": "Diagnostic", **x}
                                                                       for x in a["diagnostics"]]}
                          for a in d["assumptions"]]
    out["links"] = {"@type": "Links", **links, "related": [{"@type": "RelatedRecord", **r} for r in links["related"]]}
    return out


def _node(rec: EvidenceRecord | dict[str, Any], base: str) -> dict[str, Any]:
    dumped = rec.model_dump(mode="json") if isinstance(rec, EvidenceRecord) else rec
    node: dict[str, Any] = {"@id": _iri(base, "record", dumped["id"]), "@type": ["EvidenceRecord", "prov:Entity"],
                            **_typed_record(dumped)}
    prov, links = dumped["provenance"], dumped["links"]
    used = [_iri(base, kind, prov[key]) for kind, key in (("data", "data_fingerprint"), ("spec", "spec_hash"))
            if prov.get(key)]
    run: dict[str, Any] = {"@id": _iri(base, "run", prov["run_id"]), "@type": ["Run", "prov:Activity"], "used": used}
    software = (prov.get("versions") or {}).get("causal_kit")
    if software:
        run["wasAssociatedWith"] = _iri(base, "software", "causal_kit", software)
    node["wasGeneratedBy"] = run
    if prov.get("recorded_at"):
        node["generatedAtTime"] = prov["recorded_at"]
    node["inStudy"] = {"@id": _iri(base, "study", slug(dumped["study"])), "@type": "Study", "label": dumped["study"]}
    report = links.get("report")
    if report:
        node["hasReport"] = {"@id": Path(report).as_uri() if Path(report).is_absolute()
                             else _iri(base, "report", report), "@type": "Report"}
    if links.get("related"):
        node["relatedRecord"] = [{"@id": _iri(base, "record", r["id"])} for r in links["related"]]
    return node


def to_jsonld(records: Sequence[EvidenceRecord | dict[str, Any]], *, base: str = "urn:causal-kit:") -> dict[str, Any]:
    """The records as one JSON-LD document (``@context`` and ``@graph``).

    Examples
    --------
    >>> from causal_kit.knowledge.record import record_from_row
    >>> rec = record_from_row({"run_id": "r1", "name": "promo", "method": "did", "estimate": 0.5,
    ...                        "ci_low": 0.3, "ci_high": 0.7, "se": 0.1})
    >>> doc = to_jsonld([rec])
    >>> doc["@graph"][0]["@id"], doc["@graph"][0]["effect"]["@type"]
    ('urn:causal-kit:record:r1/did', 'Effect')
    """
    return {"@context": CONTEXT, "@graph": [_node(r, base) for r in records]}


def write_jsonld(records: Iterable[EvidenceRecord | dict[str, Any]], path: str | os.PathLike[str], *,
                 base: str = "urn:causal-kit:") -> Path:
    """Write the records as a JSON-LD file, one node per line inside ``@graph``; return the path."""
    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as handle:
        handle.write('{"@context": ' + json.dumps(CONTEXT) + ',\n"@graph": [\n')
        first = True
        for rec in records:
            if not first:
                handle.write(",\n")
            handle.write(json.dumps(_node(rec, base), ensure_ascii=False))
            first = False
        handle.write("\n]}\n")
    return out


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _ADDED}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def read_jsonld(path: str | os.PathLike[str]) -> list[EvidenceRecord]:
    """Read the records back from a file written by :func:`write_jsonld` (validated against the schema).

    Raises
    ------
    EvidenceError
        The file is not JSON-LD from this export, or a node is not a valid record.
    """
    try:
        doc = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EvidenceError(f"cannot read the JSON-LD file {str(path)!r}: {exc}") from None
    graph = doc.get("@graph") if isinstance(doc, dict) else None
    if not isinstance(graph, list):
        raise EvidenceError(f"{str(path)!r} has no '@graph' list; it was not written by the evidence export.")
    out = []
    for i, node in enumerate(graph):
        try:
            out.append(EvidenceRecord.model_validate(_strip(node)))
        except ValidationError as exc:
            raise EvidenceError(f"node {i} of {str(path)!r} is not a valid evidence record: "
                                f"{exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
    return out


def to_graph(records: Sequence[EvidenceRecord | dict[str, Any]], *, base: str = "urn:causal-kit:") -> Any:
    """The records as an ``rdflib.Graph`` (parsed from their JSON-LD), prefixes ``ck`` and ``prov`` bound."""
    import rdflib

    graph = rdflib.Graph()
    graph.bind("ck", CK)
    graph.bind("prov", PROV)
    graph.parse(data=json.dumps(to_jsonld(records, base=base)), format="json-ld")
    return graph


def _turtle_serializer(graph: Any) -> Any:
    """rdflib's Turtle serializer, writing doubles at full precision.

    rdflib abbreviates an ``xsd:double`` to six significant digits (``2.560257e-01``), which would
    silently round every estimate; this writes the shortest repr that reads back exactly.
    """
    from rdflib import Literal
    from rdflib.namespace import XSD
    from rdflib.plugins.serializers.turtle import TurtleSerializer

    class _Exact(TurtleSerializer):
        def label(self, node: Any, position: int) -> str:
            if isinstance(node, Literal) and node.datatype == XSD.double:
                value = float(node)
                if value == value and abs(value) != float("inf"):
                    return repr(value) if "e" in repr(value) else f"{value!r}e0"
            return super().label(node, position)

    return _Exact(graph)


def write_turtle(records: Sequence[EvidenceRecord | dict[str, Any]], path: str | os.PathLike[str], *,
                 base: str = "urn:causal-kit:") -> Path:
    """Write the records as RDF Turtle (doubles at full precision); return the path."""
    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as handle:
        _turtle_serializer(to_graph(records, base=base)).serialize(handle, encoding="utf-8")
    return out


_CLASSES = {
    "EvidenceRecord": "One piece of causal evidence: the answer of one method in one registered run.",
    "Study": "A named study (an experiment spec), run one or more times.",
    "Run": "One registered run of a study: the activity that generated its records.",
    "Report": "The HTML report of a run.",
    **{name: (model.__doc__ or name).strip().splitlines()[0] for model, name in _TYPES.items()},
}
_EXTRA_PROPERTIES = {
    "inStudy": "The study a record belongs to.", "hasReport": "The report of the run that produced the record.",
    "relatedRecord": "Another study's record sharing the intervention, the outcome or a market.",
}


def vocabulary() -> Any:
    """The ``ck:`` vocabulary as an ``rdflib.Graph``: classes and properties with labels and comments.

    Generated from the record models, so that it always covers every term the export writes;
    ``vocab.ttl`` beside this module is the published copy (a test keeps it in sync).
    """
    import rdflib
    from rdflib.namespace import OWL, RDF, RDFS

    ck = rdflib.Namespace(CK)
    prov = rdflib.Namespace(PROV)
    g = rdflib.Graph()
    g.bind("ck", ck)
    g.bind("prov", prov)
    g.bind("owl", OWL)
    onto = rdflib.URIRef(CK.rstrip("#"))
    g.add((onto, RDF.type, OWL.Ontology))
    g.add((onto, RDFS.label, rdflib.Literal("causal_kit evidence vocabulary")))
    g.add((onto, RDFS.comment, rdflib.Literal("Terms of the causal_kit evidence records; provenance uses PROV-O.")))
    for name, comment in sorted(_CLASSES.items()):
        g.add((ck[name], RDF.type, OWL.Class))
        g.add((ck[name], RDFS.label, rdflib.Literal(name)))
        g.add((ck[name], RDFS.comment, rdflib.Literal(comment)))
    g.add((ck.EvidenceRecord, RDFS.subClassOf, prov.Entity))
    g.add((ck.Run, RDFS.subClassOf, prov.Activity))
    props: dict[str, str] = dict(_EXTRA_PROPERTIES)
    for model in [EvidenceRecord, *_TYPES]:
        for fname, info in model.model_fields.items():
            props.setdefault(fname, info.description or fname.replace("_", " "))
    for name, comment in sorted(props.items()):
        g.add((ck[name], RDF.type, RDF.Property))
        g.add((ck[name], RDFS.label, rdflib.Literal(name)))
        g.add((ck[name], RDFS.comment, rdflib.Literal(comment)))
    return g
