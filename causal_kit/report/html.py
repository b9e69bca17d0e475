"""HTML reports: the Jinja2 environment, view models and self-contained page assembly.

Numbers are turned into text by :mod:`causal_kit.report.fmt` while building the view models;
templates only place text. The environment autoescapes everything and fails on undefined
names. Figures are embedded as JSON and drawn by one inlined copy of plotly.js, so a report
opens offline and makes no network request.
"""

from __future__ import annotations

import base64
import gzip
import itertools
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import yaml
from markupsafe import Markup

from ..errors import SpecError
from ..verdict import conclusion
from . import fmt
from .business import business_impact, spec_of
from .explanation import explain
from .pricing import price_view
from .summary import ASSUMPTION_LABELS, STATUS_LABELS, diagnostic_groups, executive_summary

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from ..result import EffectEstimate

__all__ = ["environment", "template_dirs", "render", "render_history", "PLOTLY_BUDGET"]

#: Above this many bytes with plain plotly.js inlined, the library is inlined gzip-compressed
#: (about 1.9 MB instead of 4.8 MB) and unpacked by the browser, keeping reports under 5 MB.
PLOTLY_BUDGET = 4_900_000
#: Tables longer than this are cut in the appendix (the full table stays in the result).
MAX_TABLE_ROWS = 30

METHOD_TITLES = {
    "ab": "A/B test", "did": "Difference-in-differences", "event_study": "Event study",
    "staggered_did": "Staggered DiD (Callaway-Sant'Anna)", "sun_abraham": "Sun-Abraham event study",
    "synthetic_control": "Synthetic control", "augmented_sc": "Augmented synthetic control",
    "sdid": "Synthetic difference-in-differences", "dml": "Double machine learning",
    "ipw": "Inverse propensity weighting", "psm": "Propensity score matching",
    "iv": "Instrumental variables (2SLS)", "rdd": "Regression discontinuity",
    "price_test": "Price test (log-log elasticity)",
}


# ---------------------------------------------------------------------- environment
def template_dirs() -> list[Path]:
    """Where templates are looked up: inside the installed package, then the source tree."""
    package = Path(__file__).resolve().parent.parent
    candidates = [package / "templates", package.parent / "templates"]
    return [p for p in candidates if (p / "base.html").is_file()]


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment of causal_kit reports (autoescape on, undefined names fail)."""
    dirs = template_dirs()
    if not dirs:
        raise FileNotFoundError("causal_kit report templates not found; reinstall the package.")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(STATUS_LABELS=STATUS_LABELS, METHOD_TITLES=METHOD_TITLES)
    return env


def _template(template: str | Path | None, default: str) -> jinja2.Template:
    env = environment()
    if template is None:
        return env.get_template(default)
    path = Path(template)
    if path.is_file():
        # A user template may extend base.html and import the package's macros.
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(path.parent)), env.loader])  # type: ignore[list-item]
        return env.overlay(loader=loader).get_template(path.name)
    try:
        return env.get_template(str(template))
    except jinja2.TemplateNotFound:
        raise SpecError(
            f"The 'template' parameter of render must be a template name such as 'effect_report.html' "
            f"or a path to a file. Got {str(template)!r} instead."
        ) from None


# ---------------------------------------------------------------------- figures
@lru_cache(maxsize=2)
def _plotly_source(compressed: bool) -> str:
    from plotly.offline import get_plotlyjs

    src = get_plotlyjs()
    if not compressed:
        # Keep a literal "</script" from closing the tag early.
        return src.replace("</script", "<\\/script")
    return base64.b64encode(gzip.compress(src.encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")


def _json_for_script(payload: str) -> Markup:
    """JSON text that is safe inside a <script> element (no '<', '>' or '&')."""
    safe = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(safe.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class _Figures:
    """Collects the figures of one page and gives each a unique element id."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.count = 0

    def add(self, fig: go.Figure, caption: str = "") -> dict[str, Any]:
        self.count += 1
        fig = fig.update_layout(width=None, autosize=True)
        return {"id": f"ck-fig-{next(self._ids)}", "json": _json_for_script(fig.to_json()), "caption": caption,
                "height": int(fig.layout.height or 420)}


