"""The experiment spec: one validated description of a study, shared by every method.

An :class:`ExperimentSpec` names the question, the design and the *roles* that columns
play (outcome, treatment, unit, time, ...). It is a frozen pydantic model that loads from
YAML or JSON, exports a JSON Schema, hashes stably, and checks itself against a data
frame with :meth:`ExperimentSpec.validate`, raising errors that name the field, the
column, the count and the fix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from . import _hooks
from ._spec_interference import SpilloverConfig, SwitchbackConfig
from ._spec_io import read_spec_file, safe_yaml, unique_keys
from ._typing import Aggregation, Design, ExecutionBackend, NaAction
from .errors import SpecError

__all__ = [
    "ExperimentSpec", "ReportConfig", "EstimatorChoice", "DataSource", "Aggregate", "REQUIRED_ROLES",
    "SequentialConfig", "SEQUENTIAL_METHODS", "as_spec", "SpilloverConfig", "SwitchbackConfig",
]

TimeValue = int | float | str | date | datetime

#: Roles each design needs. A tuple inside the tuple means "one of these".
REQUIRED_ROLES: dict[str, tuple[Any, ...]] = {
    "ab": ("treatment", ("outcome", "numerator")),
    "did": ("outcome", "unit", "time", ("treatment", "cohort")),
    "event_study": ("outcome", "unit", "time", ("treatment", "cohort")),
    "staggered_did": ("outcome", "unit", "time", ("treatment", "cohort")),
    "synthetic_control": ("outcome", "unit", "time", "treatment"),
    "sdid": ("outcome", "unit", "time", "treatment"),
    "dml": ("outcome", "treatment", "covariates"),
    "iv": ("outcome", "instruments", ("endogenous", "treatment")),
    "rdd": ("outcome", "running", "cutoff"),
    "surrogate": ("treatment", "surrogates", "long_term_outcome"),
    # geo measurement: matched-pair iROAS and structural time series
    "trimmed_match": ("outcome", "treatment", "unit", "pair", "spend"),
    "its": ("outcome", "unit", "time", "treatment"),
    "multi_cell": ("outcome", "unit", "time", "treatment", "cell"),
    # treatment = 1 marks the held-back geos while the campaign is off there
    "holdback": ("outcome", "unit", "time", "treatment"),
    # interference: exposure to treated neighbours, and time-randomised policies
    "spillover": ("outcome", "unit", "treatment", ("coordinates", "neighbors")),
    "switchback": ("outcome", "unit", "time", "treatment", "switchback"),
    # pricing: units (outcome) of each product (unit) per period (time) at the price charged (treatment)
    "price_test": ("outcome", "treatment", "unit", "time"),
}

_COLUMN_ROLES = (
    "outcome",
    "treatment",
    "unit",
    "time",
    "cluster",
    "weights",
    "cohort",
    "running",
    "fuzzy",
    "pre_covariate",
    "numerator",
    "denominator",
    "pair",
    "spend",
    "cell",
)
_LIST_ROLES = ("covariates", "instruments", "endogenous")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=False)


class ReportConfig(_Frozen):
    """How results are presented: who reads them and in which business units."""

    title: str | None = Field(None, description="Report title; defaults to the spec name.")
    audience: str | None = Field(None, description="Who the report is for, e.g. 'VP Marketing'.")
    owner: str | None = Field(None, description="Analyst or team that owns the study.")
    currency: str | None = Field(None, description="Currency code or symbol for money, e.g. 'USD'.")
    outcome_label: str | None = Field(
        None, description="Plain-language name of the outcome unit, e.g. 'orders' or 'revenue'."
    )
    outcome_is_currency: bool = Field(False, description="True when the outcome is itself money.")
    outcome_scale: Literal["level", "log"] = Field(
        "level", description="'log' when the outcome is a logarithm: effects then read as exp(effect) - 1."
    )
    cost: float | None = Field(None, description="Total spend of the intervention, for cost per unit / iROAS.")
    cost_column: str | None = Field(None, description="Column holding spend per row; summed over treated rows.")
    outcome_kind: Literal["count", "amount", "rate", "mean", "index"] | None = Field(
        None, description="What one outcome value is: a count (orders), an amount (money), a rate or share, a "
        "mean per unit (spend per user) or an index. Totals are shown only for counts and amounts, or when "
        "'exposure' is given. Inferred when not set.",
    )
    unit_label: str | None = Field(
        None, description="Unit of one outcome value as read in text, e.g. 'orders', 'packs' or 'points'."
    )
    per: str | None = Field(None, description="What one outcome value is per, e.g. 'per market-day' or 'per user'.")
    exposure: float | None = Field(
        None, gt=0, description="How many 'per' units the effect applies to (e.g. users x weeks), to turn a rate "
        "or a mean per unit into a total.",
    )
    break_even: float | None = Field(
        None, description="The effect needed to pay back, in the units of 'break_even_metric', for the decision line.",
    )
    intervention: str | None = Field(
        None, description="What changed, in plain words (e.g. 'shorter delivery windows'); evidence records of "
        "studies naming the same intervention are linked and can be pooled. Defaults to the spec name.",
    )
    markets: tuple[str, ...] = Field(
        (), description="Where the intervention ran (markets, regions, platforms), for the evidence record; "
        "studies sharing a market are linked.",
    )
    break_even_metric: Literal["lift", "effect", "incremental", "iroas"] = Field(
        "lift", description="What 'break_even' is stated in: relative lift (0.02 is 2%), the effect in outcome "
        "units, the incremental total, or iROAS.",
    )


class EstimatorChoice(_Frozen):
    """One method to run on the spec, with its configuration."""

    method: str = Field(..., description="Registered estimator name, e.g. 'sdid' or 'synthetic_control'.")
    options: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments for the estimator.")


class DataSource(_Frozen):
    """Where the data come from: a CSV/Parquet file, a DuckDB database, a SQL query, or a
    warehouse table read through Ibis (``url`` with a ``table`` or a ``path``).

    Relative paths, including file names inside ``query``, are resolved against the spec
    file's folder when the spec is read from a file (``causal-kit estimate``). In ``query``
    a file given as ``path`` is available as the table ``data``. For design ``surrogate``,
    ``observational`` names the file of the observational sample; the block then loads as
    ``{"experiment": ..., "observational": ...}``.
    """

    path: str | None = Field(None, description="CSV or Parquet file (or a DuckDB database with 'query').")
    query: str | None = Field(None, description="SQL query returning the rows to analyse (DuckDB, or the url's backend).")
    database: str | None = Field(None, description="DuckDB database file the query runs against.")
    url: str | None = Field(
        None,
        description="Ibis backend URL (postgres://user@host/db, duckdb://file.duckdb, polars://, snowflake://...); "
        "the aggregate step runs there and only the panel comes back. Its password is masked in records.",
    )
    table: str | None = Field(None, description="Table (or view) to read from the url's backend.")
    observational: str | None = Field(
        None,
        description="design surrogate: CSV or Parquet file of the observational sample (surrogates and "
        "long-term outcome); the rows above are then the experiment.",
    )

    @field_serializer("url", when_used="json")
    def _mask_password(self, url: str | None) -> str | None:  # records and reports never hold it
        if url is None:
            return None
        import re

        return re.sub(r"(//[^/:@\s]*:)[^@/\s]*@", r"\1***@", url)

    @model_validator(mode="after")
    def _something_to_read(self) -> DataSource:
        if self.url is not None:
            if self.query is not None:
                raise ValueError("data.url reads a 'table' or a 'path', not a 'query': create a view with the query "
                                 "in the warehouse and name it in data.table")
            given = [k for k in ("table", "path") if getattr(self, k) is not None]
            if len(given) != 1 or self.database is not None:
                raise ValueError(f"data.url needs exactly one of 'table' or 'path' (got {given or 'none'}) "
                                 "and no 'database'")
            return self
        if self.table is not None:
            raise ValueError("data.table names a table of data.url's backend; add data.url")
        if self.path is None and self.query is None:
            raise ValueError("data needs a 'path', a 'query' or a 'url'")
        if self.database is not None and self.query is None:
            raise ValueError("data.database needs a 'query' to say which rows to read")
        return self


class Aggregate(_Frozen):
    """Aggregate raw rows to one row per group (e.g. unit x period) before the analysis.

    The aggregation runs inside DuckDB. With ``period`` the time column is first truncated
    to the start of its week, month, ... (e.g. daily rows to a weekly panel). A column
    listed in ``columns`` uses that function; otherwise the outcome, ``pre_covariate``,
    ``numerator`` and ``denominator`` use ``outcome``, the treatment takes ``max``, the
    cohort ``min``, the cost column and weights ``sum``, identifiers ``first`` and any
    other role column ``mean``.
    """

    by: tuple[str, ...] = Field(..., min_length=1, description="Group columns, e.g. [geo, week].")
    outcome: Aggregation = Field("sum", description="How the outcome is aggregated.")
    columns: dict[str, Aggregation] = Field(
        default_factory=dict, description="Aggregation of further columns, e.g. {spend: sum}."
    )
    period: Literal["day", "week", "month", "quarter", "year"] | None = Field(
        None, description="Truncate the time column (spec.time) to this period before grouping."
    )

    @field_validator("by", mode="before")
    @classmethod
    def _listify_by(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


class PlanConfig(_Frozen):
    """How a geo experiment is planned on history (used by ``causal_kit.design.plan``)."""

    # 'register' is a BaseModel attribute, so the field is register_ and reads and writes as 'register'
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True)

    assignment: Literal["stratified", "matched_pairs", "search"] = Field(
        "search", description="Stratified draw, randomised matched pairs, or a search ranking candidates by MDE."
    )
    n_treated: int | None = Field(None, ge=1, description="Treated geos per treatment cell.")
    treated_share: float | None = Field(None, gt=0.0, lt=1.0, description="Share of KPI to treat per cell.")
    must_treat: tuple[str | int, ...] = Field((), description="Geos that must be treated.")
    exclude: tuple[str | int, ...] = Field((), description="Geos that take no part.")
    cells: int = Field(1, ge=1, description="Number of treatment cells.")
    duration: int | tuple[int, ...] = Field(
        (28, 14, 42), description="Test length(s) in periods; the first is the planned one."
    )
    pre_periods: int | None = Field(None, ge=3, description="Pre-period length of each simulated window.")
    effect_grid: tuple[float, ...] = Field(
        (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15), description="Relative lifts to simulate."
    )
    expected_lift: float | None = Field(None, gt=0.0, description="Lift the test should detect (picks the duration).")
    target_power: float = Field(0.8, gt=0.0, lt=1.0, description="Power at which the MDE is read.")
    n_windows: int = Field(20, ge=2, description="Historical windows per simulation.")
    n_candidates: int = Field(10, ge=1, description="Candidate assignments compared by the search.")
    estimator: str | None = Field(None, description="Planned readout estimator; defaults from spec.design.")
    candidate_estimators: tuple[str, ...] = Field(
        ("did", "time_regression", "synthetic_control", "sdid"), description="Estimators ranked on history."
    )
    budget: float | None = Field(None, gt=0.0, description="Most the treated geos may cost over the test.")
    cost_column: str | None = Field(None, description="History column with spend per geo and period.")
    cost_per_unit: float | None = Field(None, gt=0.0, description="Cost per unit of KPI, when no cost column.")
    kpi_value: float | None = Field(None, gt=0.0, description="Money value of one KPI unit, for iROAS.")
    n_jobs: int = Field(1, description="joblib workers for the simulations.")
    inference: Literal["readout", "approximate"] = Field(
        "readout",
        description="Final design simulated with the readout estimators' own inference, or fast approximate t-tests.",
    )
    looks: tuple[int, ...] = Field(
        (), description="Group-sequential readout: post periods at each planned look, e.g. [7, 14, 21, 28]."
    )
    look_every: int | None = Field(
        None, ge=1, description="Group-sequential readout: a look every this many periods up to the duration."
    )
    start: TimeValue | None = Field(
        None, description="First treated period of the test (calendar window); default: the period after the history."
    )
    conflicts: Literal["exclude", "warn"] = Field(
        "exclude", description="Units treated by another live study in the window: exclude them, or keep them with a warning."
    )
    allow_overlap: bool = Field(
        False,
        description="Allow another live study's treated units in this control (and sharing units with it); "
        "read out with interference: adjust.",
    )
    register_: bool = Field(
        False, alias="register",
        description="Register the assignment in the experiment calendar (needs a registry); written 'register'.",
    )


#: Estimators whose readout supports ``spec.sequential`` (always-valid / group-sequential inference).
SEQUENTIAL_METHODS: tuple[str, ...] = ("ab", "did", "synthetic_control", "sdid")
_PANEL_SEQUENTIAL = ("alpha_spending", "calibrated")


class SequentialConfig(_Frozen):
    """Sequential readout: always-valid inference for a study that is looked at on a schedule.

    ``confidence_sequence`` (default) reports the asymptotic confidence sequence of Waudby-Smith et
    al. and its always-valid p-value, tuned to be tightest at ``planned_n`` units (or by ``rho``);
    ``msprt`` the mixture SPRT with normal mixture sd ``mixture_sd`` on the effect's scale;
    ``regression`` the anytime-valid regression t-test of Lindon et al. (treatment coefficient in
    ``y ~ 1 + treatment + covariates``, prior scale ``prior_scale``);
    ``alpha_spending`` Lan-DeMets group-sequential boundaries over the planned ``looks``;
    ``calibrated`` (DiD / SC / SDID) the ``boundaries`` calibrated on history by
    ``causal_kit.design.sequential.plan_looks``, one per planned look. Panel readouts take
    ``alpha_spending`` or ``calibrated`` with ``looks`` given as end periods of ``spec.time``.
    """

    method: Literal["confidence_sequence", "msprt", "regression", "alpha_spending", "calibrated"] = Field(
        "confidence_sequence", description="Always-valid method of the readout."
    )
    planned_n: int | None = Field(
        None, ge=2, description="Total units (all compared arms) at which the sequence is tightest / full information."
    )
    rho: float | None = Field(None, gt=0.0, description="Confidence-sequence tuning, instead of planned_n.")
    mixture_sd: float | None = Field(None, gt=0.0, description="mSPRT: sd of the normal mixture over effects.")
    prior_scale: float = Field(1.0, gt=0.0, description="regression: prior scale phi of the anytime-valid t-test.")
    metric: Literal["mean", "proportion"] = Field(
        "mean", description="mSPRT: 'proportion' uses the plug-in Bernoulli variance of a 0/1 outcome."
    )
    looks: tuple[TimeValue, ...] = Field(
        (), description="Planned looks: data end periods (spec.time) or cumulative unit counts, increasing."
    )
    boundaries: tuple[float, ...] = Field(
        (), description="calibrated: z boundary at each planned look (from causal_kit.design.sequential)."
    )
    spending: Literal["obrien_fleming", "pocock"] = Field(
        "obrien_fleming", description="alpha_spending: Lan-DeMets spending function."
    )
    futility_margin: float | None = Field(
        None, gt=0.0, description="Stop for futility once the always-valid interval lies within +/- this effect."
    )

    @model_validator(mode="after")
    def _consistent(self) -> SequentialConfig:
        if self.rho is not None and self.planned_n is not None:
            raise ValueError("sequential: give 'planned_n' or 'rho', not both")
        if self.method == "msprt" and self.mixture_sd is None:
            raise ValueError("sequential.method 'msprt' needs 'mixture_sd' (the effect size it is tuned to)")
        if self.method in _PANEL_SEQUENTIAL and len(self.looks) < 1:
            raise ValueError(f"sequential.method {self.method!r} needs the planned 'looks'")
        if self.method == "calibrated" and len(self.boundaries) != len(self.looks):
            raise ValueError(
                f"sequential.method 'calibrated' needs one boundary per planned look: got {len(self.boundaries)} "
                f"boundaries for {len(self.looks)} looks"
            )
        if any(b <= 0 for b in self.boundaries):
            raise ValueError("sequential.boundaries must be positive z values")
        try:
            increasing = all(a < b for a, b in zip(self.looks, self.looks[1:]))
        except TypeError:
            raise ValueError("sequential.looks mixes numbers and dates; use one kind") from None
        if not increasing:
            raise ValueError(f"sequential.looks must be strictly increasing; got {list(self.looks)}")
        return self


class ExecutionConfig(_Frozen):
    """Where the parallel work of this spec runs (bootstrap and placebo replications, design
    simulations, cross-fitting folds). Results do not depend on it: every task gets its own
    seed, so a seeded run gives the same numbers serially, on joblib workers and on Dask.
    The block is not part of the spec hash.
    """

    backend: ExecutionBackend | None = Field(
        None,
        description="'serial', 'joblib' (local workers) or 'dask'; default 'dask' with an address, "
        "else an active dask.distributed.Client if there is one, else joblib/serial by n_jobs.",
    )
    address: str | None = Field(
        None, description="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (implies backend dask)."
    )
    n_jobs: int | None = Field(
        None, description="Local workers (-1: every core); with backend dask and no address, the local cluster's size."
    )

    @model_validator(mode="after")
    def _address_needs_dask(self) -> ExecutionConfig:
        if self.address is not None and self.backend not in (None, "dask"):
            raise ValueError(f"execution.address is a Dask scheduler; it needs backend 'dask', got {self.backend!r}")
        return self


class ExperimentSpec(_Frozen):
    """A frozen, validated description of one causal study.

    Parameters
    ----------
    name : str
        Short identifier, used in file names and the results registry.
    design : str
        One of ``ab, did, event_study, staggered_did, synthetic_control, sdid, dml, iv, rdd, surrogate,
        trimmed_match, its, multi_cell, holdback, spillover, switchback, price_test``.
    outcome, treatment, unit, time, ... : str
        Column names for each role the design needs.

    Examples
    --------
    >>> from causal_kit import ExperimentSpec, datasets
    >>> spec = ExperimentSpec(name="cuped", design="ab", outcome="y", treatment="treat",
    ...                       pre_covariate="pre")
    >>> spec.validate(datasets.load("ab_cuped_sim"))
    >>> spec.design
    'ab'
    """

    name: str = Field(..., min_length=1, description="Short identifier of the study.")
    question: str = Field("", description="The question in plain words, shown in reports.")
    design: Design = Field(..., description="The identification design.")
    alpha: float = Field(0.05, gt=0.0, lt=1.0, description="Significance level; CIs are 1 - alpha.")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed for every random step (0 to 2**32 - 1).")
    na_action: NaAction = Field(
        "raise", description="'raise' on NaN in a role column (default) or 'drop' with a warning."
    )

    outcome: str | None = Field(None, description="Outcome column.")
    treatment: str | None = Field(
        None,
        description=(
            "Treatment column. A/B: the arm. Panels: 1 when the unit is treated in that period "
            "(or the ever-treated flag when treatment_start is given). DML/IV: the treatment. price_test: the price charged."
        ),
    )
    unit: str | None = Field(None, description="Unit identifier (user, geo, county...).")
    panel: bool = Field(
        True,
        description=(
            "False for repeated cross-sections (a new sample of units each period, none followed over "
            "time): spec.unit becomes optional and the group comes from treatment + treatment_start or "
            "cohort. Supported by did and event_study."
        ),
    )
    time: str | None = Field(None, description="Time period column.")
    covariates: tuple[str, ...] = Field((), description="Covariate columns.")
    cluster: str | None = Field(None, description="Cluster column for robust SEs.")
    weights: str | None = Field(None, description="Observation weights column.")

    treatment_start: TimeValue | None = Field(
        None, description="First treated period, when the same for every treated unit."
    )
    cohort: str | None = Field(
        None,
        description=(
            "Column with each unit's first treated period (0, \"0\" or NaN: never treated); every other "
            "value must be one of the periods of spec.time, or a later one."
        ),
    )
    instruments: tuple[str, ...] = Field((), description="Excluded instruments (IV).")
    endogenous: tuple[str, ...] = Field((), description="Endogenous regressors (IV); defaults to treatment.")
    running: str | None = Field(None, description="Running variable (RDD).")
    cutoff: float | None = Field(None, description="Cutoff of the running variable (RDD).")
    fuzzy: str | None = Field(None, description="Treatment-received column for fuzzy RDD.")
    pre_covariate: str | None = Field(None, description="Pre-period metric for CUPED (A/B).")
    numerator: str | None = Field(None, description="Ratio metric numerator per user (A/B).")
    denominator: str | None = Field(None, description="Ratio metric denominator per user (A/B).")
    pre_period: tuple[TimeValue, TimeValue] | None = Field(None, description="(first, last) pre period.")
    post_period: tuple[TimeValue, TimeValue] | None = Field(None, description="(first, last) post period.")
    # long-term effects (design: surrogate)
    surrogates: tuple[str, ...] = Field((), description="Short-term surrogate columns, in the order they accrue.")
    long_term_outcome: str | None = Field(
        None, description="Long-term outcome column: in the observational sample (and any validation cohort)."
    )
    sample: str | None = Field(None, description="Column saying which sample a row belongs to (one-frame input).")
    sample_values: tuple[Any, Any] = Field(
        ("experiment", "observational"), description="Values of `sample` marking (experiment, observational) rows."
    )
    # --- geo measurement roles (trimmed_match) ---
    pair: str | None = Field(
        None, description="Matched-pair id of each geo (trimmed_match): one treated and one control geo per pair."
    )
    spend: str | None = Field(
        None, description="Ad spend per row (trimmed_match, multi_cell): the iROAS denominator, summed over the "
        "test period."
    )
    cell: str | None = Field(
        None, description="Each unit's test cell (multi_cell): the control cell's label (options.control_cell, "
        "default 'control') or a treatment cell's name; a unit belongs to one cell."
    )

    options: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for the design's default estimator."
    )
    estimators: tuple[EstimatorChoice, ...] = Field(
        (), description="Several methods to run on this spec and compare (robustness)."
    )
    report: ReportConfig | None = Field(None, description="Presentation settings.")
    plan: PlanConfig | None = Field(None, description="Geo-experiment planning settings (design.plan).")
    data: DataSource | None = Field(None, description="Where to read the data (file, DuckDB or SQL).")
    aggregate: Aggregate | None = Field(
        None, description="Aggregate raw rows to one row per group before the analysis (in DuckDB)."
    )
    sequential: SequentialConfig | None = Field(
        None, description="Always-valid / group-sequential readout over scheduled looks (A/B)."
    )
    # --- interference (design: spillover, switchback) ---
    coordinates: tuple[str, str] | None = Field(
        None, description="[latitude, longitude] columns in decimal degrees, constant within a unit (spillover)."
    )
    neighbors: str | None = Field(
        None, description="CSV/Parquet adjacency list (path relative to the working directory) with columns "
        "'unit' and 'neighbor' (one row per pair; listed one way or both) defining which units can spill over "
        "onto each other (spillover).",
    )
    spillover: SpilloverConfig | None = Field(
        None, description="Distance bands / graph hops of the exposure rings and the buffer option (spillover)."
    )
    switchback: SwitchbackConfig | None = Field(
        None, description="Switchback schedule: period length, carryover (burn-in), blocks (switchback)."
    )
    interference: Literal["check", "adjust"] = Field(
        "check",
        description="Concurrent studies in the calendar: 'check' reports each one's exposure in the treated and "
        "control units; 'adjust' also re-estimates with their treatment indicators as time-varying covariates "
        "(DiD, event study) or without the control units they treat (SC, SDID) and reports how far the "
        "estimate moved.",
    )
    execution: ExecutionConfig | None = Field(
        None, description="Where parallel work runs: serial, joblib workers or a Dask cluster."
    )

    # ------------------------------------------------------------------ validators
    @field_validator("covariates", "instruments", "endogenous", "surrogates", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (value,)
        return value

    @field_validator("estimators", mode="before")
    @classmethod
    def _estimator_strings(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return tuple({"method": v} if isinstance(v, str) else v for v in value)
        return value

    @model_validator(mode="after")
    def _roles_for_design(self) -> ExperimentSpec:
        required = REQUIRED_ROLES[self.design]
        if not self.panel:
            if self.design not in _CROSS_SECTION_DESIGNS:
                raise ValueError(f"panel: false (repeated cross-sections) applies to designs "
                                 f"{sorted(_CROSS_SECTION_DESIGNS)}; got design {self.design!r}. Remove it.")
            required = tuple(r for r in required if r != "unit")
        missing = [_describe(req) for req in required if not _has_role(self, req)]
        if missing:
            raise ValueError(
                f"design {self.design!r} needs the role(s) {', '.join(missing)}; "
                f"add them to the spec (see `causal-kit schema`)"
            )
        if self.data is not None and self.data.observational is not None and self.design != "surrogate":
            raise ValueError(
                f"data.observational names an observational sample, which only design 'surrogate' uses; "
                f"remove it or set design: surrogate (got design {self.design!r})"
            )
        if (self.numerator is None) != (self.denominator is None):
            raise ValueError("a ratio metric needs both 'numerator' and 'denominator'")
        if self.endogenous and self.treatment and self.treatment not in self.endogenous:
            raise ValueError("'treatment' must be one of 'endogenous' when both are given")
        if self.sequential is not None:
            methods = [c.method for c in self.estimators] or [self.design]
            unsupported = [m for m in methods if m not in SEQUENTIAL_METHODS]
            if unsupported:
                raise ValueError(
                    f"sequential: is not supported by {unsupported}; it works with {list(SEQUENTIAL_METHODS)}"
                )
            panel = [m for m in methods if m != "ab"]
            if panel and self.sequential.method not in _PANEL_SEQUENTIAL:
                raise ValueError(
                    f"sequential.method {self.sequential.method!r} is for A/B tests; {panel} readouts take "
                    "'alpha_spending' or 'calibrated' (boundaries from causal_kit.design.sequential)"
                )
            if "ab" in methods and self.sequential.method == "calibrated":
                raise ValueError("sequential.method 'calibrated' is for panel readouts (did, synthetic_control, sdid)")
        return self

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise SpecError(_format_validation_error(exc)) from None

    # ------------------------------------------------------------------ io
    @classmethod
    def from_yaml(cls, path_or_text: str | Path) -> ExperimentSpec:
        """Load a spec from a YAML file path or YAML text (parsed with ``yaml.safe_load``).

        Examples
        --------
        >>> from causal_kit import ExperimentSpec
        >>> ExperimentSpec.from_yaml("name: t\\ndesign: ab\\noutcome: y\\ntreatment: treat").name
        't'
        """
        text = _read_text(path_or_text)
        try:
            payload = safe_yaml(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise SpecError(f"the spec is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
        return cls.from_dict(payload)

    @classmethod
    def from_json(cls, path_or_text: str | Path) -> ExperimentSpec:
        """Load a spec from a JSON file path or JSON text."""
        text = _read_text(path_or_text)
        try:
            payload = json.loads(text, object_pairs_hook=unique_keys)
        except json.JSONDecodeError as exc:
            raise SpecError(f"the spec is not valid JSON: {exc}") from None
        return cls.from_dict(payload)

    @classmethod
    def from_dict(cls, payload: Any) -> ExperimentSpec:
        """Build a spec from a mapping, raising ``SpecError`` on anything else."""
        if not isinstance(payload, Mapping):
            raise SpecError(
                f"a spec must be a mapping of fields (name, design, outcome, ...); got {type(payload).__name__}"
            )
        return cls(**dict(payload))

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON-compatible data, without unset optional fields."""
        return self.model_dump(mode="json", exclude_defaults=True)

    def to_yaml(self) -> str:
        """The spec as YAML text that :meth:`from_yaml` reads back."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def to_json(self) -> str:
        """The spec as JSON text."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of the spec, for editors, notebooks and other tools."""
        return cls.model_json_schema()

    @property
    def spec_hash(self) -> str:
        """A stable 16-hex-digit hash of the spec's content, independent of key order.

        Fields left at their defaults are not hashed, so a field added in a later version (with a
        default) does not change the hash of a spec written before it.
        """
        content = {k: v for k, v in self.to_dict().items() if k != "execution"}  # where it ran, not what
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def update(self, **changes: Any) -> ExperimentSpec:
        """A new spec with ``changes`` applied and re-validated."""
        merged = self.model_dump()
        merged.update(changes)
        return type(self)(**merged)

    # ------------------------------------------------------------------ data checks
    @property
    def role_columns(self) -> dict[str, str]:
        """Every role that names a column, as ``{"spec.field": column}`` (lists expanded)."""
        cols: dict[str, str] = {}
        for role in _COLUMN_ROLES:
            col = getattr(self, role)
            if col is not None:
                cols[role] = col
        for role in _LIST_ROLES:
            for i, col in enumerate(getattr(self, role)):
                cols[f"{role}[{i}]"] = col
        if self.coordinates is not None:
            cols["coordinates[0]"], cols["coordinates[1]"] = self.coordinates
        if self.switchback is not None and self.switchback.block is not None:
            cols["switchback.block"] = self.switchback.block
        if self.report is not None and self.report.cost_column:
            cols["report.cost_column"] = self.report.cost_column
        return cols

    def validate(self, data: Any) -> None:  # type: ignore[override]
        """Check the spec's roles against ``data``; raise ``DataError`` naming what is wrong.

        Checks: missing columns, non-numeric outcomes, NaN in role columns (unless
        ``na_action="drop"``), a non-binary treatment, duplicate unit-time rows, and
        designs with no treated or no control observations.

        Examples
        --------
        >>> from causal_kit import ExperimentSpec, datasets
        >>> spec = ExperimentSpec(name="x", design="ab", outcome="y", treatment="treat")
        >>> spec.validate(datasets.load("ab_cuped_sim"))
        """
        # The data layer sits above the spec; it registers this check when imported.
        _hooks.call("validate_data", data, self)


