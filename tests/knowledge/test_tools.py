"""The assistant tools: a scripted MCP conversation in process, schema errors, guardrails and the call log."""

from __future__ import annotations

import json

import anyio
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import causal_kit as ck
from causal_kit.knowledge.mcp_server import build_server
from causal_kit.knowledge.tools import TOOLS, Toolbox, mask_credentials


@pytest.fixture
def box(tmp_path):
    data = tmp_path / "checkout.csv"
    ck.datasets.load("ab_cuped_sim").to_csv(data, index=False)
    return Toolbox(registry=tmp_path / "runs.duckdb", sources={"checkout": data}, timeout=60)


def _conversation(server):
    from mcp import Client

    transcript = []

    async def main():
        async with Client(server) as client:
            listed = await client.list_tools()
            transcript.append({t.name: (t.input_schema, t.output_schema) for t in listed.tools})

            async def call(name, arguments):
                result = await client.call_tool(name, arguments)
                transcript.append((name, result.is_error, result.structured_content))
                return result.structured_content

            draft = await call("draft_spec", {"spec": {"name": "checkout", "design": "ab", "outcome": "y",
                                                       "treatment": "treet", "pre_covariate": "pre",
                                                       "report": {"intervention": "one-page checkout"}},
                                              "source": "checkout"})
            fixed = draft["result"]["fixed_spec"]
            again = await call("draft_spec", {"spec": fixed, "source": "checkout"})
            assert again["result"]["valid"]
            est = await call("estimate", {"spec": fixed, "source": "checkout"})
            await call("explain_result", {"result_id": est["result"]["result_id"]})
            await call("query_evidence", {"intervention": "one-page checkout"})
            await call("estimate", {"spec": fixed, "source": "/etc/passwd"})
            await call("estimate", {"spec": fixed})

    anyio.run(main)
    return transcript


def test_a_scripted_conversation_drafts_fixes_estimates_and_queries(box):
    transcript = _conversation(build_server(box))
    schemas = transcript[0]
    assert set(schemas) == set(TOOLS)
    draft, redraft, est, explain, query, refused, malformed = transcript[1:]
    problem = draft[2]["result"]["problems"][0]
    assert draft[1] is False and problem["field"] == "treatment"
    assert "'treet'" in problem["message"] and problem["suggestion"] == "did you mean 'treat'?"
    assert est[1] is False and est[2]["ok"]
    res = est[2]["result"]
    direct = ck.estimate(ck.datasets.load("ab_cuped_sim"), ck.ExperimentSpec(
        name="checkout", design="ab", outcome="y", treatment="treat", pre_covariate="pre"))
    assert res["estimate"] == pytest.approx(direct.estimate, rel=1e-12) and res["verdict"] == "Robust"
    assert explain[2]["result"]["text"] == res["explanation"] and "How sure: Robust" in res["explanation"]
    hits = query[2]["result"]["records"]
    assert [h["id"] for h in hits] == [res["result_id"]] and hits[0]["conclusion"] == "positive"
    # every result matches its published output schema
    for name, _, payload in (draft, redraft, est, explain, query):
        jsonschema.validate(payload, schemas[name][1])
    # a path is refused, a missing argument is a schema error: both answered, neither crashes the server
    assert refused[1] is True and refused[2]["error"]["type"] == "refused"
    assert "configured sources (checkout)" in refused[2]["error"]["message"]
    assert malformed[1] is True and malformed[2]["error"]["type"] == "schema_error"
    assert malformed[2]["error"]["problems"][0]["field"] == "source"
    log = box.calls()
    assert log["tool"].tolist() == ["draft_spec", "draft_spec", "estimate", "explain_result", "query_evidence",
                                    "estimate", "estimate"]
    assert log["status"].tolist()[-2:] == ["refused", "schema_error"]
    assert json.loads(log["arguments"].iloc[2])["source"] == "checkout"
    (run,) = box.registry.runs()["source"].tolist()
    assert run == "tool:checkout"