# ---------------------------------------------------------------------- view models
def _table_view(name: str, df: pd.DataFrame, max_rows: int = MAX_TABLE_ROWS) -> dict[str, Any]:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    frame = df.head(max_rows)
    return {
        "name": name.replace("_", " "),
        "columns": [str(c) for c in frame.columns],
        "numeric": [bool(is_numeric_dtype(t) and not is_bool_dtype(t)) for t in frame.dtypes],
        "rows": [[_cell(c, v) for c, v in zip(frame.columns, row)] for row in frame.itertuples(index=False, name=None)],
        "note": f"first {fmt.count(max_rows)} of {fmt.count(len(df))} rows" if len(df) > max_rows else "",
    }


_P_COLUMNS = {"p", "p_value", "pvalue", "p_holm", "p_adj", "pval", "p_value_adj"}
_PERIOD_COLUMNS = {"time", "period", "year", "date", "cohort", "start", "end", "first_treat", "g", "t"}


def _cell(column: Any, value: Any) -> str:
    """One table cell: p-values as p-values, periods as periods, everything else via :func:`fmt.plain`."""
    name = str(column).lower()
    if name in _P_COLUMNS or name.startswith("p_value"):
        try:
            return fmt.pvalue(float(value))
        except (TypeError, ValueError):
            return fmt.plain(value)
    if name in _PERIOD_COLUMNS or name.endswith(("_time", "_period", "_date")):
        return fmt.period(value)
    if isinstance(value, str):
        return fmt.period(value)
    return fmt.plain(value)


def _spec_yaml(spec_dict: Mapping[str, Any]) -> str:
    if not spec_dict:
        return "# no spec recorded with this result"
    from ..spec import ExperimentSpec

    try:
        return ExperimentSpec(**dict(spec_dict)).to_yaml()
    except Exception:  # noqa: BLE001 - show the raw spec when it no longer validates
        return yaml.safe_dump(dict(spec_dict), sort_keys=False, allow_unicode=True)


def _lineage_view(lineage: Any, n_obs: int | None = None, n_dropped: int | None = None,
                  dropped_reasons: Mapping[str, int] | None = None) -> dict[str, Any]:
    lin = lineage.to_dict() if hasattr(lineage, "to_dict") else dict(lineage or {})
    rows = [
        ("Spec hash", str(lin.get("spec_hash") or "n/a")),
        ("Data fingerprint", str(lin.get("data_fingerprint") or "n/a")),
    ]
    if n_obs is not None:
        rows.append(("Rows used", fmt.count(n_obs)))
    if n_dropped is not None:
        reasons = "; ".join(f"{k}: {fmt.count(v)}" for k, v in (dropped_reasons or {}).items())
        rows.append(("Rows dropped", fmt.count(n_dropped) + (f" ({reasons})" if reasons else "")))
    rows += [("Seed", fmt.plain(lin.get("seed"))), ("Computed at", str(lin.get("timestamp") or "n/a"))]
    versions = ", ".join(f"{k} {v}" for k, v in (lin.get("versions") or {}).items())
    return {"rows": rows, "versions": versions}