#: Designs whose estimators accept repeated cross-sections (``panel: false``).
_CROSS_SECTION_DESIGNS = frozenset({"did", "event_study"})


def _has_role(spec: ExperimentSpec, req: Any) -> bool:
    if isinstance(req, tuple):
        return any(_has_role(spec, r) for r in req)
    value = getattr(spec, req)
    return value is not None and value != ()


def _describe(req: Any) -> str:
    if isinstance(req, tuple):
        return "(" + " or ".join(repr(r) for r in req) + ")"
    return repr(req)


def _read_text(path_or_text: str | Path) -> str:
    if isinstance(path_or_text, Path):
        return read_spec_file(path_or_text)
    text = str(path_or_text)
    if "\n" not in text and len(text) < 4096:
        candidate = Path(text)
        if candidate.suffix.lower() in {".yaml", ".yml", ".json"}:
            if not candidate.exists():
                raise SpecError(f"spec file {text!r} does not exist")
            return read_spec_file(candidate)
    return text


def did_you_mean(word: str, choices: Any) -> str:
    """`` (did you mean 'treated'?)`` for the closest of ``choices``, or an empty string."""
    import difflib

    options = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if not close:
        lowered = {o.lower(): o for o in options}
        close = [lowered[str(word).lower()]] if str(word).lower() in lowered else []
    return f" (did you mean {close[0]!r}?)" if close else ""


