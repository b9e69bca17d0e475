"""Robustness across methods: one tidy table, a forest plot and a verdict on agreement.

:func:`compare` takes the results of several methods run on one spec (what
``causal_kit.estimate`` returns when ``spec.estimators`` is set) and says whether they tell
the same story: the same conclusion (all significant with one sign, or all null) with
overlapping intervals. The rules live in :mod:`causal_kit.verdict`.
"""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from . import _hooks, fmt
from .errors import SpecError
from .outcome import business_impact
from .result import EffectEstimate
from .verdict import agreement

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["compare", "Comparison", "Verdict", "SPREAD_THRESHOLD"]

#: The point estimates agree in size when their range is at most this many median SEs.
SPREAD_THRESHOLD = 2.0

Agreement = Literal["agree", "mixed", "disagree", "single"]


@dataclass(frozen=True)
class Verdict:
    """Whether several methods agree, with the checks behind it.

    Attributes
    ----------
    label : {"agree", "mixed", "disagree", "single"}
    message : str
        One plain sentence, e.g. "3 of 3 methods reach the same conclusion: a decrease."
    n_methods, n_agree : int
        How many methods were compared, and how many reach the headline's (first method's)
        conclusion.
    same_sign : bool
        Every point estimate has the sign of the median estimate.
    overlap : bool
        All intervals share at least one common value.
    spread_ratio : float
        ``(max - min) / median(se)`` of the point estimates.
    """

    label: Agreement
    message: str
    n_methods: int
    n_agree: int
    same_sign: bool
    overlap: bool
    spread_ratio: float

    def __str__(self) -> str:
        return self.message


_WORDS = {"positive": "an increase", "negative": "a decrease", "null": "no detectable effect"}


def _verdict(results: Sequence[EffectEstimate]) -> Verdict:
    """The agreement verdict; the conclusion rules live in :func:`causal_kit.verdict.agreement`."""
    est = np.array([r.estimate for r in results], dtype=float)
    se = np.array([r.se for r in results], dtype=float)
    agree = agreement([r.ci for r in results], est.tolist())
    n = len(results)
    finite_se = se[np.isfinite(se) & (se > 0)]
    scale = float(np.median(finite_se)) if finite_se.size else math.nan
    spread = float(est.max() - est.min())
    spread_ratio = spread / scale if scale and math.isfinite(scale) else math.inf
    if n == 1:
        return Verdict("single", "Only one method was run; there is nothing to compare it with.",
                       1, 1, True, True, 0.0)
    head = agree.conclusions[0]
    others = [r.label or r.method for r, ok in zip(results, agree.agrees) if not ok]
    if agree.label == "agree":
        message = f"{n} of {n} methods reach the same conclusion: {_WORDS[head]}."
    elif agree.label == "disagree":
        message = ("The methods disagree: some find a significant increase and others a significant decrease; "
                   f"{agree.n_agree} of {n} reach the headline's conclusion ({_WORDS[head]}).")
    else:
        reasons = []
        if others:
            reasons.append(f"{', '.join(others)} reach{'es' if len(others) == 1 else ''} a different conclusion")
        if not agree.overlap:
            reasons.append("the intervals do not all overlap, so the methods differ on the size")
        message = (f"The methods partly agree: {' and '.join(reasons)}; {agree.n_agree} of {n} reach the "
                   f"headline's conclusion ({_WORDS[head]}).")
    return Verdict(agree.label, message, n, agree.n_agree, agree.same_sign, agree.overlap,  # type: ignore[arg-type]
                   spread_ratio)


class Comparison:
    """Several methods' answers to one question, side by side.

    Attributes
    ----------
    results : tuple of EffectEstimate
    table : pandas.DataFrame
        One row per method: the columns of ``EffectEstimate.tidy()`` plus ``worst_status``
        (the most severe diagnostic) and ``agrees`` (reaches the headline's conclusion).
    verdict : Verdict
        Agreement of the methods; ``str(verdict)`` is a plain sentence.

    Examples
    --------
    >>> import causal_kit as ck
    >>> df = ck.datasets.load("ab_cuped_sim")
    >>> a = ck.estimate(df, ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat"))
    >>> b = ck.estimate(df, ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat",
    ...                                       pre_covariate="pre"))
    >>> cmp = ck.compare([a, b])
    >>> cmp.verdict.label in {"agree", "mixed", "disagree"}
    True
    """

    def __init__(self, results: Iterable[EffectEstimate]) -> None:
        items = tuple(results)
        if not items:
            raise SpecError("compare() needs at least one EffectEstimate; got an empty list.")
        bad = [type(r).__name__ for r in items if not isinstance(r, EffectEstimate)]
        if bad:
            raise SpecError(
                f"compare() takes EffectEstimate objects; got {len(bad)} of type {', '.join(sorted(set(bad)))}. "
                "Pass the list returned by causal_kit.estimate."
            )
        self.results = items
        self.verdict = _verdict(items)
        table = pd.concat([r.tidy() for r in items], ignore_index=True)
        table["worst_status"] = [r.worst_status for r in items]
        table["agrees"] = list(agreement([r.ci for r in items]).agrees)
        self.table = table

    def __len__(self) -> int:
        return len(self.results)

    def __repr__(self) -> str:
        return f"Comparison(n_methods={len(self)}, verdict={self.verdict.label!r})"

    def tidy(self) -> pd.DataFrame:
        """The comparison table (a copy)."""
        return self.table.copy()

    def plot(self, kind: str = "forest") -> go.Figure:
        """Forest plot: each method's estimate and interval, with zero and the median marked.

        Examples
        --------
        >>> import causal_kit as ck
        >>> df = ck.datasets.load("ab_cuped_sim")
        >>> r = ck.estimate(df, ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat"))
        >>> type(ck.compare([r]).plot()).__name__
        'Figure'
        """
        if kind != "forest":
            raise SpecError(f"The 'kind' parameter of Comparison.plot must be one of 'forest'. Got {kind!r} instead.")
        return forest_figure(self.results)

    def _repr_html_(self) -> str:
        return _hooks.call("results_card", self.results, comparison=self)


