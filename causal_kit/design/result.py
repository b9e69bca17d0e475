"""The result of planning a geo experiment: :class:`DesignResult`.

A frozen record of the assignment, the simulated power curve, the MDE at the target power,
the duration table, the estimator ranking, cost and iROAS, diagnostics and lineage. Like
:class:`~causal_kit.result.EffectEstimate` it holds raw numbers only, plots itself, prints
a summary, renders in Jupyter and round-trips through JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from html import escape
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import _hooks
from ..result import Diagnostic, Lineage, _jsonable, _table_from_dict, _table_to_dict

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..spec import ExperimentSpec

__all__ = ["DesignResult"]

_TABLE_FIELDS = ("assignment", "power_curve", "duration_table", "estimator_ranking")


@dataclass(frozen=True)
class DesignResult:
    """A planned geo experiment.

    Attributes
    ----------
    method : str
        The recommended (planned) readout estimator.
    spec : ExperimentSpec
        The readout spec; ``spec_hash`` locks it.
    assignment : DataFrame
        ``unit``, ``cell`` ("treatment", "treatment_2", ..., "control"), ``kpi``,
        ``kpi_share``, ``cost`` (and ``pair`` for matched pairs).
    power_curve : DataFrame
        ``estimator``, ``cell``, ``duration``, ``effect`` (relative lift), ``power``,
        ``power_se`` (Monte Carlo SE), ``bias`` (relative), ``coverage``.
    duration_table : DataFrame
        ``duration``, ``mde`` (relative), ``mde_absolute`` (KPI per period, all treated geos
        of the cell) for the recommended estimator, plus ``cost`` and ``iroas_mde``.
    estimator_ranking : DataFrame
        ``estimator``, ``bias``, ``rmse``, ``coverage``, ``type1_error``, ``mde``,
        ``calibrated``, ``n_simulations``, ``inference`` (``"readout"``: simulated with the
        readout estimator and its own inference; ``"approximate"``: with a closed-form
        t-test) and ``recommended``.
    mde, mde_absolute : float
        Relative MDE at ``target_power`` and its size in KPI units per period, at the
        recommended duration (the worst treatment cell when there are several).
    recommended_duration : int
        Test length in periods.
    type1_error : float
        A/A rejection rate of the recommended estimator.
    cost, iroas_mde, currency : float or str, optional
        Spend on the treated geos over the test, the smallest detectable iROAS, the currency.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.datasets import simulate_geo_panel
    >>> history = simulate_geo_panel(n_geos=30, n_days=200, seed=3)
    >>> spec = ck.ExperimentSpec(name="geo", design="did", outcome="kpi", unit="geo", time="date",
    ...                          treatment="treated", plan={"n_treated": 8, "duration": 21,
    ...                          "n_candidates": 2, "n_windows": 8,
    ...                          "candidate_estimators": ["did", "time_regression"]})
    >>> design = ck.design.plan(history, spec)
    >>> design.method in {"did", "time_regression"}, design.recommended_duration
    (True, 21)
    """

    method: str
    spec: ExperimentSpec
    spec_hash: str
    assignment: pd.DataFrame
    power_curve: pd.DataFrame
    duration_table: pd.DataFrame
    estimator_ranking: pd.DataFrame
    mde: float
    mde_absolute: float
    target_power: float
    alpha: float
    recommended_duration: int
    type1_error: float
    cost: float | None = None
    iroas_mde: float | None = None
    currency: str | None = None
    outcome: str = ""
    diagnostics: tuple[Diagnostic, ...] = ()
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    lineage: Lineage | None = None
    details: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ views
    @property
    def treated_units(self) -> list[Any]:
        """Geos in any treatment cell."""
        return self.assignment.loc[self.assignment["cell"] != "control", "unit"].tolist()

    @property
    def worst_status(self) -> str:
        """The most severe diagnostic status: fail > warn > pass > not_applicable."""
        order = {"fail": 3, "warn": 2, "pass": 1, "not_applicable": 0}
        if not self.diagnostics:
            return "not_applicable"
        return max((d.status for d in self.diagnostics), key=order.__getitem__)

    def _price_summary(self) -> str:
        """Summary of a price-test design, whose effects are elasticities."""
        d = self.details
        cells = self.assignment["cell"].value_counts().sort_index().to_dict()
        lines = [
            f"Price test design: {self.spec.name} (spec {self.spec_hash})",
            f"  design            : {d.get('design')} ({d.get('n_products')} products), arms {d.get('arms')}",
            "  first-period arms : " + ", ".join(f"{k} {v} products" for k, v in cells.items()),
            f"  duration          : {self.recommended_duration} periods",
            f"  smallest detectable elasticity at {self.target_power:.0%} power : {_num(self.mde)}",
            f"  type-I error      : {_pct(self.type1_error)} (alpha {self.alpha:g}; {d.get('n_sims')} simulated tests)",
            "  diagnostics:",
        ]
        lines += [f"    [{g.status}] {g.name}: {g.message}" for g in self.diagnostics]
        return "\n".join(lines)

    def summary(self) -> str:
        """Plain-text summary: the plan, the MDE, the estimator ranking and the diagnostics."""
        if self.details.get("effect_kind") == "elasticity":
            return self._price_summary()
        a = self.assignment
        cells = a["cell"].value_counts().to_dict()
        switchback = (self.details or {}).get("design") == "switchback"
        d = self.details or {}
        lines = [
            f"{'Switchback' if switchback else 'Geo experiment'} design: {self.spec.name} (spec {self.spec_hash})",
            f"  readout estimator : {self.method}",
            ("  schedule          : " + f"{d.get('n_blocks')} blocks, periods of {d.get('period_length')} steps, "
             f"first {d.get('carryover')} dropped as burn-in, treated with probability {d.get('p')}")
            if switchback else
            "  assignment        : " + ", ".join(f"{k} {v} geos" for k, v in cells.items()),
        ]
        if not switchback:
            lines.append(f"  treated KPI share : {a.loc[a['cell'] != 'control', 'kpi_share'].sum():.1%}")
        lines += [
            f"  duration          : {self.recommended_duration} periods",
            f"  MDE at {self.target_power:.0%} power : {_pct(self.mde)} lift "
            f"({_num(self.mde_absolute)} {self.outcome or 'KPI'} per {'unit and time step' if switchback else 'period'})",
            f"  A/A type-I error  : {_pct(self.type1_error)} (alpha {self.alpha:g}"
            + (f"; {len(self.tables['windows'])} historical windows)" if "windows" in self.tables else ")"),
        ]
        if self.cost is not None:
            cur = f" {self.currency}" if self.currency else ""
            lines.append(f"  cost              : {_num(self.cost)}{cur}; iROAS MDE {_num(self.iroas_mde)}")
        lines.append("  estimators (bias, coverage, type-I, MDE):")
        for r in self.estimator_ranking.itertuples(index=False):
            star = " *" if r.recommended else ""
            lines.append(
                f"    {r.estimator:<18} {r.bias:+.4f}  {r.coverage:.3f}  {r.type1_error:.3f}  {_pct(r.mde)}{star}"
            )
        if self.diagnostics:
            lines.append("  diagnostics:")
            lines += [f"    [{d.status}] {d.name}: {d.message}" for d in self.diagnostics]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"DesignResult(method={self.method!r}, n_treated={len(self.treated_units)}, "
            f"duration={self.recommended_duration}, mde={self.mde:.4g}, type1_error={self.type1_error:.3g})"
        )

    def _repr_html_(self) -> str:
        if _hooks.provided("design_card"):
            return _hooks.call("design_card", self)
        rows = "".join(
            f"<tr><td>{escape(str(r.estimator))}</td><td>{escape(_pct(r.mde))}</td>"
            f"<td>{escape(f'{r.coverage:.3f}')}</td><td>{escape(f'{r.type1_error:.3f}')}</td>"
            f"<td>{'&#10003;' if r.recommended else ''}</td></tr>"
            for r in self.estimator_ranking.itertuples(index=False)
        )
        diag = "".join(
            f"<li>{escape(d.status)}: {escape(d.name)}: {escape(d.message)}</li>" for d in self.diagnostics
        )
        return (
            "<div style='border:1px solid #ddd;border-radius:6px;padding:10px;font-family:sans-serif;max-width:760px'>"
            f"<div style='font-weight:600'>Geo design · {escape(self.spec.name)} · {escape(self.method)}</div>"
            f"<div>MDE {escape(_pct(self.mde))} at {escape(f'{self.target_power:.0%}')} power over "
            f"{self.recommended_duration} periods; {len(self.treated_units)} treated geos.</div>"
            "<table><tr><th>estimator</th><th>MDE</th><th>coverage</th><th>type-I</th><th>rec.</th></tr>"
            f"{rows}</table><ul>{diag}</ul></div>"
        )

    def plot(self, kind: str | None = None) -> go.Figure:
        """A plotly figure: ``"power_curve"`` (default), ``"pre_period_fit"`` or ``"mde_by_duration"``."""
        return _hooks.call("design_plot", self, kind)

    def plot_kinds(self) -> tuple[str, ...]:
        """The plot kinds this result offers; the first is the default."""
        return tuple(_hooks.call("design_plot_kinds", self))

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict; :meth:`from_dict` rebuilds an equal result."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "spec":
                out[f.name] = value.model_dump(mode="json")
            elif f.name in _TABLE_FIELDS:
                out[f.name] = _table_to_dict(value)
            elif f.name == "tables":
                out[f.name] = {k: _table_to_dict(v) for k, v in value.items()}
            elif f.name == "diagnostics":
                out[f.name] = [d.to_dict() for d in value]
            elif f.name == "lineage":
                out[f.name] = value.to_dict() if value is not None else None
            else:
                out[f.name] = _jsonable(value)
        return out

    def to_json(self, **kwargs: Any) -> str:
        """JSON text of :meth:`to_dict` (NaN written as null)."""
        return json.dumps(_nan_to_none(self.to_dict()), **kwargs)

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> DesignResult:
        """Rebuild a result from :meth:`to_dict` output."""
        from ..spec import ExperimentSpec

        data = dict(payload)
        data["spec"] = ExperimentSpec(**data["spec"])
        for name in _TABLE_FIELDS:
            data[name] = _table_from_dict(data[name])
        data["tables"] = {k: _table_from_dict(v) for k, v in data.get("tables", {}).items()}
        data["diagnostics"] = tuple(Diagnostic(**d) for d in data.get("diagnostics", ()))
        if data.get("lineage") is not None:
            data["lineage"] = Lineage(**data["lineage"])
        for name in ("mde", "mde_absolute", "type1_error"):
            if data.get(name) is None:
                data[name] = math.nan
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> DesignResult:
        """Rebuild a result from :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def _pct(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{100 * x:.2f}%"


def _num(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:,.4g}"
