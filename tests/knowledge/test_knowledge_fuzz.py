"""Fuzz of the knowledge entry points: any registry row, any effects and SEs, any JSON-LD -> a named error or a valid answer."""

from __future__ import annotations

import json
import math

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causal_kit.errors import CausalKitError
from causal_kit.knowledge import evidence_schema, record_from_row
from causal_kit.knowledge.graph import read_jsonld
from causal_kit.knowledge.synthesis import meta_analysis

VALIDATOR = jsonschema.Draft202012Validator(evidence_schema())
FLOATS = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6))
TEXT = st.one_of(st.none(), st.text(max_size=30))
ROWS = st.fixed_dictionaries(
    {"run_id": TEXT, "method": TEXT, "estimate": FLOATS},
    optional={"name": TEXT, "kind": st.sampled_from(["estimate", "design", None]), "se": FLOATS, "ci_low": FLOATS,
              "ci_high": FLOATS, "p_value": FLOATS, "alpha": FLOATS, "n_obs": FLOATS, "n_units": FLOATS,
              "diagnostics": st.one_of(TEXT, st.just('[{"name": "pre_trends", "status": "fail"}]'),
                                       st.just('[{"name": "x", "status": "weird", "assumption": "nope"}]')),
              "spec": st.one_of(TEXT, st.just("name: s\noutcome: y\nreport:\n  outcome_scale: log\n"),
                                st.just("report:\n  break_even: 0.02\n  currency: USD\n")),
              "details": st.one_of(TEXT, st.just('{"sequential": {"look": 2, "decision": "continue"}}')),
              "lineage": TEXT, "decision": TEXT, "timestamp": TEXT},
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(row=ROWS)
def test_any_registry_row_gives_a_valid_record_or_a_named_error(row):
    try:
        rec = record_from_row(row)
    except CausalKitError:
        return
    VALIDATOR.validate(json.loads(rec.model_dump_json()))
    if rec.verdict.label == "Robust":  # never a win on an interval including zero
        assert rec.effect.ci_low is not None and (rec.effect.ci_low > 0 or rec.effect.ci_high < 0)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(effects=st.lists(FLOATS, max_size=8), ses=st.lists(FLOATS, max_size=8),
       method=st.sampled_from(["REML", "DL", "ML"]), interval=st.sampled_from(["hartung_knapp", "normal", "x"]))
def test_any_effects_give_a_pooled_answer_or_a_named_error(effects, ses, method, interval):
    try:
        m = meta_analysis(effects, ses, method=method, interval=interval)
    except CausalKitError:
        return
    assert m.ci[0] <= m.estimate <= m.ci[1] and m.tau2 >= 0 and 0 <= m.i2 <= 100
    assert all(math.isfinite(x) for x in (m.estimate, m.se, m.tau2))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.recursive(st.one_of(st.none(), st.integers(), st.text(max_size=5)),
                        lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                st.dictionaries(st.sampled_from(["@graph", "id", "effect", "x"]),
                                                                inner, max_size=3)), max_leaves=10))
def test_any_json_document_reads_as_records_or_a_named_error(tmp_path, doc):
    path = tmp_path / "x.jsonld"
    path.write_text(json.dumps(doc))
    try:
        read_jsonld(path)
    except CausalKitError:
        pass