def forest_figure(results: Sequence[EffectEstimate], labels: Sequence[str] | None = None,
                  relative: bool = False, title: str | None = None, median: bool = True) -> go.Figure:
    """Point-and-interval rows for several results (methods or studies).

    ``relative=True`` plots the % lift and its interval instead of the outcome-unit effect;
    ``median=True`` marks the median estimate (the consensus of several methods).
    """
    from .plots.theme import COLORS, new_figure

    names = list(labels) if labels is not None else [r.label or r.method for r in results]
    impacts = [business_impact(r) for r in results]
    if relative:
        # The same lift as every tile and table: exp(b) - 1 for log outcomes, else over the baseline.
        est = [100 * (i.lift if i.lift is not None else math.nan) for i in impacts]
        cis = [tuple(100 * v for v in (i.lift_ci or (math.nan, math.nan))) for i in impacts]
        x_title = "Lift (%)"
    else:
        est = [i.effect * (100 if i.effect_is_relative else 1) for i in impacts]
        cis = [tuple(v * (100 if i.effect_is_relative else 1) for v in i.effect_ci) for i in impacts]
        titles = {i.model.axis_title for i in impacts}
        x_title = titles.pop() if len(titles) == 1 else "Effect (outcome units)"
    alphas = {r.alpha for r in results}
    level = f"{fmt.level(alphas.pop())} CI" if len(alphas) == 1 else "CI"
    fig = new_figure(title=title or f"Estimates with {level}", x_title=x_title,
                     height=max(220, 90 + 46 * len(results)))
    fig.add_vline(x=0, line=dict(color=COLORS["zero"], dash="dash", width=1))
    finite = [e for e in est if math.isfinite(e)]
    if median and len(results) > 1 and finite:
        fig.add_vline(x=float(np.median(finite)), line=dict(color=COLORS["muted"], dash="dot", width=1),
                      annotation_text="median", annotation_position="top")
    status_color = {"fail": COLORS["fail"], "warn": COLORS["warn"]}
    colors = [status_color.get(r.worst_status, COLORS["estimate"]) for r in results]
    fig.add_scatter(
        x=est, y=names, mode="markers",
        marker=dict(size=11, color=colors, symbol="diamond"),
        error_x=dict(type="data", symmetric=False,
                     array=[c[1] - e for c, e in zip(cis, est)],
                     arrayminus=[e - c[0] for c, e in zip(cis, est)],
                     thickness=2, width=6, color=COLORS["estimate"]),
        name=level, showlegend=False,
        hovertemplate="%{y}: %{x:.4g}<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed", showgrid=False)
    return fig


def compare(results: Iterable[EffectEstimate]) -> Comparison:
    """Compare several methods' estimates of one effect.

    Parameters
    ----------
    results : iterable of EffectEstimate
        Typically ``causal_kit.estimate(data, spec)`` with ``spec.estimators`` set.

    Returns
    -------
    Comparison
        ``.table`` (tidy, one row per method), ``.verdict`` and ``.plot()``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> df = ck.datasets.load("ab_cuped_sim")
    >>> r = ck.estimate(df, ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat"))
    >>> ck.compare([r]).table["method"].tolist()
    ['ab']
    """
    return Comparison(results)


class _CallableModule(types.ModuleType):
    """``causal_kit.compare`` is both this module and the function: importing the submodule
    rebinds the package attribute to the module, so the module forwards calls to :func:`compare`."""

    def __call__(self, results: Iterable[EffectEstimate]) -> Comparison:
        return compare(results)


sys.modules[__name__].__class__ = _CallableModule
