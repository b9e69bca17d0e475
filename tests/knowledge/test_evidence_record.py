"""Evidence records: schema-valid for every registered method, faithful to the result, readable from old registries."""

from __future__ import annotations

import json
import math

import duckdb
import jsonschema
import pytest
from _faithful import result_numbers, unmatched
from cases import CASES, case_spec

from causal_kit import EffectEstimate, ExperimentSpec, estimate
from causal_kit.estimators import ESTIMATORS
from causal_kit.knowledge import (
    EvidenceError,
    EvidenceRecord,
    evidence_schema,
    link_related,
    record_dict_from_row,
    record_from_result,
    record_from_row,
    records,
)
from causal_kit.registry import Registry
from causal_kit.result import Diagnostic, make_lineage

VALIDATOR = jsonschema.Draft202012Validator(evidence_schema())


def _close(a, b):
    return (a is None and (b is None or not math.isfinite(b))) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


@pytest.fixture(scope="module", params=sorted(CASES))
def registered(request, tmp_path_factory):
    from causal_kit import datasets

    method = request.param
    spec = case_spec(method)
    (result,) = estimate(datasets.load(CASES[method][0]), spec)
    reg = Registry(tmp_path_factory.mktemp(method) / "runs.duckdb")
    run_id = reg.record(result, spec=spec, report_path="reports/x.html", source="bundled")
    return method, spec, result, reg, run_id


def test_every_registered_estimator_has_a_case():
    assert set(ESTIMATORS) <= set(CASES)


@pytest.mark.slow
def test_a_record_from_every_method_is_schema_valid_and_faithful(registered):
    method, spec, result, reg, run_id = registered
    (rec,) = records(reg)
    payload = json.loads(rec.model_dump_json())
    VALIDATOR.validate(payload)
    assert rec.id == f"{run_id}/{method}" and rec.effect.method == method
    for mine, theirs in ((rec.effect.estimate, result.estimate), (rec.effect.se, result.se),
                         (rec.effect.ci_low, result.ci[0]), (rec.effect.ci_high, result.ci[1]),
                         (rec.effect.p_value, result.p_value), (rec.effect.alpha, result.alpha)):
        assert _close(mine, theirs)
    assert rec.population.n_obs == result.n_obs and rec.population.n_units == result.n_units
    assert rec.provenance.spec_hash == spec.spec_hash
    assert rec.provenance.data_fingerprint == result.lineage.data_fingerprint
    assert rec.provenance.filled_in == [] and rec.links.report.endswith("x.html")
    statuses = {d.name: d.status for a in rec.assumptions for d in a.diagnostics}
    assert statuses == {d.name: d.status for d in result.diagnostics}
    groups = {a.assumption for a in rec.assumptions}
    assert groups == {d.assumption for d in result.diagnostics}
    # the registry row and the live result give the same record (apart from run bookkeeping)
    direct = record_from_result(result, spec=spec, run_id=run_id)
    assert direct.effect == rec.effect and direct.verdict == rec.verdict and direct.assumptions == rec.assumptions
    assert EvidenceRecord.model_validate_json(rec.model_dump_json()) == rec
    # the bulk export path (plain dicts) writes exactly the validated record
    (row,) = reg.runs().to_dict("records")
    assert record_dict_from_row(row, registry_version=reg.schema_version()) == json.loads(rec.model_dump_json())
    # the plain-language explanation of every method is number-faithful
    assert unmatched(result.explain(), result_numbers(result)) == []


def test_business_units_follow_the_outcome_model():
    from causal_kit import datasets

    spec = case_spec("did")  # log outcome: the business effect is exp(b) - 1
    (result,) = estimate(datasets.load("mpdta"), spec)
    rec = record_from_result(result, spec=spec)
    assert rec.outcome.scale == "log" and rec.effect.business.relative
    assert rec.effect.business.effect == pytest.approx(math.expm1(result.estimate), rel=1e-12)
    VALIDATOR.validate(json.loads(rec.model_dump_json()))


def _row(**over):
    base = {"run_id": "r1", "name": "geo-test", "method": "did", "estimate": 0.5, "se": 0.1, "ci_low": 0.3,
            "ci_high": 0.7, "p_value": 0.02}
    return {**base, **over}


def test_a_v0_registry_file_is_migrated_and_exported(tmp_path):
    path = tmp_path / "v0.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE runs (run_id VARCHAR, timestamp TIMESTAMP, name VARCHAR, method VARCHAR, "
                "estimate DOUBLE, se DOUBLE, ci_low DOUBLE, ci_high DOUBLE, p_value DOUBLE, spec_hash VARCHAR)")
    con.execute("INSERT INTO runs VALUES ('old', TIMESTAMP '2024-01-01', 'geo-test', 'did', 0.5, 0.1, 0.3, 0.7, "
                "0.02, 'h0')")
    con.close()
    (rec,) = records(Registry(path))
    VALIDATOR.validate(json.loads(rec.model_dump_json()))
    assert rec.provenance.registry_schema_version is not None and rec.provenance.spec_hash == "h0"
    assert rec.provenance.filled_in == ["spec", "alpha", "diagnostics"]
    assert rec.effect.alpha == 0.05 and rec.population.n_obs is None and rec.assumptions == []
    assert rec.verdict.label == "Moderate"  # nothing could be checked: never "Robust"


