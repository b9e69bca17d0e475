"""Figures for selection-on-observables results (DML, IPW, propensity matching).

Every figure is drawn from the result's tables alone, so it works after a JSON round trip.
Kinds: ``effect`` (estimate and CI), ``overlap`` (propensity histogram by arm), ``balance``
(standardised mean differences before/after weighting), ``cate`` (CATE against one
feature), ``gates`` (group effects by CATE quintile), ``segments`` (effects by named
segment), ``sensitivity`` (omitted-variable-bias bounds) and ``refutation``. A kind whose
table the result lacks draws a short note saying which option produces it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .effect import effect_figure
from .theme import COLORS, band_color, new_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

KINDS = ("effect", "overlap", "balance", "cate", "gates", "segments", "sensitivity", "refutation")

_HOW = {
    "overlap": "a binary treatment",
    "balance": "a binary treatment",
    "cate": "DML with cate='dr_learner' or 'causal_forest'",
    "gates": "DML with cate='dr_learner' or 'causal_forest'",
    "segments": "DML with segments=[...]",
    "sensitivity": "DML",
    "refutation": "DML with refute=True",
}
_TABLE = {"overlap": "overlap", "balance": "balance", "cate": "cate", "gates": "gates", "segments": "segments",
          "sensitivity": "sensitivity", "refutation": "refutation"}


def _note(result: EffectEstimate, kind: str) -> go.Figure:
    fig = new_figure(title=f"No {kind} table in this {result.method} result")
    fig.add_scatter(x=[0], y=[0], mode="text", text=[f"Run {_HOW[kind]} to get this figure."], showlegend=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _interval_chart(fig: go.Figure, labels: list[str], est, low, high, name: str) -> None:  # noqa: ANN001
    est, low, high = (np.asarray(v, dtype=float) for v in (est, low, high))
    fig.add_scatter(
        x=est, y=labels, mode="markers", marker=dict(size=10, color=COLORS["estimate"]), name=name,
        error_x=dict(type="data", symmetric=False, array=high - est, arrayminus=est - low, thickness=2, width=6),
    )


def plot(result: EffectEstimate, kind: str) -> go.Figure:
    """Draw ``kind`` (one of :data:`KINDS`) for a DML, IPW or matching result.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.estimators.matching import IPW
    >>> spec = ck.ExperimentSpec(name="401k", design="dml", outcome="net_tfa", treatment="e401",
    ...     covariates=["age", "inc", "educ", "fsize", "marr", "twoearn", "db", "pira", "hown"])
    >>> res = IPW().fit(ck.datasets.load("sipp401k"), spec)
    >>> [len(plot(res, k).data) > 0 for k in ("overlap", "balance")]
    [True, True]
    """
    if kind == "effect":
        return effect_figure(result)
    table = result.tables.get(_TABLE[kind])
    if table is None or len(table) == 0:
        return _note(result, kind)
    unit = result.outcome or "outcome"
    level = round(100 * (1 - result.alpha))
    if kind == "overlap":
        mid = (table["bin_low"] + table["bin_high"]) / 2
        fig = new_figure(title="Propensity score overlap", x_title="Estimated propensity score",
                         y_title="Rows", barmode="overlay")
        fig.add_bar(x=mid, y=table["treated"], name="treated", marker_color=COLORS["treated"], opacity=0.6)
        fig.add_bar(x=mid, y=table["control"], name="control", marker_color=COLORS["control"], opacity=0.6)
        trim = result.details.get("trim")
        if trim:
            for x in (trim, 1 - trim):
                fig.add_vline(x=x, line=dict(color=COLORS["muted"], dash="dot", width=1))
        return fig
    if kind == "balance":
        fig = new_figure(title="Covariate balance", x_title="Absolute standardised mean difference",
                         height=max(300, 40 * len(table) + 120))
        feats = table["feature"].astype(str).tolist()
        fig.add_scatter(x=table["smd_raw"].abs(), y=feats, mode="markers", name="raw",
                        marker=dict(color=COLORS["control"], size=9, symbol="circle-open"))
        fig.add_scatter(x=table["smd_weighted"].abs(), y=feats, mode="markers", name="adjusted",
                        marker=dict(color=COLORS["treated"], size=9))
        fig.add_vline(x=0.1, line=dict(color=COLORS["muted"], dash="dash", width=1))
        return fig
    if kind == "cate":
        feature = result.details.get("cate_feature") or [c for c in table.columns if c != "cate"][0]
        fig = new_figure(title=f"Conditional effect on {unit} by {feature}", x_title=str(feature),
                         y_title=f"Estimated effect on {unit}")
        fig.add_scatter(x=table[feature], y=table["cate"], mode="markers", name="row CATE",
                        marker=dict(color=COLORS["placebo"], size=5))
        order = np.argsort(table[feature].to_numpy(), kind="stable")
        xs, ys = table[feature].to_numpy()[order], table["cate"].to_numpy()[order]
        bins = np.array_split(np.arange(len(xs)), min(10, len(xs)))
        fig.add_scatter(x=[xs[b].mean() for b in bins], y=[ys[b].mean() for b in bins], mode="lines+markers",
                        name="binned mean", line=dict(color=COLORS["estimate"], width=3))
        fig.add_hline(y=result.estimate, line=dict(color=COLORS["zero"], dash="dash", width=1))
        return fig
    if kind == "gates":
        fig = new_figure(title=f"Group average effects by predicted-effect quintile ({level}% CI)",
                         x_title="Group (1 = lowest predicted effect)", y_title=f"Effect on {unit}")
        g = table["group"].astype(str).tolist()
        fig.add_scatter(x=g, y=table["estimate"], mode="markers", marker=dict(size=10, color=COLORS["estimate"]),
                        name="GATE", error_y=dict(type="data", symmetric=False,
                                                  array=table["ci_high"] - table["estimate"],
                                                  arrayminus=table["estimate"] - table["ci_low"]))
        fig.add_hline(y=result.estimate, line=dict(color=COLORS["zero"], dash="dash", width=1))
        return fig
    if kind == "segments":
        labels = [f"{s} = {v}" for s, v in zip(table["segment"], table["level"])]
        fig = new_figure(title=f"Effect on {unit} by segment ({level}% CI)", x_title=f"Effect on {unit}",
                         height=max(300, 36 * len(table) + 120))
        _interval_chart(fig, labels, table["estimate"], table["ci_low"], table["ci_high"], "segment effect")
        fig.add_vline(x=0, line=dict(color=COLORS["zero"], dash="dash", width=1))
        return fig
    if kind == "sensitivity":
        fig = new_figure(title="Sensitivity to an unobserved confounder",
                         x_title="Confounder strength (share of residual variation, cf_y = cf_d)",
                         y_title=f"Effect on {unit}")
        x = table["cf"]
        fig.add_scatter(x=x, y=table["ci_upper"], mode="lines", line=dict(width=0), showlegend=False)
        fig.add_scatter(x=x, y=table["ci_lower"], mode="lines", line=dict(width=0), fill="tonexty",
                        fillcolor=band_color(COLORS["estimate"]), name=f"{level}% bound on the CI")
        fig.add_scatter(x=x, y=table["theta_upper"], mode="lines", line=dict(color=COLORS["estimate"]),
                        name="bias bound")
        fig.add_scatter(x=x, y=table["theta_lower"], mode="lines", line=dict(color=COLORS["estimate"]),
                        showlegend=False)
        fig.add_hline(y=0, line=dict(color=COLORS["zero"], dash="dash", width=1))
        return fig
    # refutation
    fig = new_figure(title="Refutation checks", x_title=f"Estimate of the effect on {unit}")
    labels = table["refuter"].astype(str).tolist()
    est = table["new_estimate"].to_numpy(dtype=float)
    se = table["new_se"].to_numpy(dtype=float)
    from scipy.stats import norm

    z = float(norm.ppf(1 - result.alpha / 2))
    _interval_chart(fig, labels, est, est - z * se, est + z * se, f"refit estimate ({level}% CI)")
    fig.add_vline(x=result.estimate, line=dict(color=COLORS["treated"], width=1), annotation_text="original")
    fig.add_vline(x=0, line=dict(color=COLORS["zero"], dash="dash", width=1))
    return fig
