"""A study's readouts over time, as a tracker: one small chart per method against the data period,
the latest verdict, links to each run's report and the planned end of the test.

The x-axis is the end of the data each run used (``data_end``, else the spec's post period, else
the run time, said so on the axis). When the runs carry a lift (``lift``, ``lift_low``,
``lift_high``) the charts show it; otherwise the effect in outcome units.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..plots.theme import COLORS, PALETTE, band_color, finish
from ..result import Diagnostic
from ..verdict import decision, verdict_from
from . import fmt
from .summary import STATUS_LABELS

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["history_figure", "history_rows", "data_period", "latest_verdict", "is_sequential", "sequential_figure"]


def _spec_of_row(row: pd.Series) -> dict[str, Any]:
    for col in ("lineage", "spec"):
        raw = row.get(col) if col in row else None
        if not isinstance(raw, str) or not raw:
            continue
        try:
            if col == "lineage":
                return dict(json.loads(raw).get("spec") or {})
            import yaml

            loaded = yaml.safe_load(raw)
            return dict(loaded) if isinstance(loaded, dict) else {}
        except (ValueError, TypeError, AttributeError):
            continue
    return {}


def _sequential_of_row(row: pd.Series) -> dict[str, Any]:
    """The run's ``details["sequential"]`` (look, planned looks, boundary, decision), or {} for a fixed-horizon run."""
    look = row.get("look") if "look" in row else None
    if look is None or pd.isna(look):  # a nullable column gives pd.NA for a fixed-horizon run
        return {}
    seq: dict[str, Any] = {}
    raw = row.get("details") if "details" in row else None
    if isinstance(raw, str) and raw:
        try:
            seq = dict(json.loads(raw).get("sequential") or {})
        except (ValueError, TypeError, AttributeError):
            seq = {}
    seq.setdefault("look", int(look))
    if "decision" in row and isinstance(row["decision"], str):
        seq["decision"] = row["decision"]
    return seq


def is_sequential(history: pd.DataFrame) -> bool:
    """Whether any run is a sequential readout (the registry's ``look`` column is filled).

    Examples
    --------
    >>> is_sequential(pd.DataFrame({"look": [None, 2]})), is_sequential(pd.DataFrame({"estimate": [1.0]}))
    (True, False)
    """
    return "look" in history.columns and bool(history["look"].notna().any())


def sequential_figure(history: pd.DataFrame) -> go.Figure:
    """The always-valid interval of each look, one panel per (study, method) with sequential runs.

    A re-run of a look keeps its latest run. The hover text gives each look's decision and, for a
    group-sequential design, its boundary.

    Examples
    --------
    >>> runs = pd.DataFrame({"run_id": ["a", "b"], "timestamp": ["2024-01-02", "2024-01-09"], "name": "ab",
    ...                      "method": "ab", "estimate": [0.2, 0.25], "ci_low": [-0.3, 0.05],
    ...                      "ci_high": [0.7, 0.45], "look": [1, 2], "decision": ["continue", "stop_efficacy"]})
    >>> len(sequential_figure(runs).data)  # a band and a line for the one method
    2
    """
    from plotly.subplots import make_subplots

    df = history.loc[history["look"].notna()].copy()
    df["_look"] = df["look"].astype(int)
    df = df.sort_values("timestamp", kind="stable").drop_duplicates(["name", "method", "_look"], keep="last")
    groups = list(df.groupby(["name", "method"], sort=True))
    fig = make_subplots(rows=len(groups), cols=1, vertical_spacing=0.12 / max(1, len(groups)),
                        subplot_titles=[f"{name} · {method}" for (name, method), _ in groups])
    group_sequential = False
    for i, (_, g) in enumerate(groups, start=1):
        g = g.sort_values("_look")
        color = PALETTE[(i - 1) % len(PALETTE)]
        seqs = [_sequential_of_row(r) for _, r in g.iterrows()]
        planned = next((s.get("n_looks_planned") for s in reversed(seqs) if s.get("n_looks_planned")), None)
        xs = [f"look {k}" + (f" of {planned}" if planned else "") for k in g["_look"]]
        text = []
        for s in seqs:
            words = str(s.get("decision") or "").replace("_", " ")
            if s.get("boundary_z") is not None:
                group_sequential = True
                words += f", boundary |z| = {fmt.num(s['boundary_z'], 3)}"
            text.append(words)
        fig.add_scatter(x=xs + xs[::-1], y=g["ci_high"].tolist() + g["ci_low"].tolist()[::-1], mode="lines",
                        fill="toself", fillcolor=band_color(color, 0.18), line=dict(width=0), hoverinfo="skip",
                        showlegend=False, row=i, col=1)
        symbols = ["star" if s.get("decision") in ("stop_efficacy", "stop_futility") else "circle" for s in seqs]
        fig.add_scatter(x=xs, y=g["estimate"].tolist(), mode="lines+markers", showlegend=False, text=text,
                        line=dict(color=color, width=2), marker=dict(size=9, symbol=symbols, color=color),
                        hovertemplate="%{x}: %{y:.4g} (%{text})<extra></extra>", row=i, col=1)
        fig.add_hline(y=0, line=dict(color=COLORS["zero"], dash="dash", width=1), row=i, col=1)
        fig.update_yaxes(title_text="effect", row=i, col=1)
    title = "Repeated confidence interval by look" if group_sequential else "Always-valid interval by look"
    fig.update_xaxes(title_text="Look", row=len(groups), col=1)
    fig.update_layout(template="causal_kit", height=120 + 220 * len(groups), title_text=title)
    return finish(fig)


