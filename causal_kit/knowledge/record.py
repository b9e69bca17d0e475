"""Evidence records: one typed, self-describing record per registered estimate.

An :class:`EvidenceRecord` says what changed (intervention), what was measured (outcome, with its
unit and kind), on whom (population), how (estimand and method), what was found (the effect in
native and business units, with its interval), how far to trust it (the verdict of
:mod:`causal_kit.verdict` and the decision), what it rests on (assumptions with their diagnostic
status) and where it came from (spec hash, data fingerprint, versions, report, related studies).

Records are built from registry rows (:func:`record_from_row`) or straight from a result
(:func:`record_from_result`); :func:`evidence_schema` is the published JSON Schema.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ..errors import DataError
from ..outcome import business_impact, spec_of
from ..result import Diagnostic, EffectEstimate, Lineage
from ..verdict import verdict_from

__all__ = [
    "RECORD_VERSION", "EvidenceError", "EvidenceRecord", "Intervention", "OutcomeInfo", "Population", "Effect",
    "BusinessEffect", "VerdictInfo", "DecisionInfo", "AssumptionCheck", "DiagnosticInfo", "Provenance",
    "Links", "Related", "evidence_schema", "record_from_row", "record_dict_from_row", "record_from_result",
    "result_from_row",
    "ASSUMPTION_OF",
]

#: Version of the record layout this causal_kit writes (``record_version`` of every record).
RECORD_VERSION = "1.0"

Status = Literal["pass", "warn", "fail", "not_applicable"]
Relation = Literal["same_intervention", "same_outcome", "same_markets"]

#: Assumption group of the diagnostics older registry rows recorded by name only.
ASSUMPTION_OF: dict[str, str] = {
    "sample_ratio_mismatch": "randomization", "covariate_balance": "balance", "balance": "balance",
    "pre_trends": "parallel_trends", "pretrend_power": "parallel_trends", "honest_did": "sensitivity",
    "pre_period_fit": "fit", "pre_fit": "fit", "placebo_rank": "inference", "in_time_placebo": "specification",
    "overlap": "overlap", "comparability_auc": "comparability", "first_stage": "instrument_strength",
    "density_test": "manipulation", "bandwidth_sensitivity": "specification", "donut": "specification",
    "few_clusters": "inference", "treated_clusters": "inference", "panel_balance": "other",
    "surrogate_validation": "surrogacy", "surrogate_path": "surrogacy",
}


class EvidenceError(DataError):
    """A registry row or record payload that cannot become a valid evidence record."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Intervention(_Model):
    """What changed, where and when."""

    label: str = Field(..., description="The intervention in plain words (spec report.intervention, else the study name).")
    key: str = Field(..., description="Normalised label; records with the same key are the same intervention.")
    treatment: str | None = Field(None, description="The data column that marks treatment.")
    design: str | None = Field(None, description="Study design: ab, did, synthetic_control, ...")
    start: str | None = Field(None, description="When it started (treatment_start or the first post period).")
    end: str | None = Field(None, description="Last period of the data the estimate read.")
    markets: list[str] = Field(default_factory=list, description="Where it ran (spec report.markets).")


class OutcomeInfo(_Model):
    """What was measured."""

    metric: str | None = Field(None, description="The outcome column.")
    label: str = Field(..., description="Plain name of the outcome.")
    key: str = Field(..., description="Normalised label; records with the same key measure the same outcome.")
    kind: Literal["count", "amount", "rate", "mean", "index"] = Field(..., description="outcome_kind.")
    kind_inferred: bool = Field(True, description="True when the kind was inferred, not stated in the spec.")
    unit: str = Field("", description="Unit of one outcome value.")
    per: str = Field("", description="What one value is per.")
    scale: Literal["level", "log"] = "level"
    currency: str | None = None


