"""Reports: render results and designs as self-contained HTML pages and Jupyter cards.

:func:`render` turns an :class:`~causal_kit.result.EffectEstimate` (effect report), a list of
them for one spec (robustness report), a list for many studies (portfolio report) or a
``DesignResult`` (design report) into one HTML string; :func:`save_html` writes it to a file;
:func:`render_history` shows an estimate across registry runs. Templates live in the
package's ``templates`` folder; numbers become text only in :mod:`causal_kit.report.fmt`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _hooks

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["render", "save_html", "render_history", "render_calendar"]


def render(obj: Any, template: str | Path | None = None, *, title: str | None = None, spec: Any = None,
           plotlyjs: str = "auto", design: Any = None, design_href: str | None = None,
           links: Mapping[str, str] | None = None, calendar: Any = None) -> str:
    """Render results or a design as one self-contained HTML page.

    Parameters
    ----------
    obj : EffectEstimate, list of EffectEstimate, Comparison, list of lists, DesignResult or BanditSimulation
        One result gives an effect report; several results for one spec (or a
        :class:`~causal_kit.compare.Comparison`) a robustness report; results (or lists) for
        several specs a portfolio report; a ``DesignResult`` a design report; a
        :class:`~causal_kit.bandits.simulate.BanditSimulation` the bandit simulation report.
    template : str or path, optional
        A template name (``"effect_report.html"``, ...) or the path of your own template,
        which may ``{% extends "base.html" %}``.
    title : str, optional
        Page title; defaults to ``spec.report.title`` or the spec's name.
    spec : ExperimentSpec or dict, optional
        The spec to describe; defaults to the one recorded in the result's lineage.
    plotlyjs : {"auto", "inline", "compressed"}
        How plotly.js is inlined: as is, gzip-compressed (unpacked by the browser), or
        ``"auto"``: as is unless the page would exceed about 5 MB.
    design : DesignResult, optional
        The locked design of the test: a readout then shows the planned MDE and power, the
        markets, and says how long to extend against ``report.break_even``.
    design_href : str, optional
        Link to the design report, shown in the readout's context.
    links : dict, optional
        Portfolio: study name -> link to that study's own report.
    calendar : Calendar or table, optional
        Portfolio: the experiment calendar; adds a "Concurrent studies" section (Gantt of the
        live studies, the pairs that share units), as :func:`render_calendar` draws it.

    Returns
    -------
    str
        HTML with plotly.js inlined once and no external resources.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="checkout", design="ab", outcome="y", treatment="treat",
    ...                          pre_covariate="pre", question="Did the new checkout raise spend?")
    >>> html = ck.report.render(ck.estimate(ck.datasets.load("ab_cuped_sim"), spec))
    >>> "Did the new checkout raise spend?" in html
    True
    """
    from ..bandits.simulate import BanditSimulation

    if isinstance(obj, BanditSimulation):  # a bandit price-exploration simulation has its own page
        from .pricing import render_bandit

        return render_bandit(obj, **({"title": title} if title else {}))
    from .html import render as _render

    return _render(obj, template, title=title, spec=spec, plotlyjs=plotlyjs, design=design, design_href=design_href,
                   links=links, calendar=calendar)


def save_html(obj: Any, path: str | Path, **kwargs: Any) -> Path:
    """Render ``obj`` (see :func:`render`) and write it to ``path``; returns the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat")
    >>> res = ck.estimate(ck.datasets.load("ab_cuped_sim"), spec)
    >>> out = ck.report.save_html(res, pathlib.Path(tempfile.mkdtemp()) / "ab.html")
    >>> out.suffix
    '.html'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(obj, **kwargs), encoding="utf-8")
    return target


def render_history(history: pd.DataFrame, title: str | None = None, **kwargs: Any) -> str:
    """Render an estimate across registry runs, with its confidence ribbon.

    Parameters
    ----------
    history : pandas.DataFrame
        Columns ``run_id``, ``timestamp``, ``name``, ``method``, ``estimate``, ``ci_low``,
        ``ci_high``, ``p_value``, ``worst_status``; one row per run.
    title : str, optional

    Returns
    -------
    str
        Self-contained HTML.

    Examples
    --------
    >>> import pandas as pd
    >>> import causal_kit as ck
    >>> runs = pd.DataFrame({"run_id": ["a", "b"], "timestamp": ["2024-01-01", "2024-01-08"],
    ...                      "name": "ab", "method": "ab", "estimate": [0.2, 0.25],
    ...                      "ci_low": [0.1, 0.15], "ci_high": [0.3, 0.35], "p_value": [0.01, 0.001],
    ...                      "worst_status": "pass"})
    >>> "History" in ck.report.render_history(runs, "History of ab")
    True
    """
    from .html import render_history as _render_history

    return _render_history(history, title, **kwargs)


def render_calendar(calendar: Any, title: str | None = None, **kwargs: Any) -> str:
    """Render the experiment calendar as the portfolio's "concurrent studies" page.

    See :func:`causal_kit.report.calendar.render_calendar`.

    Examples
    --------
    >>> import pandas as pd
    >>> import causal_kit as ck
    >>> t = pd.DataFrame({"study": ["a", "a"], "unit": ["g1", "g2"], "cell": ["treatment", "control"],
    ...                   "role": ["treated", "control"], "start": 1, "end": 8})
    >>> "Concurrent studies" in ck.report.render_calendar(t)
    True
    """
    from .calendar import render_calendar as _render_calendar

    return _render_calendar(calendar, title, **kwargs)


def _summary_text(result: Any) -> str:
    from .text import summary_text

    return summary_text(result)


def _explain_text(result: Any, spec: Any = None) -> str:
    from .explanation import explain

    return explain(result, spec)


def _result_card(result: Any) -> str:
    from .notebook import result_card

    return result_card(result)


def _results_card(results: Any, comparison: Any = None) -> str:
    from .notebook import results_card

    return results_card(results, comparison=comparison)


def _design_card(design: Any) -> str:
    from .notebook import design_card

    return design_card(design)


# Results, comparisons and designs live on lower floors; they render through these hooks.
_hooks.register("summary_text", _summary_text)
_hooks.register("explain_text", _explain_text)
_hooks.register("result_card", _result_card)
_hooks.register("results_card", _results_card)
_hooks.register("design_card", _design_card)