def _result_view(result: EffectEstimate, figs: _Figures, *, all_kinds: bool = True, spec: Any = None) -> dict[str, Any]:
    from .summary import effect_interval, effect_text, lift_basis, lift_interval, lift_text

    level = fmt.level(result.alpha)
    impact = business_impact(result, spec_of(result, spec))
    m = impact.model
    # Leadership numbers in display units (the same text as the tiles); full precision in the appendix.
    numbers = [
        ("Estimand", result.estimand + (f" ({m.local})" if m.local else ""), ""),
        ("Change (exp(effect) - 1 of the log outcome)" if impact.effect_is_relative else
         f"Effect on {m.label}" + (f" ({m.per})" if m.per else ""), effect_text(impact, impact.effect), "effect"),
        (f"{level} confidence interval", effect_interval(impact, level).split(" CI ", 1)[1].replace(" to ", " to "),
         "effect_ci"),
        ("p-value", fmt.pvalue(result.p_value), "p"),
    ]
    if result.method == "price_test":  # an elasticity: the same text as its tile
        numbers[1:3] = [("Own-price elasticity", fmt.num(result.estimate, 2), "effect"),
                        (f"{level} confidence interval", f"{fmt.num(result.ci[0], 2)} to {fmt.num(result.ci[1], 2)}",
                         "effect_ci")]
    elif impact.lift is not None and impact.lift_ci is not None and not impact.effect_is_relative:
        numbers.append((f"Lift ({lift_basis(impact)})", f"{lift_text(impact)} ({lift_interval(impact, level)})", "lift"))
    numbers.append(("Observations", fmt.count(result.n_obs), ""))
    if result.n_units is not None:
        numbers.append(("Units", fmt.count(result.n_units), ""))
    precise = [
        ("Estimate (model scale)", fmt.num(result.estimate, 6)),
        ("Standard error", fmt.num(result.se, 6)),
        (f"{level} CI (model scale)", fmt.interval(*result.ci, digits=6)),
        ("p-value", f"{result.p_value:.3g}" if result.p_value == result.p_value else "n/a"),
    ]
    if result.baseline is not None:
        precise.append(("Counterfactual mean (baseline)", fmt.num(result.baseline, 6)))
    if result.exposure is not None:
        precise.append(("Exposure (treated units or unit-periods)", fmt.plain(result.exposure)))
    kinds = result.plot_kinds()
    figures = []
    for k in kinds if all_kinds else kinds[:1]:
        fig = result.plot(k)
        # A figure that only explains why it is empty, or shows nothing that varies, is left out.
        if _placeholder_text(fig) is None and not _uninformative(fig):
            figures.append(figs.add(fig, k.replace("_", " ")))
    tables = [_table_view(name, df) for name, df in result.tables.items()]
    return {
        "segments": _segments_view(result, impact),
        "level": level,
        "name": result.label or METHOD_TITLES.get(result.method, result.method),
        "method": result.method,
        "method_title": METHOD_TITLES.get(result.method, result.method),
        "estimand": result.estimand,
        "numbers": numbers,
        "precise": precise,
        "figures": figures,
        "figure_notes": [],
        "diag_groups": diagnostic_groups(result.diagnostics),
        "worst": result.worst_status,
        "inference": result.inference,
        "tables": tables,
        "details": [(str(k), _cell(k, v) if isinstance(v, float) else _detail_text(v)) for k, v in result.details.items()],
        "dropped": [(k, fmt.count(v)) for k, v in result.dropped_reasons.items()],
        "lineage": _lineage_view(result.lineage, result.n_obs, result.n_dropped, result.dropped_reasons),
        "pricing": price_view(result),
    }


def _segments_view(result: EffectEstimate, impact: Any) -> list[dict[str, str]]:
    """Effects by segment in the outcome's units, when the method reports them (``segments`` table)."""
    table = result.tables.get("segments")
    if table is None or not len(table) or not {"segment", "level", "estimate", "ci_low", "ci_high"} <= set(table):
        return []
    m, rel = impact.model, impact.effect_is_relative
    convert = (lambda v: math.expm1(v)) if rel else (lambda v: v)
    words = {"positive": "increase", "negative": "decrease", "null": "no detectable effect"}
    rows = []
    for r in table.itertuples(index=False):
        lo, hi = convert(float(r.ci_low)), convert(float(r.ci_high))
        rows.append({
            "segment": f"{r.segment} = {fmt.period(r.level)}", "n": fmt.count(getattr(r, "n", None)),
            "effect": fmt.effect(convert(float(r.estimate)), m, relative=rel),
            "ci": f"{fmt.effect(lo, m, relative=rel)} to {fmt.effect(hi, m, relative=rel)}",
            "conclusion": words[conclusion((lo, hi))],
        })
    return rows