class Population(_Model):
    """On whom and over what period."""

    unit: str | None = Field(None, description="The unit column (markets, users, states).")
    n_units: int | None = None
    n_obs: int | None = None
    n_dropped: int | None = None
    period_start: str | None = None
    period_end: str | None = None
    local: str = Field("", description="Where the effect holds when it is local ('at the cutoff', 'for compliers').")


class BusinessEffect(_Model):
    """The effect as readers see it: display units, lift and total, each with its interval."""

    effect: float | None
    ci_low: float | None
    ci_high: float | None
    relative: bool = Field(False, description="True when effect is a relative change (log outcome).")
    lift: float | None = None
    lift_ci_low: float | None = None
    lift_ci_high: float | None = None
    incremental: float | None = None
    incremental_ci_low: float | None = None
    incremental_ci_high: float | None = None
    cost: float | None = None
    iroas: float | None = None
    iroas_ci_low: float | None = None
    iroas_ci_high: float | None = None


class Effect(_Model):
    """The estimate in outcome units and in business units."""

    estimand: str | None
    method: str
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    alpha: float | None
    inference: str | None = None
    business: BusinessEffect


class VerdictInfo(_Model):
    """The one verdict of :mod:`causal_kit.verdict`."""

    label: Literal["Robust", "Moderate", "Fragile", "Inconclusive"]
    status: Status
    conclusion: Literal["positive", "negative", "null"]
    reason: str


class DecisionInfo(_Model):
    """A ship / stop / extend decision, or a sequential look's decision."""

    action: str
    source: Literal["sequential", "break_even"]
    metric: str | None = None
    break_even: float | None = None


class DiagnosticInfo(_Model):
    """One diagnostic check."""

    name: str
    status: Status
    message: str = ""
    statistic: float | None = None
    p_value: float | None = None
    threshold: float | None = None


class AssumptionCheck(_Model):
    """An assumption the effect rests on, with the status of its worst check."""

    assumption: str
    status: Status
    diagnostics: list[DiagnosticInfo]


class Provenance(_Model):
    """Where the record came from (PROV-O: the run is the activity, the data and spec are used)."""

    run_id: str
    recorded_at: str | None
    computed_at: str | None = None
    spec_hash: str | None
    data_fingerprint: str | None
    seed: int | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    source: str | None = None
    registry_schema_version: int | None = None
    filled_in: list[str] = Field(default_factory=list, description="Fields an older registry row lacked and were "
                                 "inferred (e.g. assumption groups from diagnostic names).")


class Related(_Model):
    """Another study's record that shares the intervention, the outcome or a market."""

    id: str
    study: str
    relations: list[Relation]


class Links(_Model):
    """The report of the run and the related studies."""

    report: str | None = None
    related: list[Related] = Field(default_factory=list)


class EvidenceRecord(_Model):
    """One piece of causal evidence: the answer of one method in one registered run.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.knowledge import record_from_result
    >>> spec = ck.ExperimentSpec(name="checkout", design="ab", outcome="y", treatment="treat",
    ...                          pre_covariate="pre")
    >>> rec = record_from_result(ck.estimate(ck.datasets.load("ab_cuped_sim"), spec), spec=spec)
    >>> rec.verdict.label, rec.outcome.kind
    ('Robust', 'mean')
    """

    record_version: Literal["1.0"] = RECORD_VERSION
    id: str = Field(..., description="'<run_id>/<method>': unique in a registry.")
    study: str
    question: str | None = None
    intervention: Intervention
    outcome: OutcomeInfo
    population: Population
    effect: Effect
    verdict: VerdictInfo
    decision: DecisionInfo | None = None
    assumptions: list[AssumptionCheck]
    provenance: Provenance
    links: Links = Field(default_factory=Links)


def evidence_schema() -> dict[str, Any]:
    """The published JSON Schema of :class:`EvidenceRecord` (``causal-kit schema evidence``).

    Examples
    --------
    >>> evidence_schema()["title"]
    'EvidenceRecord'
    """
    schema = EvidenceRecord.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://causal-kit.org/schema/evidence/{RECORD_VERSION}.json"
    return schema