def test_a_row_with_names_only_diagnostics_gets_its_assumption_groups():
    rec = record_from_row(_row(diagnostics=json.dumps([{"name": "pre_trends", "status": "fail"},
                                                       {"name": "custom_check", "status": "pass"}]),
                               alpha=0.05, spec="name: geo-test\ndesign: did\noutcome: sales\n"))
    groups = {a.assumption: a.status for a in rec.assumptions}
    assert groups == {"parallel_trends": "fail", "other": "pass"}
    assert rec.provenance.filled_in == ["assumptions"] and rec.verdict.label == "Fragile"


@pytest.mark.parametrize(("row", "message"), [
    (_row(kind="design"), "only estimate runs are evidence"),
    (_row(run_id=None), "lacks its 'run_id'"),
    (_row(estimate=float("nan")), "has no finite estimate"),
    (_row(details="{not json"), "malformed JSON"),
    (_row(spec="a: [unclosed"), "spec that is not YAML"),
])
def test_unusable_rows_raise_a_named_error(row, message):
    with pytest.raises(EvidenceError, match=message):
        record_from_row(row)


def _stand_in(name: str, intervention: str | None = None, markets=(), outcome="orders") -> tuple[EffectEstimate, ExperimentSpec]:
    report = {"intervention": intervention, "markets": list(markets)} if intervention else {"markets": list(markets)}
    spec = ExperimentSpec(name=name, design="ab", outcome=outcome, treatment="t", report=report)
    res = EffectEstimate("ab", "ATE", 1.0, 0.2, (0.6, 1.4), 0.001, 0.05, 100, outcome=outcome, design="ab",
                         diagnostics=(Diagnostic("sample_ratio_mismatch", "pass", "ok", assumption="randomization"),),
                         lineage=make_lineage(spec, "fp"))
    return res, spec


def test_related_studies_are_linked_by_intervention_outcome_and_market(tmp_path):
    reg = Registry(tmp_path / "r.duckdb")
    for name, iv, markets, outcome in (("a", "Shorter delivery windows", ("DE", "FR"), "orders"),
                                       ("b", "shorter delivery  windows", ("US",), "revenue"),
                                       ("c", None, ("fr",), "revenue"), ("a", "Shorter delivery windows", (), "orders")):
        res, spec = _stand_in(name, iv, markets, outcome)
        reg.record(res, spec=spec)
    recs = records(reg)
    by_study = {}
    for r in recs:
        by_study.setdefault(r.study, r)  # the first run of each study
    rel = {x.study: x.relations for x in by_study["a"].links.related}
    assert rel == {"b": ["same_intervention"], "c": ["same_markets"]}
    rel_b = {x.study: x.relations for x in by_study["b"].links.related}
    assert rel_b == {"a": ["same_intervention"], "c": ["same_outcome"]}
    # the newest record of another study is linked, never a record of the same study
    assert by_study["b"].links.related[0].id == recs[-1].id
    assert all(x.study != "a" for x in by_study["a"].links.related)


def test_the_related_list_is_capped():
    recs = [record_from_row(_row(run_id=f"r{i}", name=f"s{i}", spec="name: s\noutcome: y\n")) for i in range(40)]
    linked = link_related(recs, limit=5)
    assert all(len(r.links.related) == 5 for r in linked)
    assert [x.study for x in linked[0].links.related] == ["s39", "s38", "s37", "s36", "s35"]


def test_the_schema_is_published_and_rejects_a_bad_record():
    schema = evidence_schema()
    assert schema["$id"].endswith("/1.0.json") and "EvidenceRecord" == schema["title"]
    rec = record_from_row(_row())
    bad = json.loads(rec.model_dump_json())
    bad["verdict"]["label"] = "Great"
    with pytest.raises(jsonschema.ValidationError, match="Great"):
        VALIDATOR.validate(bad)


def test_the_registry_keeps_what_the_business_translation_needs(tmp_path, load):
    spec = ExperimentSpec(name="checkout", design="ab", outcome="y", treatment="treat", pre_covariate="pre")
    result = estimate(load("ab_cuped_sim"), spec)
    reg = Registry(tmp_path / "r.duckdb")
    reg.record(result, spec=spec)
    (rec,) = records(reg)
    direct = record_from_result(result, spec=spec)
    assert rec.effect.business == direct.effect.business and rec.effect.business.lift is not None
    assert rec.assumptions == direct.assumptions and rec.provenance.filled_in == []
    assert rec.assumptions[0].diagnostics[0].message  # the full diagnostic, not only its status