def data_period(history: pd.DataFrame) -> tuple[pd.Series, str]:
    """The x value of each run and the axis title: the end of its data where known, else its run time.

    Examples
    --------
    >>> runs = pd.DataFrame({"timestamp": ["2024-02-01"], "data_end": ["2024-01-28"]})
    >>> x, title = data_period(runs)
    >>> str(x.iloc[0].date()), title
    ('2024-01-28', 'Data through')
    """
    if "data_end" in history.columns and history["data_end"].notna().all():
        return pd.to_datetime(history["data_end"], errors="coerce"), "Data through"
    ends = []
    for _, row in history.iterrows():
        post = _spec_of_row(row).get("post_period")
        ends.append(post[1] if isinstance(post, (list, tuple)) and len(post) == 2 else None)
    if all(e is not None for e in ends) and ends:
        return pd.to_datetime(pd.Series(ends, index=history.index), errors="coerce"), "Data through (end of post period)"
    return (pd.to_datetime(history["timestamp"], utc=True, errors="coerce").dt.tz_localize(None),
            "Run time (the runs did not record their data period)")


def _values(history: pd.DataFrame) -> tuple[str, str, str, bool]:
    if {"lift", "lift_low", "lift_high"} <= set(history.columns) and history["lift"].notna().all():
        return "lift", "lift_low", "lift_high", True
    return "estimate", "ci_low", "ci_high", False


