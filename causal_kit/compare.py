"""Robustness across methods: one tidy table, a forest plot and a verdict on agreement.

:func:`compare` takes the results of several methods run on one spec (what
``causal_kit.estimate`` returns when ``spec.estimators`` is set) and says whether they tell
the same story: the same sign, overlapping intervals, and a spread of point estimates that is
small relative to their standard errors.
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

from .errors import SpecError
from . import _hooks, fmt
from .result import EffectEstimate

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
        One plain sentence, e.g. "3 of 3 methods agree: same sign, overlapping intervals."
    n_methods, n_agree : int
        How many methods were compared, and how many agree with the consensus (the median
        estimate lies in their interval and they share its sign).
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


def _agrees(est: np.ndarray, lo: np.ndarray, hi: np.ndarray, center: float) -> np.ndarray:
    """A method agrees with the consensus when it shares its sign and its interval holds it."""
    return (np.sign(est) == np.sign(center)) & (lo <= center) & (center <= hi)


def _verdict(results: Sequence[EffectEstimate]) -> Verdict:
    est = np.array([r.estimate for r in results], dtype=float)
    se = np.array([r.se for r in results], dtype=float)
    lo = np.array([r.ci[0] for r in results], dtype=float)
    hi = np.array([r.ci[1] for r in results], dtype=float)
    n = len(results)
    if n == 1:
        return Verdict("single", "Only one method was run; there is nothing to compare it with.",
                       1, 1, True, True, 0.0)
    center = float(np.median(est))
    sign = np.sign(center)
    same_sign = bool(np.all(np.sign(est) == sign)) if sign != 0 else False
    overlap = bool(lo.max() <= hi.min())
    finite_se = se[np.isfinite(se) & (se > 0)]
    scale = float(np.median(finite_se)) if finite_se.size else math.nan
    spread = float(est.max() - est.min())
    spread_ratio = spread / scale if scale and math.isfinite(scale) else math.inf
    agrees = _agrees(est, lo, hi, center)
    n_agree = int(agrees.sum())
    # Two methods whose intervals both exclude zero on opposite sides contradict each other.
    opposite = bool(np.any(lo > 0) and np.any(hi < 0))
    outliers = [r.label or r.method for r, ok in zip(results, agrees) if not ok]
    if same_sign and overlap and spread_ratio <= SPREAD_THRESHOLD and n_agree == n:
        label: Agreement = "agree"
        message = (f"{n} of {n} methods agree: same sign, overlapping intervals, and point "
                   f"estimates within {fmt.num(SPREAD_THRESHOLD, 1)} standard errors of each other.")
    elif opposite or not overlap:
        label = "disagree"
        reasons = []
        if opposite:
            reasons.append("some intervals lie on opposite sides of zero")
        if not overlap:
            reasons.append("the intervals do not all overlap")
        message = (f"The methods disagree: {' and '.join(reasons)}; {n_agree} of {n} agree with the "
                   "median estimate.")
    else:
        label = "mixed"
        reasons = []
        if not same_sign:
            reasons.append("the point estimates differ in sign")
        if spread_ratio > SPREAD_THRESHOLD:
            reasons.append(f"they spread over more than {fmt.num(SPREAD_THRESHOLD, 1)} standard errors")
        if outliers:
            reasons.append(f"the interval of {', '.join(outliers)} excludes the median estimate")
        message = (f"The methods partly agree: the intervals overlap, but {' and '.join(reasons)}; "
                   f"{n_agree} of {n} agree with the median estimate.")
    return Verdict(label, message, n, n_agree, same_sign, overlap, spread_ratio)


class Comparison:
    """Several methods' answers to one question, side by side.

    Attributes
    ----------
    results : tuple of EffectEstimate
    table : pandas.DataFrame
        One row per method: the columns of ``EffectEstimate.tidy()`` plus ``worst_status``
        (the most severe diagnostic) and ``agrees`` (with the consensus).
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
        center = float(np.median(table["estimate"]))
        table["worst_status"] = [r.worst_status for r in items]
        table["agrees"] = _agrees(table["estimate"].to_numpy(float), table["ci_low"].to_numpy(float),
                                  table["ci_high"].to_numpy(float), center)
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
    if relative:
        est = [100 * (r.relative_lift or math.nan) for r in results]
        cis = [tuple(100 * v for v in (r.relative_lift_ci or (math.nan, math.nan))) for r in results]
        x_title = "Lift (%)"
    else:
        est = [r.estimate for r in results]
        cis = [r.ci for r in results]
        outcomes = {r.outcome for r in results if r.outcome}
        x_title = f"Effect on {outcomes.pop()}" if len(outcomes) == 1 else "Effect (outcome units)"
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
