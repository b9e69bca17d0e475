"""Compact HTML cards for Jupyter (``_repr_html_``) of results, comparisons and designs.

Cards are light: the summary sentence, the headline numbers, the confidence verdict and the
diagnostics in an expandable block. Figures stay with ``result.plot()``, which Jupyter
renders inline through plotly's own renderer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import fmt
from .summary import diagnostic_groups, executive_summary

if TYPE_CHECKING:
    from ..compare import Comparison
    from ..result import EffectEstimate

__all__ = ["result_card", "results_card", "design_card"]


def _render(**context: Any) -> str:
    from .html import environment

    return environment().get_template("cards.html").render(**context)


def result_card(result: EffectEstimate) -> str:
    """A small HTML card for one result: answer, numbers, verdict, expandable diagnostics.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat")
    >>> res = ck.estimate(ck.datasets.load("ab_cuped_sim"), spec)
    >>> "diagnostics" in result_card(res)
    True
    """
    from ..outcome import business_impact
    from .summary import effect_interval, effect_text

    level = fmt.level(result.alpha)
    impact = business_impact(result)
    # The same text as the report's tiles, from the one business translation.
    numbers = [
        ("effect", effect_text(impact, impact.effect)),
        (f"{level} CI", effect_interval(impact, level).split(" CI ", 1)[1]),
        ("p", fmt.pvalue(result.p_value)),
        ("n", fmt.count(result.n_obs)),
    ]
    return _render(
        kind="effect",
        name=result.label or result.method,
        estimand=result.estimand,
        summary=executive_summary(result),
        numbers=numbers,
        groups=diagnostic_groups(result.diagnostics),
        n_diagnostics=len(result.diagnostics),
    )


def results_card(results: Sequence[EffectEstimate], comparison: Comparison | None = None) -> str:
    """A card comparing several methods: answer, agreement verdict, one row per method.

    Examples
    --------
    >>> import causal_kit as ck
    >>> df = ck.datasets.load("ab_cuped_sim")
    >>> runs = [ck.estimate(df, ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat", **kw))
    ...         for kw in ({}, {"pre_covariate": "pre"})]
    >>> "2 methods" in results_card(runs)
    True
    """
    from ..compare import Comparison

    items = list(results)
    comparison = comparison if comparison is not None else Comparison(items)
    summary = executive_summary(items, comparison=comparison)
    from ..outcome import business_impact
    from .summary import effect_interval, effect_text

    rows = []
    for r, agrees in zip(items, comparison.table["agrees"]):
        impact = business_impact(r)
        lift = fmt.pct(impact.lift, 1, sign=True) if impact.lift is not None else "n/a"
        rows.append({
            "name": r.label or r.method, "estimate": effect_text(impact, impact.effect),
            "ci": effect_interval(impact, fmt.level(r.alpha)).split(" CI ", 1)[1],
            "p": fmt.pvalue(r.p_value), "lift": lift, "worst": r.worst_status, "agrees": "yes" if agrees else "no",
        })
    diags = [d for r in items for d in r.diagnostics]
    owners = [r.label or r.method for r in items for _ in r.diagnostics]
    groups = diagnostic_groups(diags, method=owners)
    return _render(
        kind="results",
        summary=summary,
        rows=rows,
        level=fmt.level(items[0].alpha),
        comparison_message=str(comparison.verdict),
        groups=groups,
        n_diagnostics=sum(len(r.diagnostics) for r in items),
    )


def design_card(design: Any) -> str:
    """A card for a ``DesignResult``: the plan in one sentence, key numbers, diagnostics.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.datasets import simulate_geo_panel
    >>> history = simulate_geo_panel(n_geos=30, n_days=200, seed=3)
    >>> spec = ck.ExperimentSpec(name="geo", design="did", outcome="kpi", unit="geo", time="date",
    ...                          treatment="treated", plan={"n_treated": 8, "duration": 21,
    ...                          "n_candidates": 2, "n_windows": 8,
    ...                          "candidate_estimators": ["did", "time_regression"]})
    >>> "Run the test for 21 periods" in design_card(ck.design.plan(history, spec))
    True
    """
    from .design import design_summary

    diags = tuple(getattr(design, "diagnostics", ()) or ())
    return _render(
        kind="design",
        name=getattr(design.spec, "name", "design"),
        method=str(design.method),
        summary=design_summary(design),
        groups=diagnostic_groups(diags),
        n_diagnostics=len(diags),
    )