@pytest.mark.parametrize(("tool", "arguments", "kind", "message"), [
    ("estimate", {"spec": {}, "source": "checkout", "code": "import os"}, "schema_error", "code: Extra inputs"),
    ("estimate", "not an object", "schema_error", "do not match its schema"),
    ("query_evidence", {"limit": 10_000}, "schema_error", "limit: Input should be less than or equal to 200"),
    ("run_python", {"code": "1"}, "unknown_tool", "there is no tool 'run_python'"),
    ("describe_data", {"source": "sales"}, "refused", "'sales' is an unknown source"),
    ("describe_data", {"source": "duckdb://x.duckdb?query=DROP TABLE runs"}, "refused", "is a path or URL"),
    ("estimate", {"spec": {"name": "x", "design": "ab", "outcome": "y", "treatment": "treat",
                           "data": {"path": "/etc/shadow"}}, "source": "checkout"}, "refused", "spec.data is not accepted"),
    ("explain_result", {"result_id": "nope/ab"}, "DataError", "no result 'nope/ab' in the registry"),
    ("describe_data", {"source": "checkout", "columns": ["revenue"]}, "DataError", "has no column"),
])
def test_bad_calls_return_named_errors(box, tool, arguments, kind, message):
    out = box.call(tool, arguments)
    assert out["ok"] is False and out["error"]["type"] == kind
    assert message in out["error"]["message"]


def test_the_size_limit_is_enforced(box):
    box.max_rows = 100
    out = box.call("describe_data", {"source": "checkout"})
    assert out["error"]["type"] == "limit" and "above the 100-row limit" in out["error"]["message"]


def test_the_time_limit_is_enforced(box, monkeypatch):
    import time

    box.timeout = 0.2
    monkeypatch.setattr(box, "estimate", lambda **kw: time.sleep(2))
    out = box.call("estimate", {"spec": {}, "source": "checkout"})
    assert out["error"]["type"] == "limit" and "longer than the 0.2 s limit" in out["error"]["message"]


def test_credentials_are_masked_in_the_log(box):
    box.call("describe_data", {"source": "checkout", "token": "abc123", "note": "s3://me:hunter2@bucket/x"})
    logged = box.calls()["arguments"].iloc[-1]
    assert "abc123" not in logged and "hunter2" not in logged and "***" in logged
    assert mask_credentials(["postgres://u:p@h/db"]) == ["postgres://u:***@h/db"]


def test_describe_data_and_plan_design(box):
    out = box.call("describe_data", {"source": "checkout"})
    cols = {c["name"]: c for c in out["result"]["columns"]}
    assert out["result"]["n_rows"] == 10_000 and cols["treat"]["min"] == 0 and cols["treat"]["max"] == 1
    plan = box.call("plan_design", {"spec": {"name": "c", "design": "ab", "outcome": "y", "treatment": "treat"},
                                    "source": "checkout", "power": 0.8})
    from causal_kit.design.power import power_means

    y = ck.datasets.load("ab_cuped_sim")["y"]
    ref = power_means(n=5000, power=0.8, sd=float(y.std()))
    assert plan["ok"] and plan["result"]["mde"] == pytest.approx(ref.effect, rel=1e-12)


def test_the_tools_publish_their_schemas():
    for tool in Toolbox.tools():
        jsonschema.Draft202012Validator.check_schema(tool["input_schema"])
        jsonschema.Draft202012Validator.check_schema(tool["output_schema"])
        assert tool["input_schema"].get("additionalProperties") is False


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tool=st.sampled_from(sorted(TOOLS) + ["nope"]),
       arguments=st.one_of(st.none(), st.integers(), st.text(max_size=20),
                           st.dictionaries(st.sampled_from(["spec", "source", "result_id", "limit", "columns", "x"]),
                                           st.one_of(st.none(), st.integers(), st.text(max_size=10),
                                                     st.lists(st.text(max_size=5), max_size=3),
                                                     st.dictionaries(st.text(max_size=8), st.text(max_size=8),
                                                                     max_size=3)), max_size=4)))
def test_fuzzed_calls_never_raise(box, tool, arguments):
    box.log = False
    out = box.call(tool, arguments)
    assert out["ok"] in (True, False)
    if not out["ok"]:
        assert out["error"]["type"] != "internal_error", out["error"]


def test_draft_spec_suggests_fields_options_and_nested_fields(box):
    out = box.call("draft_spec", {"spec": {"name": "x", "design": "abb", "outcome": "y", "treatmnt": "treat",
                                           "report": {"curency": "USD"}}, "source": "checkout"})
    problems = {p["field"]: p for p in out["result"]["problems"]}
    assert problems["design"]["replacement"] == "ab" and problems["treatmnt"]["replacement"] == "treatment"
    assert problems["report.curency"]["suggestion"] == "did you mean 'currency'?"
    fixed = out["result"]["fixed_spec"]
    assert fixed == {"name": "x", "design": "ab", "outcome": "y", "treatment": "treat", "report": {"currency": "USD"}}
    again = box.call("draft_spec", {"spec": fixed, "source": "checkout"})
    assert again["result"]["valid"] and again["result"]["spec_hash"]
