"""Arguments and results of the assistant tools, as pydantic models (their JSON Schemas are the contract).

Every argument model forbids unknown fields, so a malformed call fails validation with the field
named; :mod:`causal_kit.knowledge.tools` turns that into a schema error returned to the caller.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DescribeDataArgs", "DraftSpecArgs", "PlanDesignArgs", "EstimateArgs", "ExplainResultArgs", "QueryEvidenceArgs",
    "ColumnSummary", "DataDescription", "Problem", "DraftedSpec", "PlannedDesign", "EstimateSummary",
    "Explanation", "EvidenceHit", "PooledEvidence", "EvidenceAnswer", "ToolError", "ToolResponse",
]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


# ---------------------------------------------------------------------- arguments
class DescribeDataArgs(_Args):
    source: str = Field(..., min_length=1, max_length=200, description="Name of a configured data source.")
    columns: list[str] | None = Field(None, max_length=200, description="Only these columns (default: all).")


class DraftSpecArgs(_Args):
    spec: dict[str, Any] = Field(..., description="The experiment spec as a JSON object (fields of ExperimentSpec).")
    source: str | None = Field(None, max_length=200, description="A configured source to check the columns against.")


class PlanDesignArgs(_Args):
    spec: dict[str, Any] = Field(..., description="The experiment spec as a JSON object.")
    source: str = Field(..., min_length=1, max_length=200, description="Configured source with the (historical) data.")
    power: float = Field(0.8, gt=0, lt=1, description="Target power for the minimum detectable effect (A/B).")


class EstimateArgs(_Args):
    spec: dict[str, Any] = Field(..., description="The experiment spec as a JSON object.")
    source: str = Field(..., min_length=1, max_length=200, description="Configured source with the experiment data.")


class ExplainResultArgs(_Args):
    result_id: str = Field(..., min_length=3, max_length=200, description="'<run_id>/<method>' from estimate.")


class QueryEvidenceArgs(_Args):
    intervention: str | None = Field(None, max_length=200, description="Words of the intervention (any case).")
    outcome: str | None = Field(None, max_length=200, description="Words of the outcome (any case).")
    study: str | None = Field(None, max_length=200, description="Exact study name.")
    conclusion: Literal["positive", "negative", "null"] | None = Field(None, description="Only this conclusion.")
    limit: int = Field(20, ge=1, le=200, description="At most this many records, newest first.")
    synthesize: bool = Field(False, description="Also pool the matching records by intervention and outcome.")


# ---------------------------------------------------------------------- results
class ColumnSummary(_Out):
    name: str
    dtype: str
    n_missing: int
    n_unique: int
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    examples: list[str] = Field(default_factory=list, description="Up to three values of a text column.")


class DataDescription(_Out):
    source: str
    n_rows: int
    n_columns: int
    columns: list[ColumnSummary]


class Problem(_Out):
    field: str = Field(..., description="The spec field (or 'spec' for the whole object).")
    message: str = Field(..., description="What is wrong, in plain words.")
    suggestion: str | None = Field(None, description="How to fix it.")
    replacement: Any = Field(None, description="The value the suggestion proposes, when there is one.")


class DraftedSpec(_Out):
    valid: bool
    spec: dict[str, Any] | None = Field(None, description="The validated spec (defaults filled) when valid.")
    spec_hash: str | None = None
    problems: list[Problem] = Field(default_factory=list)
    fixed_spec: dict[str, Any] | None = Field(None, description="The spec with every suggested fix applied.")


class PlannedDesign(_Out):
    design: str
    method: str = Field(..., description="'analytic' (A/B power) or the geo planner.")
    power: float | None = None
    mde: float | None = Field(None, description="Minimum detectable effect in outcome units.")
    mde_relative: float | None = Field(None, description="The MDE over the outcome mean.")
    n_per_arm: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class EstimateSummary(_Out):
    result_id: str
    run_id: str
    result_ids: list[str] = Field(..., description="Every method's result when the spec runs several.")
    method: str
    estimand: str
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    verdict: str
    conclusion: str
    explanation: str


class Explanation(_Out):
    result_id: str
    text: str


class EvidenceHit(_Out):
    id: str
    study: str
    intervention: str
    outcome: str
    method: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    unit: str
    verdict: str
    conclusion: str
    recorded_at: str | None


class PooledEvidence(_Out):
    intervention: str
    outcome: str
    k: int
    estimate: float
    ci_low: float
    ci_high: float
    tau2: float
    i2: float
    method: str


class EvidenceAnswer(_Out):
    total: int = Field(..., description="Matching records before the limit.")
    records: list[EvidenceHit]
    pooled: list[PooledEvidence] | None = None


class ToolError(_Out):
    type: str = Field(..., description="'schema_error', 'refused', 'limit', 'unknown_tool' or a causal_kit error name.")
    message: str
    problems: list[Problem] = Field(default_factory=list)


class ToolResponse(_Out):
    ok: bool
    tool: str
    result: dict[str, Any] | None = None
    error: ToolError | None = None
    call_id: str
    duration_ms: float