_did_you_mean = did_you_mean


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the spec model (or nested block) at ``loc``."""
    model: Any = ExperimentSpec
    for part in loc:
        field = getattr(model, "model_fields", {}).get(str(part))
        if field is None:
            return []
        ann = field.annotation
        for cand in (ann, *getattr(ann, "__args__", ())):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                model = cand
                break
        else:
            return []
    return list(getattr(model, "model_fields", {}))


def _format_validation_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "spec"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            hint = _did_you_mean(str(err["loc"][-1]), _fields_at(err["loc"][:-1]))
            msg = f"is not a spec field{hint} (check the spelling; `causal-kit schema` lists the fields)"
        elif err["type"] == "missing":
            msg = "is required"
        lines.append(f"spec.{loc}: {msg}" if loc != "spec" else f"spec: {msg}")
    return "invalid experiment spec: " + "; ".join(lines)


def as_spec(spec: ExperimentSpec | dict[str, Any] | str) -> ExperimentSpec:
    """Accept a spec object, a dict, YAML text or a path to a YAML/JSON file.

    Examples
    --------
    >>> as_spec({"name": "t", "design": "ab", "outcome": "y", "treatment": "treat"}).design
    'ab'
    """
    if isinstance(spec, ExperimentSpec):
        return spec
    if isinstance(spec, dict):
        return ExperimentSpec.from_dict(spec)
    text = str(spec)
    if text.strip().endswith(".json"):
        return ExperimentSpec.from_json(text)
    return ExperimentSpec.from_yaml(text)
