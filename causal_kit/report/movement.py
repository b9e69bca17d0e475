"""The metric-movement report: headline, waterfall, segment tables, caveats, suggested experiment.

Renders a :class:`causal_kit.explain.MovementAnalysis` (or a single
:class:`~causal_kit.explain.Decomposition`) as one self-contained HTML page through
``templates/movement_report.html``. All wording of numbers happens here and in :mod:`fmt`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from . import fmt
from .html import _Figures, _finish, _page, _table_view, _template

__all__ = ["render_movement", "headline"]

METHOD_TITLES = {
    "mix_rate": "Mix versus rate", "kpi_tree_lmdi": "KPI tree drivers (LMDI)",
    "kpi_tree_shapley": "KPI tree drivers (Shapley)", "oaxaca_twofold": "Oaxaca-Blinder, twofold",
    "oaxaca_threefold": "Oaxaca-Blinder, threefold", "graph_attribution": "Causal graph attribution (DoWhy)",
}
CAVEAT = ("Mix/rate, KPI-tree and Oaxaca-Blinder splits are accounting: they say where the change sits, not what "
          "caused it. Only the graph attribution (if the graph is right) or an experiment speaks to causes.")


def _is_rate(d: Any) -> bool:
    return 0.0 <= d.before <= 1.0 and 0.0 <= d.after <= 1.0 and d.method == "mix_rate"


def _amount(x: float, rate: bool, sign: bool = False) -> str:
    if rate:
        return f"{fmt.signed(100 * x) if sign else fmt.num(abs(100 * x))} points"
    return fmt.signed(x) if sign else fmt.num(abs(x))


def _level(x: float, rate: bool) -> str:
    return fmt.pct(x) if rate else fmt.num(x)


def _segment_phrase(d: Any, column: str) -> str:
    """The segment that carries most of ``column`` (mix or rate), in words."""
    dims = list(d.tables["shapley"]["dimension"]) if "shapley" in d.tables else []
    if not dims:
        return ""
    shap = d.tables["shapley"]
    top_dim = str(shap.iloc[shap["shapley_mix"].abs().argmax()]["dimension"]) if column == "mix" else None
    table = d.tables.get(f"segments: {top_dim}") if top_dim else None
    if table is None:
        table = d.tables["cells"]
    row = table.iloc[table[column].abs().argmax()]
    seg_cols = [c for c in table.columns if c in dims]
    name = ", ".join(f"{c} = {fmt.plain(row[c])}" for c in seg_cols)
    if column == "mix":
        return f"the share of {name} went from {fmt.pct(row['share_before'])} to {fmt.pct(row['share_after'])}"
    rate = _is_rate(d)
    return f"{name} went from {_level(row['rate_before'], rate)} to {_level(row['rate_after'], rate)}"


def headline(d: Any, period: str = "") -> str:
    """One sentence with the numbers: how much the metric moved and what carried the move.

    Examples
    --------
    >>> from causal_kit.explain import mix_rate, simulate_deliveries
    >>> from causal_kit.report.movement import headline
    >>> d = mix_rate(simulate_deliveries(seed=1), period="week", dimensions="route_type", numerator="on_time")
    >>> headline(d, "week").startswith("on_time fell 2.69 points from week 1 to week 2")
    True
    """
    rate = _is_rate(d)
    verb = "rose" if d.change > 0 else "fell" if d.change < 0 else "did not move"
    where = f"from {period + ' ' if period else ''}{d.before_label} to {period + ' ' if period else ''}{d.after_label}"
    text = (f"{d.metric} {verb} {_amount(d.change, rate)} {where} "
            f"({_level(d.before, rate)} to {_level(d.after, rate)})")
    if d.method == "mix_rate":
        mix = d.components.loc[d.components["component"].str.startswith("mix"), "value"].sum()
        rate_part = d.value("rate")
        return (f"{text}; {_amount(mix, rate, sign=True)} are mix: {_segment_phrase(d, 'mix')}; "
                f"{_amount(rate_part, rate, sign=True)} are rate: {_segment_phrase(d, 'rate')}.")
    comps = d.components.reindex(d.components["value"].abs().sort_values(ascending=False).index).head(2)
    parts = ", ".join(f"{c} ({_amount(v, rate, sign=True)})" for c, v in zip(comps["component"], comps["value"]))
    return f"{text}; the largest parts: {parts}."


def _components_view(d: Any) -> dict[str, Any]:
    rate = _is_rate(d)
    rows = []
    for r in d.components.itertuples(index=False):
        ci = fmt.interval(r.ci_low, r.ci_high) if pd.notna(r.ci_low) else ""
        share = fmt.pct(r.value / d.change) if d.change else "n/a"
        rows.append([str(r.component), _amount(r.value, rate, sign=True), share,
                     fmt.num(r.se) if pd.notna(r.se) else "", ci])
    return {"columns": ["component", "contribution", "share of change", "SE", f"{fmt.level(d.alpha)} interval"],
            "rows": rows}


def _detail_tables(d: Any) -> list[dict[str, Any]]:
    names = [k for k in d.tables if k.startswith("segments: ")] + [
        k for k in ("summary", "interactions", "drivers", "detail", "graph", "tree_check") if k in d.tables]
    if d.method == "mix_rate" and not any(k.startswith("segments: ") for k in d.tables):
        names.insert(0, "cells")
    return [_table_view(k, d.tables[k], max_rows=15) for k in names if len(d.tables[k])]


def render_movement(analysis: Any, *, title: str | None = None, template: str | Path | None = None,
                    plotlyjs: str = "auto") -> str:
    """Render a movement analysis (or one decomposition) as a self-contained HTML page.

    Examples
    --------
    >>> from causal_kit.explain import explain, simulate_deliveries
    >>> from causal_kit.report.movement import render_movement
    >>> spec = {"name": "on_time", "period": "week",
    ...         "mix_rate": {"numerator": "on_time", "dimensions": ["route_type", "carrier"]}}
    >>> html = render_movement(explain(simulate_deliveries(seed=1), spec))
    >>> "Mix versus rate" in html
    True
    """
    from ..explain.plot import waterfall_figure
    from ..explain.result import Decomposition
    from ..explain.spec import MovementAnalysis, MovementSpec

    if isinstance(analysis, Decomposition):
        analysis = MovementAnalysis(MovementSpec(name=analysis.metric, period=""), (analysis,))
    spec, figs = analysis.spec, _Figures()
    sections = []
    for d in analysis.decompositions:
        sections.append({"title": METHOD_TITLES.get(d.method, d.method), "headline": headline(d, spec.period),
                         "figure": figs.add(waterfall_figure(d, period=spec.period), d.metric), "components": _components_view(d),
                         "tables": _detail_tables(d), "notes": list(d.notes)})
    first = analysis.primary
    rate = _is_rate(first)
    tiles = [(f"{spec.period} {first.before_label}".strip(), _level(first.before, rate)),
             (f"{spec.period} {first.after_label}".strip(), _level(first.after, rate)),
             ("change", _amount(first.change, rate, sign=True))]
    suggestion = None
    s = analysis.suggestion
    if s is not None:
        verdict = (f"An experiment over {fmt.count(s.duration)} {spec.period or 'period'}s could confirm it: the planned "
                   f"design detects a {fmt.pct(s.design.duration_table.set_index('duration').loc[s.duration, 'mde'])} "
                   f"change, below the {fmt.pct(s.target_lift)} movement seen."
                   if s.confirmable else
                   f"No planned duration detects a {fmt.pct(s.target_lift)} change (the best design detects "
                   f"{fmt.pct(float(s.design.duration_table['mde'].min()))}); test more units, run longer or look for "
                   "a larger lever.")
        suggestion = {"driver": s.driver, "verdict": verdict, "spec_yaml": s.spec.to_yaml(),
                      "durations": _table_view("planned durations", s.design.duration_table[["duration", "mde"]])}
    anomalies = None
    if analysis.anomalies is not None:
        anomalies = _table_view("segments scored against their own history", analysis.anomalies, max_rows=20)
    context = {
        "page": _page(title or spec.name, [spec.question or "", f"metric: {first.metric}"], "movement"),
        "headline": headline(first, spec.period), "tiles": tiles, "sections": sections,
        "anomalies": anomalies, "suggestion": suggestion, "caveat": CAVEAT,
    }
    return _finish(_template(template, "movement_report.html"), context, figs, plotlyjs)