def _detail_text(value: Any) -> str:
    """A method setting for the appendix: scalars as they are, short lists joined, long ones counted."""
    if isinstance(value, (dict, list, tuple)) and not value:
        return "none"
    if isinstance(value, dict):
        items = [f"{k}: {fmt.plain(v) if not isinstance(v, (dict, list, tuple)) else '...'}" for k, v in value.items()]
        return "; ".join(items[:8]) + (f"; ... ({fmt.count(len(items))} in all)" if len(items) > 8 else "")
    if isinstance(value, (list, tuple)):
        items = [fmt.plain(v) for v in value]
        return ", ".join(items[:8]) + (f", ... ({fmt.count(len(items))} in all)" if len(items) > 8 else "")
    if isinstance(value, str):
        return fmt.period(value)
    return fmt.plain(value)


def _uninformative(fig: go.Figure) -> bool:
    """True for a bar chart whose bars are all equal (for example uniform time weights)."""
    bars = [t for t in fig.data if getattr(t, "type", "") == "bar"]
    if not bars or len(bars) != len(fig.data):
        return False
    values = []
    for t in bars:
        v = t.x if getattr(t, "orientation", None) == "h" else t.y
        values.extend(float(x) for x in (v if v is not None else ()) if x is not None)
    return len(values) > 1 and max(values) - min(values) <= 1e-9 * max(1.0, max(abs(x) for x in values))


def _placeholder_text(fig: go.Figure) -> str | None:
    """The message of a figure that only says why it is empty (text traces, no data), else None."""
    if not fig.data or not all(getattr(t, "mode", None) == "text" for t in fig.data):
        return None
    texts = [str(x) for t in fig.data for x in (t.text if isinstance(t.text, (list, tuple)) else [t.text]) if x]
    return " ".join(texts) or "no data for this figure"


def _summary_view(summary: Any) -> dict[str, Any]:
    conf = summary.confidence
    return {
        "question": summary.question,
        "answer": summary.answer,
        "business": list(summary.business),
        "confidence": {"label": conf.label, "reason": conf.reason, "status": conf.status,
                       "sentence": conf.sentence},
        "recommendation": summary.recommendation,
        "decision": getattr(summary, "decision", ""),
        "decision_action": getattr(summary, "decision_action", ""),
        "sequential": getattr(summary, "sequential", ""),
        "sequential_decision": getattr(summary, "sequential_decision", ""),
        "tiles": [{"label": t.label, "value": t.value, "sub": t.sub, "key": t.key, "muted": t.muted}
                  for t in summary.tiles],
    }


def _comparison_view(comparison: Any, figs: _Figures) -> dict[str, Any]:
    from .summary import effect_interval, effect_text, lift_text

    t = comparison.table
    rows = []
    for r, agrees in zip(comparison.results, t["agrees"]):
        impact = business_impact(r)
        level = fmt.level(r.alpha)
        lift = (f"{lift_text(impact)} {fmt.interval(*impact.lift_ci, percent=True)}"
                if impact.lift is not None and impact.lift_ci is not None else "n/a")
        elasticity = r.method == "price_test"  # unitless: the same text as its tile
        rows.append({
            "name": r.label or METHOD_TITLES.get(r.method, r.method), "method": r.method,
            "estimand": r.estimand,
            "estimate": fmt.num(r.estimate, 2) if elasticity else effect_text(impact, impact.effect),
            "ci": (f"{fmt.num(r.ci[0], 2)} to {fmt.num(r.ci[1], 2)}" if elasticity
                   else effect_interval(impact, level).split(" CI ", 1)[1]),
            "p": fmt.pvalue(r.p_value), "lift": lift,
            "n": fmt.count(r.n_obs), "worst": r.worst_status, "worst_label": STATUS_LABELS[r.worst_status],
            "agrees": "yes" if bool(agrees) else "no",
        })
    v = comparison.verdict
    return {
        "rows": rows,
        # Agreeing that nothing can be told is not good news: that badge stays grey, never green.
        "verdict": {"label": v.label, "message": v.message,
                    "status": ("not_applicable" if v.label == "agree" and conclusion(comparison.results[0].ci) == "null"
                               else {"agree": "pass", "single": "not_applicable", "mixed": "warn"}.get(v.label, "fail"))},
        "figure": figs.add(comparison.plot(), "forest plot"),
        "level": fmt.level(comparison.results[0].alpha),
    }


