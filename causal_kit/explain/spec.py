"""``MovementSpec``: the YAML that asks "why did this metric move?", and :func:`explain` that answers it.

Example (``movement.yaml``)::

    name: on_time_drop
    question: Why did the on-time rate fall in week 2?
    metric: on-time rate
    period: week
    before: 1
    after: 2
    mix_rate: {numerator: on_time, dimensions: [route_type, carrier]}
    anomalies: {segment: station, season: null}
    experiment: {unit: station, durations: [4, 8]}

Blocks other than ``mix_rate`` are optional: ``kpi_tree`` (its data must have one row per
period), ``oaxaca``, ``graph``, ``anomalies`` (each segment's metric in the ``after`` period
against its own history) and ``experiment`` (a drafted test of the top driver planned on the
history). Unknown keys are errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import SpecError
from .result import Decomposition

__all__ = ["MovementSpec", "MovementAnalysis", "explain", "load_movement_spec"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MixRateBlock(_Frozen):
    """Mix/rate decomposition settings (see :func:`causal_kit.explain.mix_rate`)."""

    numerator: str
    denominator: str | None = None
    dimensions: list[str] = Field(min_length=1)
    max_exact: int = Field(8, ge=0, le=16)
    n_permutations: int = Field(2000, ge=10)


class KpiTreeBlock(_Frozen):
    """KPI tree and attribution method (see :func:`causal_kit.explain.kpi_tree_attribution`)."""

    nodes: dict[str, dict[str, Any]]
    method: Literal["lmdi", "shapley"] = "lmdi"
    aggregate: Literal["none", "sum"] = "sum"
    tolerance: float = Field(1e-6, gt=0)


class OaxacaBlock(_Frozen):
    """Oaxaca-Blinder settings (see :func:`causal_kit.explain.oaxaca_blinder`)."""

    outcome: str
    covariates: list[str] = Field(min_length=1)
    kind: Literal["twofold", "threefold"] = "twofold"
    reference: Literal["pooled", "neumark", "cotton", "reimers", "a", "b"] = "pooled"
    se: Literal["delta", "bootstrap"] = "delta"


class GraphBlock(_Frozen):
    """A causal graph as an edge list (see :func:`causal_kit.explain.graph_attribution`)."""

    edges: list[list[str]] = Field(min_length=1)
    target: str
    n_boot: int = Field(20, ge=0)
    mechanisms: Literal["linear", "auto"] = "linear"


class AnomalyBlock(_Frozen):
    """Per-segment robust seasonal z-scores (see :func:`causal_kit.explain.flag_anomalies`)."""

    segment: str
    season: int | None = None
    threshold: float = Field(3.5, gt=0)


class ExperimentBlock(_Frozen):
    """Draft and plan a test of the top driver (see :func:`causal_kit.explain.suggest_experiment`)."""

    unit: str
    durations: list[int] = Field([4, 8, 12], min_length=1)
    n_treated: int | None = Field(None, ge=1)
    n_windows: int = Field(8, ge=2)
    target_lift: float | None = Field(None, gt=0)


class MovementSpec(_Frozen):
    """What moved, between which periods, and which decompositions to run."""

    name: str = Field(min_length=1)
    question: str | None = None
    metric: str | None = Field(None, description="Metric name shown in the report.")
    period: str
    before: Any = None
    after: Any = None
    seed: int = 0
    mix_rate: MixRateBlock | None = None
    kpi_tree: KpiTreeBlock | None = None
    oaxaca: OaxacaBlock | None = None
    graph: GraphBlock | None = None
    anomalies: AnomalyBlock | None = None
    experiment: ExperimentBlock | None = None


def load_movement_spec(source: str | Path | dict[str, Any] | MovementSpec) -> MovementSpec:
    """A :class:`MovementSpec` from a dict, YAML text or a YAML file; field errors become ``SpecError``.

    Examples
    --------
    >>> from causal_kit.explain import load_movement_spec
    >>> load_movement_spec({"name": "x", "period": "week"}).period
    'week'
    """
    if isinstance(source, MovementSpec):
        return source
    if isinstance(source, (str, Path)):
        text = Path(source).read_text(encoding="utf-8") if Path(str(source)).suffix in (".yaml", ".yml", ".json") \
            else str(source)
        try:
            source = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError(f"movement spec is not valid YAML: {exc}") from None
    if not isinstance(source, dict):
        raise SpecError(f"movement spec must be a mapping; got {type(source).__name__}.")
    try:
        return MovementSpec(**source)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SpecError(f"movement spec field {where!r}: {first['msg']} ({exc.error_count()} problem(s) in all).") from None


@dataclass(frozen=True)
class MovementAnalysis:
    """Everything the movement report shows: decompositions, anomalies and the suggested test."""

    spec: MovementSpec
    decompositions: tuple[Decomposition, ...]
    anomalies: pd.DataFrame | None = None
    suggestion: Any = None  # ExperimentSuggestion
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def primary(self) -> Decomposition:
        """The first decomposition (mix/rate when asked for)."""
        return self.decompositions[0]


def _segment_panel(data: pd.DataFrame, spec: MovementSpec, unit: str) -> pd.DataFrame:
    """Metric per (unit, period): sum(numerator) / sum(denominator), or the mean."""
    mr = spec.mix_rate  # the caller checked that there is one
    grouped = data.groupby([unit, spec.period], sort=True)
    num = grouped[mr.numerator].sum()
    den = grouped[mr.denominator].sum() if mr.denominator else grouped[mr.numerator].size()
    return (num / den).rename("metric").reset_index()


def explain(data: pd.DataFrame, spec: MovementSpec | dict[str, Any] | str | Path) -> MovementAnalysis:
    """Run every block of a movement spec on the data.

    Parameters
    ----------
    data : DataFrame
        Rows of all periods (at least ``before`` and ``after``; more history for anomalies and
        the experiment plan). Not modified.
    spec : MovementSpec, dict, YAML text or path

    Returns
    -------
    MovementAnalysis

    Examples
    --------
    >>> from causal_kit.explain import explain, simulate_deliveries
    >>> spec = {"name": "on_time", "period": "week",
    ...         "mix_rate": {"numerator": "on_time", "dimensions": ["route_type", "carrier"]}}
    >>> round(explain(simulate_deliveries(seed=1), spec).primary.residual(), 12)
    0.0
    """
    from .anomaly import flag_anomalies
    from .graph_attribution import graph_attribution
    from .hypothesis import suggest_experiment
    from .kpi_tree import kpi_tree_attribution
    from .mix_rate import mix_rate
    from .oaxaca import oaxaca_blinder

    ms = load_movement_spec(spec)
    blocks = [ms.mix_rate, ms.kpi_tree, ms.oaxaca, ms.graph]
    if not any(b is not None for b in blocks):
        raise SpecError("movement spec asks for no decomposition; add a mix_rate, kpi_tree, oaxaca or graph block.")
    if (ms.anomalies or ms.experiment) and ms.mix_rate is None:
        raise SpecError("the anomalies and experiment blocks score the mix_rate metric; add a mix_rate block.")
    common = {"period": ms.period, "before": ms.before, "after": ms.after}
    out: list[Decomposition] = []
    if ms.mix_rate:
        m = ms.mix_rate
        out.append(mix_rate(data, numerator=m.numerator, denominator=m.denominator, dimensions=m.dimensions,
                            max_exact=m.max_exact, n_permutations=m.n_permutations, seed=ms.seed,
                            metric=ms.metric, **common))
    if ms.kpi_tree:
        k = ms.kpi_tree
        out.append(kpi_tree_attribution(data, tree=k.nodes, method=k.method, aggregate=k.aggregate,
                                        tolerance=k.tolerance, seed=ms.seed, **common))
    if ms.oaxaca:
        o = ms.oaxaca
        out.append(oaxaca_blinder(data, outcome=o.outcome, group=ms.period, before=ms.before, after=ms.after,
                                  covariates=o.covariates, kind=o.kind, reference=o.reference, se=o.se,
                                  seed=ms.seed))
    if ms.graph:
        g = ms.graph
        out.append(graph_attribution(data, edges=g.edges, target=g.target, n_boot=g.n_boot,
                                     mechanisms=g.mechanisms, seed=ms.seed, **common))
    anomalies = suggestion = None
    if ms.anomalies:
        a = ms.anomalies
        panel = _segment_panel(data, ms, a.segment)
        latest = ms.after if ms.after is not None else panel[ms.period].max()
        panel = panel[panel[ms.period] <= latest]
        anomalies = flag_anomalies(panel, segment=a.segment, time=ms.period, metric="metric", season=a.season,
                                   threshold=a.threshold, latest=latest, min_history=1)
    if ms.experiment:
        e = ms.experiment
        panel = _segment_panel(data, ms, e.unit).rename(columns={"metric": "kpi"})
        first = out[0]
        lift = e.target_lift or (abs(first.change) / abs(first.before) if first.before else None)
        if not lift:
            raise SpecError("experiment: the metric did not move (or starts at zero); set experiment.target_lift.")
        top = first.components.iloc[first.components["value"].abs().argmax()]["component"]
        suggestion = suggest_experiment(panel, driver=f"{top} of {first.metric}", unit=e.unit, time=ms.period,
                                        outcome="kpi", target_lift=float(lift), durations=tuple(e.durations),
                                        n_treated=e.n_treated, seed=ms.seed, n_windows=e.n_windows,
                                        n_candidates=3, candidate_estimators=("did",), aa_target_mcse=None,
                                        progress=False)
    return MovementAnalysis(ms, tuple(out), anomalies, suggestion)