# ---------------------------------------------------------------------- building
def _finite(value: Any) -> float | None:
    if type(value) is float:  # the common case, called ~40 times per record
        return value if value - value == 0.0 else None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _or_nan(value: Any) -> float:
    x = _finite(value)
    return float("nan") if x is None else x


def _int(value: Any) -> int | None:
    try:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return None
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    text = str(value)
    return text if text and text != "NaT" else None


@lru_cache(maxsize=65536)
def slug(text: str) -> str:
    """A normalised key: lower case, words joined by '-' ('Shorter delivery windows' -> 'shorter-delivery-windows')."""
    out = "".join(ch.lower() if ch.isalnum() else " " for ch in str(text))
    return "-".join(out.split()) or "unnamed"


def _json(text: Any, default: Any) -> Any:
    if text is None or (isinstance(text, float) and not math.isfinite(text)):
        return default
    if isinstance(text, (dict, list)):
        return text
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise EvidenceError(f"registry column holds malformed JSON ({exc}); the row cannot be read.") from None


@lru_cache(maxsize=4096)
def _parse_yaml(text: str) -> Any:
    # runs of one study store the same spec text: parse it once (YAML parsing dominates large exports)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


def _spec_from_yaml(text: str, run_id: str) -> dict[str, Any]:
    try:
        loaded = _parse_yaml(text)
    except yaml.YAMLError as exc:
        raise EvidenceError(f"registry row {run_id!r} holds a spec that is not YAML ({exc}).") from None
    return loaded if isinstance(loaded, dict) else {}  # read-only: never mutated downstream


def _diagnostics(raw: list[Mapping[str, Any]], filled: list[str]) -> tuple[Diagnostic, ...]:
    out = []
    for d in raw:
        assumption = d.get("assumption")
        if assumption is None:
            assumption = ASSUMPTION_OF.get(str(d.get("name")), "other")
            if "assumptions" not in filled:
                filled.append("assumptions")
        try:
            out.append(Diagnostic(
                name=str(d.get("name")), status=d.get("status") or "not_applicable", message=str(d.get("message") or ""),
                statistic=_finite(d.get("statistic")), p_value=_finite(d.get("p_value")),
                threshold=_finite(d.get("threshold")), assumption=assumption,
            ))
        except ValueError:
            # a group or status this version does not know: keep the check under "other"
            out.append(Diagnostic(name=str(d.get("name")), status=d.get("status") if d.get("status") in
                                  ("pass", "warn", "fail", "not_applicable") else "not_applicable",
                                  message=str(d.get("message") or ""), assumption="other"))
    return tuple(out)


def _assumptions(diagnostics: tuple[Diagnostic, ...]) -> list[dict[str, Any]]:
    order = {"fail": 3, "warn": 2, "pass": 1, "not_applicable": 0}
    groups: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        groups.setdefault(d.assumption, []).append(d)
    return [
        dict(
            assumption=name,
            status=max((d.status for d in items), key=order.__getitem__),
            diagnostics=[dict(name=d.name, status=d.status, message=d.message, statistic=_finite(d.statistic),
                                        p_value=_finite(d.p_value), threshold=_finite(d.threshold)) for d in items],
        )
        for name, items in groups.items()
    ]