def _page(title: str, subtitle: Sequence[str], kind: str) -> dict[str, Any]:
    return {
        "title": title,
        "subtitle": [s for s in subtitle if s],
        "kind": kind,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _subtitle(spec_dict: Mapping[str, Any], extra: Sequence[str] = ()) -> list[str]:
    report = spec_dict.get("report") or {}
    out = list(extra)
    if spec_dict.get("design"):
        out.append(f"design: {spec_dict['design']}")
    if report.get("owner"):
        out.append(f"owner: {report['owner']}")
    if report.get("audience"):
        out.append(f"for: {report['audience']}")
    return out


def _title(title: str | None, spec_dict: Mapping[str, Any], fallback: str) -> str:
    report = spec_dict.get("report") or {}
    return title or report.get("title") or spec_dict.get("name") or fallback


# ---------------------------------------------------------------------- contexts
def _readout(results: Sequence[EffectEstimate], spec_dict: Mapping[str, Any], figs: _Figures, design: Any,
             design_href: str | None, comparison: Any = None) -> dict[str, Any]:
    """What every readout page shares: the summary, the context block and the cumulative chart."""
    from .context import cumulative_figure, readout_context

    summary = executive_summary(list(results), spec_dict, comparison, design=design)
    cumulative = cumulative_figure(results[0], summary.impact) if summary.impact is not None else None
    return {
        "summary": _summary_view(summary),
        "context": readout_context(results, spec_dict, design, design_href),
        "cumulative": figs.add(cumulative, "cumulative incremental effect") if cumulative is not None else None,
    }


def _effect_context(result: EffectEstimate, title: str | None, spec: Any, figs: _Figures, design: Any = None,
                    design_href: str | None = None) -> dict[str, Any]:
    spec_dict = spec_of(result, spec)
    return {
        "page": _page(_title(title, spec_dict, "Effect report"), _subtitle(spec_dict, [result.label or result.method]), "effect"),
        **_readout([result], spec_dict, figs, design, design_href),
        "results": [_result_view(result, figs)],
        "explanation": explain(result, spec_dict),
        "comparison": None,
        "methods": [result.method],
        "spec_yaml": _spec_yaml(spec_dict),
    }


def _robustness_context(results: Sequence[EffectEstimate], title: str | None, spec: Any,
                        figs: _Figures, design: Any = None, design_href: str | None = None) -> dict[str, Any]:
    from ..compare import Comparison

    comparison = Comparison(results)
    spec_dict = spec_of(results[0], spec)
    return {
        "page": _page(_title(title, spec_dict, "Robustness report"),
                      _subtitle(spec_dict, [f"{len(results)} methods"]), "robustness"),
        **_readout(results, spec_dict, figs, design, design_href, comparison),
        "comparison": _comparison_view(comparison, figs),
        "results": [_result_view(r, figs, all_kinds=i == 0) for i, r in enumerate(results)],
        "methods": list(dict.fromkeys(r.method for r in results)),
        "spec_yaml": _spec_yaml(spec_dict),
    }


def _design_context(design: Any, title: str | None, spec: Any, figs: _Figures) -> dict[str, Any]:
    from .design import design_summary, sequential_operating

    spec_obj = spec if spec is not None else design.spec
    spec_dict = spec_of(design, spec_obj)
    summary = design_summary(design)
    kinds = tuple(design.plot_kinds())
    figures = [figs.add(design.plot(k), k.replace("_", " ")) for k in kinds]
    tables = []
    elasticity = (design.details or {}).get("effect_kind") == "elasticity"
    for name in ("estimator_ranking", "duration_table"):
        df = getattr(design, name, None)
        if df is not None and len(df):
            tables.append(_table_view(name, _design_table(df, design.currency, elasticity)))
    assignment = getattr(design, "assignment", None)
    cells = []
    if assignment is not None and len(assignment):
        treated = assignment.loc[assignment["cell"] != "control"]
        treated_cost = float(treated["cost"].sum()) if "cost" in treated and treated["cost"].notna().any() else None
        for cell, g in assignment.groupby("cell", sort=True):
            # The cells' spend is the headline cost (the recommended duration), split by each cell's share.
            cost = "n/a"
            if cell == "control":
                cost = "none (not treated)"
            elif design.cost is not None and treated_cost:
                cost = fmt.money(design.cost * float(g["cost"].sum()) / treated_cost, design.currency)
            cells.append({
                "cell": str(cell), "units": fmt.count(len(g)),
                "kpi_share": fmt.pct(float(g["kpi_share"].sum())) if "kpi_share" in g else "n/a",
                "cost": cost, "list": ", ".join(str(u) for u in g["unit"].tolist()),
            })
        tables.append(_table_view("assignment", assignment.drop(columns=["cost"], errors="ignore"), max_rows=60))
    for name, df in (getattr(design, "tables", None) or {}).items():
        if name in ("windows", "pre_period_fit"):
            continue  # drawn as a figure, or raw simulation bookkeeping
        tables.append(_table_view(name, df))
    lineage = getattr(design, "lineage", None)
    return {
        "page": _page(title or f"Test plan: {_title(None, spec_dict, 'experiment design')}",
                      _subtitle(spec_dict, [f"planning: {design.method}"]), "design"),
        "summary": summary,
        "figures": figures,
        "cells": cells,
        "sequential": sequential_operating(design),
        "tables": tables,
        "diag_groups": diagnostic_groups(tuple(design.diagnostics or ())),
        "details": [(str(k), _detail_text(v)) for k, v in (design.details or {}).items()],
        "duration_word": "periods",
        "methods": [design.method] if design.method in METHOD_TITLES else [],
        "spec_yaml": _spec_yaml(spec_dict),
        "lineage": _lineage_view(lineage) if lineage is not None else None,
    }


_PCT_COLUMNS = ("mde", "bias", "rmse", "coverage", "coverage_mcse", "coverage_ci_low", "coverage_ci_high",
                "type1_error", "aa_rate", "aa_ci_low", "aa_ci_high", "aa_mcse", "aa_limit", "power",
                "effect", "kpi_share")


def _design_table(df: pd.DataFrame, currency: str | None, elasticity: bool = False) -> pd.DataFrame:
    """A design table as text for leaders: rates as percents, money compact, no raw floats."""
    out = df.copy()
    for col in out.columns:
        name = str(col)
        if elasticity and name in ("mde", "effect", "bias", "rmse", "ci_halfwidth"):  # elasticities, not rates
            out[col] = [fmt.num(float(v), 3) if v == v and v is not None else "n/a" for v in out[col]]
        elif name in _PCT_COLUMNS or name.endswith("_rate"):
            out[col] = [fmt.pct(float(v), 1) if v == v and v is not None else "n/a" for v in out[col]]
        elif name == "cost":
            out[col] = [fmt.money(float(v), currency) if v == v and v is not None else "n/a" for v in out[col]]
        elif out[col].dtype == bool:
            out[col] = ["yes" if v else "no" for v in out[col]]
        elif name in ("mde_absolute", "iroas_mde"):
            out[col] = [fmt.num(float(v), 3) if v == v and v is not None else "n/a" for v in out[col]]
    return out


def _is_design(obj: Any) -> bool:
    return hasattr(obj, "power_curve") and hasattr(obj, "assignment")


def _classify(obj: Any) -> str:
    from ..compare import Comparison
    from ..result import EffectEstimate

    if isinstance(obj, Comparison):
        return "robustness" if len(obj) > 1 else "effect"
    if isinstance(obj, EffectEstimate):
        return "effect"
    if _is_design(obj):
        return "design"
    if isinstance(obj, (list, tuple)):
        if not obj:
            raise SpecError("render() got an empty list; pass one or more EffectEstimate objects.")
        if all(isinstance(r, EffectEstimate) for r in obj):
            hashes = {r.lineage.spec_hash if r.lineage is not None else "" for r in obj}
            if len(obj) == 1:
                return "effect"
            return "robustness" if len(hashes) == 1 else "portfolio"
        if all(isinstance(r, (EffectEstimate, list, tuple)) for r in obj):
            return "portfolio"
    raise SpecError(
        "render() takes an EffectEstimate, a list of them (one spec: robustness; several specs: "
        f"portfolio), a list of such lists, or a DesignResult. Got {type(obj).__name__}."
    )


def _finish(template: jinja2.Template, context: dict[str, Any], figs: _Figures, plotlyjs: str) -> str:
    context = {**context, "has_figures": figs.count > 0, "assumption_labels": ASSUMPTION_LABELS}
    if plotlyjs not in ("auto", "inline", "compressed"):
        raise SpecError(f"The 'plotlyjs' parameter of render must be one of 'auto', 'inline', 'compressed'. "
                        f"Got {plotlyjs!r} instead.")
    mode = "inline" if plotlyjs == "auto" else plotlyjs
    html = template.render(**context, plotly_mode=mode, plotly_js=Markup(_plotly_source(mode == "compressed")))
    if plotlyjs == "auto" and figs.count and len(html.encode("utf-8")) > PLOTLY_BUDGET:
        html = template.render(**context, plotly_mode="compressed", plotly_js=Markup(_plotly_source(True)))
    return html


def render(obj: Any, template: str | Path | None = None, *, title: str | None = None, spec: Any = None,
           plotlyjs: str = "auto", design: Any = None, design_href: str | None = None,
           links: Mapping[str, str] | None = None, calendar: Any = None) -> str:
    """Render a result, several results or a design as one self-contained HTML page.

    See :func:`causal_kit.report.render` for the parameters.
    """
    from ..compare import Comparison

    kind = _classify(obj)
    if isinstance(obj, Comparison):
        obj = list(obj.results)
    figs = _Figures()
    if kind == "effect":
        result = obj if not isinstance(obj, (list, tuple)) else obj[0]
        context, default = _effect_context(result, title, spec, figs, design, design_href), "effect_report.html"
    elif kind == "robustness":
        context = _robustness_context(list(obj), title, spec, figs, design, design_href)
        default = "robustness_report.html"
    elif kind == "portfolio":
        from .portfolio import portfolio_context

        context = portfolio_context(list(obj), title, figs, links, calendar=calendar)
        default = "portfolio_report.html"
    else:
        context, default = _design_context(obj, title, spec, figs), "design_report.html"
    return _finish(_template(template, default), context, figs, plotlyjs)


def render_history(history: pd.DataFrame, title: str | None = None, *, template: str | Path | None = None,
                   plotlyjs: str = "auto", planned_end: Any = None) -> str:
    """Render a study's readouts across registry runs as a tracker.

    See :func:`causal_kit.report.render_history`.
    """
    from .history import (
        data_period,
        history_figure,
        history_rows,
        is_sequential,
        latest_verdict,
        sequential_figure,
    )

    figs = _Figures()
    required = ["run_id", "timestamp", "name", "method", "estimate", "ci_low", "ci_high", "p_value", "worst_status"]
    missing = [c for c in required if c not in history.columns]
    if missing:
        raise SpecError(f"render_history needs the column(s) {missing} in the history table; it has "
                        f"{[str(c) for c in history.columns]}.")
    names = sorted({str(n) for n in history["name"]})
    context = {
        "page": _page(title or ("History of " + ", ".join(names) if names else "History"),
                      [f"{fmt.count(len(history))} runs"], "history"),
        "history_fig": figs.add(history_figure(history, planned_end), "history") if len(history) else None,
        "sequential_fig": (figs.add(sequential_figure(history), "sequential looks")
                           if len(history) and is_sequential(history) else None),
        "latest": latest_verdict(history) if len(history) else None,
        "planned_end": fmt.date(planned_end) if planned_end is not None else "",
        "period_title": "data through" if data_period(history)[1].startswith("Data") else "run time",
        "rows": history_rows(history),
        "methods": sorted({str(m) for m in history["method"]} & set(METHOD_TITLES)),
    }
    return _finish(_template(template, "history_report.html"), context, figs, plotlyjs)