def history_figure(history: pd.DataFrame, planned_end: Any = None) -> go.Figure:
    """Small multiples: one panel per (study, method), each with its interval as a band.

    Runs whose diagnostics failed are marked with an open symbol.

    Examples
    --------
    >>> runs = pd.DataFrame({"run_id": ["a", "b"], "timestamp": ["2024-01-02", "2024-01-09"],
    ...                      "data_end": ["2024-01-01", "2024-01-08"], "name": "ab", "method": "ab",
    ...                      "estimate": [0.2, 0.25], "ci_low": [-0.1, 0.15], "ci_high": [0.5, 0.35],
    ...                      "p_value": [0.2, 0.001], "worst_status": "pass"})
    >>> len(history_figure(runs).data)  # a band and a line for the one method
    2
    """
    from plotly.subplots import make_subplots

    df = history.copy()
    x, x_title = data_period(df)
    df["_x"] = x
    est, lo, hi, is_lift = _values(df)
    groups = list(df.groupby(["name", "method"], sort=True))
    fig = make_subplots(rows=len(groups), cols=1, shared_xaxes=True, vertical_spacing=0.12 / max(1, len(groups)),
                        subplot_titles=[f"{name} · {method}" for (name, method), _ in groups])
    scale = 100.0 if is_lift else 1.0
    for i, ((_, _), g) in enumerate(groups, start=1):
        g = g.sort_values("_x")
        color = PALETTE[(i - 1) % len(PALETTE)]
        xs = g["_x"].tolist()
        fig.add_scatter(x=xs + xs[::-1], y=(scale * g[hi]).tolist() + (scale * g[lo]).tolist()[::-1], mode="lines",
                        fill="toself", fillcolor=band_color(color, 0.18), line=dict(width=0), hoverinfo="skip",
                        showlegend=False, row=i, col=1)
        symbols = ["circle-open" if s == "fail" else "circle" for s in g["worst_status"]]
        fig.add_scatter(x=xs, y=(scale * g[est]).tolist(), mode="lines+markers", showlegend=False,
                        line=dict(color=color, width=2), marker=dict(size=8, symbol=symbols, color=color),
                        customdata=g["run_id"].astype(str).tolist(),
                        hovertemplate="run %{customdata}: %{y:.4g}<extra></extra>", row=i, col=1)
        fig.add_hline(y=0, line=dict(color=COLORS["zero"], dash="dash", width=1), row=i, col=1)
        fig.update_yaxes(title_text="lift (%)" if is_lift else "effect", row=i, col=1)
    if planned_end is not None:
        end = pd.Timestamp(planned_end)
        fig.add_vline(x=end, line=dict(color=COLORS["muted"], dash="dot", width=1))
        fig.add_annotation(x=end, y=1.0, yref="paper", text=f"planned end {fmt.date(end)}", showarrow=False,
                           xanchor="right", yanchor="bottom", font=dict(size=11, color=COLORS["muted"]))
    fig.update_xaxes(title_text=x_title, row=len(groups), col=1)
    fig.update_layout(template="causal_kit", height=120 + 220 * len(groups),
                      title_text="Readouts across runs, with their intervals")
    return finish(fig)


def latest_verdict(history: pd.DataFrame) -> dict[str, str]:
    """The verdict of the latest run of the headline method, from its interval and diagnostics.

    Examples
    --------
    >>> runs = pd.DataFrame({"run_id": ["a", "b"], "timestamp": ["2024-01-02", "2024-01-09"],
    ...                      "data_end": ["2024-01-01", "2024-01-08"], "name": "ab", "method": "ab",
    ...                      "estimate": [0.2, 0.25], "ci_low": [-0.1, 0.15], "ci_high": [0.5, 0.35],
    ...                      "p_value": [0.2, 0.001], "worst_status": "pass"})
    >>> latest_verdict(runs)["label"]
    'Robust'
    """
    df = history.copy().reset_index(drop=True)
    df["_x"] = data_period(df)[0]
    newest = df.loc[df["_x"] == df["_x"].max()]
    newest = newest.loc[newest["timestamp"].astype(str) == newest["timestamp"].astype(str).max()]
    # The headline method is the spec's design when recorded, else the run's first row.
    design = _spec_of_row(newest.iloc[0]).get("design")
    preferred = newest.loc[newest["method"] == design] if design else newest.iloc[:0]
    last = (preferred if len(preferred) else newest).iloc[0]
    diags = []
    raw = last.get("diagnostics") if "diagnostics" in last else None
    if isinstance(raw, str) and raw:
        try:
            for d in json.loads(raw):
                diags.append(Diagnostic(str(d["name"]), d["status"], ""))
        except (ValueError, KeyError, TypeError):
            diags = []
    if not diags and str(last["worst_status"]) in STATUS_LABELS:
        diags = [Diagnostic("checks", last["worst_status"], "")]
    seq = _sequential_of_row(last)
    v = verdict_from(diags, (float(last["ci_low"]), float(last["ci_high"])), sequential=seq or None)
    est, lo, hi, is_lift = _values(df)
    if is_lift:
        effect = f"Lift {fmt.pct(float(last[est]), 1, sign=True)}"
        ci = fmt.interval(float(last[lo]), float(last[hi]), percent=True)
    else:
        effect = f"Effect {fmt.signed(float(last[est]))}"
        ci = fmt.interval(float(last[lo]), float(last[hi]))
    decision_text = ""
    report = _spec_of_row(last).get("report") or {}
    if is_lift and report.get("break_even") is not None and (report.get("break_even_metric") or "lift") == "lift":
        d = decision(float(last[est]), (float(last[lo]), float(last[hi])), float(report["break_even"]),
                     alpha=float(last["alpha"]) if "alpha" in last and last["alpha"] == last["alpha"] else 0.05)
        decision_text = (f"{d.action.capitalize()} against a break-even lift of {fmt.pct(d.break_even, 1, sign=True)}: "
                         f"P(lift above break-even) = {fmt.pct(d.prob_above, 0)} under the normal approximation.")
    return {"label": v.label, "status": v.status, "reason": v.reason, "method": str(last["method"]),
            "run": str(last["run_id"]), "when": fmt.date(last["_x"]), "effect": effect, "ci": ci,
            "decision": decision_text, "sequential": _sequential_words(seq),
            "sequential_decision": str(seq.get("decision") or "")}