def _business(result: EffectEstimate, spec_dict: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    impact = business_impact(result, spec_dict)
    lift_ci = impact.lift_ci or (None, None)
    inc_ci = impact.incremental_ci or (None, None)
    iroas_ci = impact.iroas_ci or (None, None)
    return dict(
        effect=_finite(impact.effect), ci_low=_finite(impact.effect_ci[0]), ci_high=_finite(impact.effect_ci[1]),
        relative=impact.effect_is_relative, lift=_finite(impact.lift), lift_ci_low=_finite(lift_ci[0]),
        lift_ci_high=_finite(lift_ci[1]), incremental=_finite(impact.incremental),
        incremental_ci_low=_finite(inc_ci[0]), incremental_ci_high=_finite(inc_ci[1]), cost=_finite(impact.cost),
        iroas=_finite(impact.iroas), iroas_ci_low=_finite(iroas_ci[0]), iroas_ci_high=_finite(iroas_ci[1]),
    ), impact


def _decision(result: EffectEstimate, impact: Any, spec_dict: dict[str, Any], look_decision: Any) -> dict[str, Any] | None:
    if _text(look_decision):
        return dict(action=str(look_decision), source="sequential", metric=None, break_even=None)
    report = spec_dict.get("report") or {}
    be = _finite(report.get("break_even"))
    if be is None:
        return None
    from ..report.summary import decision_of

    made, _ = decision_of(result, impact, spec_dict)
    if made is None:
        return None
    return dict(action=made.action, source="break_even", metric=made.metric, break_even=be)


def _period(spec_dict: dict[str, Any]) -> tuple[str | None, str | None]:
    post = spec_dict.get("post_period")
    pre = spec_dict.get("pre_period")
    start = _text(spec_dict.get("treatment_start")) or (_text(post[0]) if post else None)
    first = _text(pre[0]) if pre else None
    return start, first


def _build(result: EffectEstimate, spec_dict: dict[str, Any], *, run_id: str, study: str, recorded_at: str | None,
           report_path: str | None, source: str | None, data_end: str | None, look_decision: Any,
           registry_version: int | None, filled: list[str]) -> dict[str, Any]:
    """The record as a plain dict in the shape (and field order) of ``EvidenceRecord.model_dump(mode="json")``."""
    report = spec_dict.get("report") or {}
    business, impact = _business(result, spec_dict)
    model = impact.model
    label = str(report.get("intervention") or study)
    start, first = _period(spec_dict)
    seq = result.details.get("sequential") if isinstance(result.details, Mapping) else None
    ver = verdict_from(result.diagnostics, tuple(result.ci), None, seq if isinstance(seq, Mapping) else None)
    lineage = result.lineage
    return dict(
        record_version=RECORD_VERSION,
        id=f"{run_id}/{result.method}",
        study=study,
        question=_text(spec_dict.get("question")),
        intervention=dict(label=label, key=slug(label), treatment=_text(spec_dict.get("treatment")),
                                  design=_text(spec_dict.get("design") or result.design), start=start,
                                  end=data_end, markets=[str(m) for m in report.get("markets") or ()]),
        outcome=dict(metric=_text(spec_dict.get("outcome") or result.outcome), label=model.label,
                            key=slug(model.label), kind=model.kind, kind_inferred=model.inferred, unit=model.unit,
                            per=model.per, scale=model.scale, currency=model.currency),
        population=dict(unit=_text(spec_dict.get("unit")), n_units=_int(result.n_units), n_obs=_int(result.n_obs),
                              n_dropped=_int(result.n_dropped), period_start=first or start, period_end=data_end,
                              local=model.local),
        effect=dict(estimand=_text(result.estimand), method=result.method, estimate=_finite(result.estimate),
                      se=_finite(result.se), ci_low=_finite(result.ci[0]), ci_high=_finite(result.ci[1]),
                      p_value=_finite(result.p_value), alpha=_finite(result.alpha),
                      inference=result.inference or None, business=business),
        verdict=dict(label=ver.label, status=ver.status, conclusion=ver.conclusion, reason=ver.reason),
        decision=_decision(result, impact, spec_dict, look_decision),
        assumptions=_assumptions(result.diagnostics),
        provenance=dict(
            run_id=run_id, recorded_at=recorded_at, computed_at=(lineage.timestamp or None) if lineage else None,
            spec_hash=(lineage.spec_hash or None) if lineage else None,
            data_fingerprint=(lineage.data_fingerprint or None) if lineage else None,
            seed=lineage.seed if lineage else None,
            versions={str(k): str(v) for k, v in (lineage.versions if lineage else {}).items()},
            source=source, registry_schema_version=registry_version, filled_in=filled,
        ),
        links=dict(report=report_path, related=[]),
    )


def record_from_result(result: EffectEstimate, *, spec: Any = None, run_id: str | None = None,
                       report_path: str | None = None, source: str | None = None) -> EvidenceRecord:
    """The evidence record of ``result`` (not yet registered: ``run_id`` defaults to the spec hash).

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="checkout", design="ab", outcome="y", treatment="treat")
    >>> rec = record_from_result(ck.estimate(ck.datasets.load("ab_cuped_sim"), spec), spec=spec)
    >>> rec.effect.method, rec.provenance.spec_hash == spec.spec_hash
    ('ab', True)
    """
    spec_dict = spec_of(result, spec)
    lineage = result.lineage
    rid = run_id or (lineage.spec_hash if lineage and lineage.spec_hash else "unregistered")
    return EvidenceRecord.model_validate(_build(
        result, spec_dict, run_id=rid, study=str(spec_dict.get("name") or result.method), recorded_at=None,
        report_path=report_path, source=source, data_end=_text((result.details or {}).get("data_end")),
        look_decision=None, registry_version=None, filled=[]))


def record_from_row(row: Mapping[str, Any], *, registry_version: int | None = None) -> EvidenceRecord:
    """The evidence record of one registry row (``kind == "estimate"``), from any registry schema version.

    Rows written before a column or field existed are filled from what the row has: the spec
    from the lineage, assumption groups from diagnostic names; ``provenance.filled_in`` lists them.

    Raises
    ------
    EvidenceError
        The row is a design run, or lacks the run id, the method or the estimate.

    Examples
    --------
    >>> row = {"run_id": "r1", "name": "geo-test", "method": "did", "estimate": 0.5, "se": 0.1,
    ...        "ci_low": 0.3, "ci_high": 0.7, "p_value": 0.02, "spec_hash": "h0"}
    >>> rec = record_from_row(row, registry_version=0)
    >>> rec.verdict.label, rec.provenance.filled_in
    ('Moderate', ['spec', 'alpha', 'diagnostics'])
    """
    return EvidenceRecord.model_validate(record_dict_from_row(row, registry_version=registry_version))


def _parse_row(row: dict[str, Any]) -> tuple[EffectEstimate, dict[str, Any], list[str]]:
    """The result a registry row describes, its spec, and the fields an older row lacked."""
    kind = row.get("kind") or "estimate"
    if kind != "estimate":
        raise EvidenceError(f"registry row {row.get('run_id')!r} is a {kind} run; only estimate runs are evidence.")
    for col in ("run_id", "method"):
        if not _text(row.get(col)):
            raise EvidenceError(f"registry row lacks its {col!r}; it cannot become an evidence record.")
    filled: list[str] = []
    lineage_raw = _json(row.get("lineage"), None)
    spec_dict: dict[str, Any] = {}
    if _text(row.get("spec")):
        spec_dict = _spec_from_yaml(str(row["spec"]), str(row["run_id"]))
    elif isinstance(lineage_raw, dict) and lineage_raw.get("spec"):
        spec_dict = dict(lineage_raw["spec"])
    else:
        filled.append("spec")
    details = _json(row.get("details"), {}) or {}
    extras = details.get("evidence") if isinstance(details, dict) else None
    extras = extras if isinstance(extras, dict) else {}
    alpha = _finite(row.get("alpha"))
    if alpha is None:
        alpha = _finite(spec_dict.get("alpha")) or 0.05
        filled.append("alpha")
    raw_diag = extras.get("diagnostics")
    if raw_diag is None:
        raw_diag = _json(row.get("diagnostics"), None)
        if raw_diag is None:
            raw_diag = []
            filled.append("diagnostics")
    diagnostics = _diagnostics(list(raw_diag), filled)
    lineage = None
    if isinstance(lineage_raw, dict):
        lineage = Lineage(spec_hash=str(lineage_raw.get("spec_hash") or row.get("spec_hash") or ""),
                          data_fingerprint=str(lineage_raw.get("data_fingerprint") or row.get("data_fingerprint") or ""),
                          seed=_int(lineage_raw.get("seed")), versions=dict(lineage_raw.get("versions") or {}),
                          timestamp=str(lineage_raw.get("timestamp") or ""), spec=spec_dict)
    else:
        lineage = Lineage(spec_hash=str(row.get("spec_hash") or ""), data_fingerprint=str(row.get("data_fingerprint")
                          or ""), seed=None, versions={}, timestamp="", spec=spec_dict)
    est = _finite(row.get("estimate"))
    if est is None:
        raise EvidenceError(f"registry row {row['run_id']!r} ({row['method']}) has no finite estimate; "
                            "it cannot become an evidence record.")
    rel = extras.get("relative_ci")
    result = EffectEstimate(
        method=str(row["method"]), estimand=str(row.get("estimand") or ""), estimate=est,
        se=_or_nan(row.get("se")), ci=(_or_nan(row.get("ci_low")), _or_nan(row.get("ci_high"))),
        p_value=_or_nan(row.get("p_value")),
        alpha=alpha, n_obs=_int(row.get("n_obs")) or 0, outcome=str(extras.get("outcome") or spec_dict.get("outcome") or ""),
        design=str(row.get("design") or spec_dict.get("design") or ""), n_units=_int(row.get("n_units")),
        n_dropped=_int(extras.get("n_dropped")) or 0, diagnostics=diagnostics, lineage=lineage,
        inference=str(extras.get("inference") or ""), baseline=_finite(extras.get("baseline")),
        relative_ci=(tuple(rel) if isinstance(rel, list) and len(rel) == 2 and None not in rel else None),
        exposure=_finite(extras.get("exposure")),
        details={k: v for k, v in details.items() if k != "evidence"} if isinstance(details, dict) else {},
    )
    return result, spec_dict, filled


def result_from_row(row: Mapping[str, Any]) -> EffectEstimate:
    """The :class:`EffectEstimate` a registry row describes (numbers, diagnostics, lineage; no tables).

    Examples
    --------
    >>> res = result_from_row({"run_id": "r1", "name": "geo", "method": "did", "estimate": 0.5, "se": 0.1,
    ...                        "ci_low": 0.3, "ci_high": 0.7, "p_value": 0.02})
    >>> res.estimate, res.ci
    (0.5, (0.3, 0.7))
    """
    return _parse_row(dict(row))[0]


def record_dict_from_row(row: Mapping[str, Any], *, registry_version: int | None = None) -> dict[str, Any]:
    """:func:`record_from_row` as a plain JSON-ready dict, without building the pydantic model.

    The bulk export path (100,000 rows) uses it; the tests check that it equals
    ``record_from_row(row).model_dump(mode="json")`` for every registered method.
    """
    row = dict(row)
    result, spec_dict, filled = _parse_row(row)
    ts = row.get("timestamp")
    recorded = ts.isoformat() if isinstance(ts, datetime) else _text(ts)
    record = _build(result, spec_dict, run_id=str(row["run_id"]), study=str(row.get("name") or spec_dict.get("name")
                    or row["method"]), recorded_at=recorded, report_path=_text(row.get("report_path")),
                    source=_text(row.get("source")), data_end=_text(row.get("data_end")),
                    look_decision=row.get("decision"), registry_version=registry_version, filled=filled)
    if _int(row.get("n_obs")) is None:  # unknown in an older row: say so rather than 0
        record["population"]["n_obs"] = None
    return record