def _look_text(seq: dict[str, Any]) -> str:
    if not seq:
        return ""
    planned = seq.get("n_looks_planned")
    return f"{fmt.count(seq['look'])}" + (f" of {fmt.count(planned)}" if planned else "")


def _sequential_words(seq: dict[str, Any]) -> str:
    """'Look 2 of 3 (boundary z = 2.96): continue to the next look.' for a sequential run, else ''."""
    if not seq:
        return ""
    bound = f" (boundary z = {fmt.num(seq['boundary_z'], 3)})" if seq.get("boundary_z") is not None else ""
    return f"Look {_look_text(seq)}{bound}: {_decision_words(seq)}."


def _decision_words(seq: dict[str, Any]) -> str:
    words = {"continue": "continue to the next look", "stop_efficacy": "stop for efficacy",
             "stop_futility": "stop for futility", "final": "final look"}
    return words.get(str(seq.get("decision")), str(seq.get("decision") or "").replace("_", " "))


def _link(path: Any) -> str:
    if not isinstance(path, str) or not path:
        return ""
    return path if "://" in path else Path(path).as_uri() if Path(path).is_absolute() else path


def history_rows(history: pd.DataFrame) -> list[dict[str, Any]]:
    """The run table as text, newest data first.

    Examples
    --------
    >>> runs = pd.DataFrame({"run_id": ["a", "b"], "timestamp": ["2024-01-02", "2024-01-09"],
    ...                      "data_end": ["2024-01-01", "2024-01-08"], "name": "ab", "method": "ab",
    ...                      "estimate": [0.2, 0.25], "ci_low": [-0.1, 0.15], "ci_high": [0.5, 0.35],
    ...                      "p_value": [0.2, 0.001], "worst_status": "pass"})
    >>> [r["period"] for r in history_rows(runs)]
    ['2024-01-08', '2024-01-01']
    """
    df = history.copy()
    df["_x"] = data_period(df)[0]
    est, lo, hi, is_lift = _values(df)
    df = df.sort_values(["_x", "timestamp"], ascending=False, kind="stable")
    rows = []
    for _, r in df.iterrows():
        lift = (f"{fmt.pct(r[est], 1, sign=True)} {fmt.interval(r[lo], r[hi], percent=True)}" if is_lift else "")
        rows.append({
            "run_id": str(r["run_id"]), "timestamp": fmt.timestamp(r["timestamp"]), "period": fmt.date(r["_x"]),
            "name": str(r["name"]), "method": str(r["method"]),
            "estimate": fmt.num(r["estimate"], 4), "ci": fmt.interval(r["ci_low"], r["ci_high"], digits=4),
            "lift": lift, "p": fmt.pvalue(r["p_value"]), "status": str(r["worst_status"]),
            "status_label": STATUS_LABELS.get(str(r["worst_status"]), str(r["worst_status"])),
            "href": _link(r.get("report_path") if "report_path" in r else None),
            "look": _look_text(_sequential_of_row(r)),
            "decision": _decision_words(_sequential_of_row(r)) if _sequential_of_row(r) else "",
        })
    return rows

