"""Plot dispatch: each method registers a module that draws its figures.

A plot module exposes ``KINDS`` (tuple of kind names, default first) and
``plot(result, kind) -> plotly.graph_objects.Figure``. Methods without a module get the
generic effect-with-interval figure from :mod:`causal_kit.plots.effect`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .. import _hooks
from ..errors import SpecError

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..result import EffectEstimate

__all__ = ["PLOTTERS", "plot_result", "kinds_for", "register_plotter"]

#: method name -> plot module
PLOTTERS: dict[str, str] = {
    "ab": "causal_kit.plots.sequential",  # the A/B figures, plus "looks" for a sequential readout
    "did": "causal_kit.plots.did",
    "event_study": "causal_kit.plots.did",
    "staggered_did": "causal_kit.plots.did",
    "sun_abraham": "causal_kit.plots.did",
    "synthetic_control": "causal_kit.plots.synth",
    "augmented_sc": "causal_kit.plots.synth",
    "sdid": "causal_kit.plots.synth",
    "dml": "causal_kit.plots.dml",
    "ipw": "causal_kit.plots.dml",
    "psm": "causal_kit.plots.dml",
    "iv": "causal_kit.plots.iv",
    "rdd": "causal_kit.plots.rdd",
    "surrogate": "causal_kit.plots.surrogate",
    "decay": "causal_kit.plots.surrogate",
    "trimmed_match": "causal_kit.plots.trimmed_match",
    "bsts": "causal_kit.plots.its",
}


def register_plotter(method: str, module: str) -> None:
    """Register the plot module for ``method``."""
    PLOTTERS[method] = module


def _module_for(result: EffectEstimate) -> Any:
    name = PLOTTERS.get(result.method, "causal_kit.plots.effect")
    try:
        return import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("causal_kit"):
            return import_module("causal_kit.plots.effect")
        raise


def kinds_for(result: EffectEstimate) -> tuple[str, ...]:
    """Plot kinds available for ``result``; the first is the default.

    A plot module serving several methods may define ``kinds_for(result)`` to narrow
    ``KINDS`` to what a given result's tables support.
    """
    module = _module_for(result)
    if hasattr(module, "kinds_for"):
        return tuple(module.kinds_for(result))
    return tuple(module.KINDS)


def plot_result(result: EffectEstimate, kind: str | None = None) -> go.Figure:
    """Draw ``result`` as ``kind`` (default: the method's first kind)."""
    module = _module_for(result)
    kinds = kinds_for(result)
    kind = kinds[0] if kind is None else kind
    if kind not in kinds:
        raise SpecError(
            f"The 'kind' parameter of {result.method} plots must be one of "
            f"{', '.join(repr(k) for k in kinds)}. Got {kind!r} instead."
        )
    from ..outcome import outcome_model
    from .theme import finish

    model = outcome_model(result=result)
    label = f"{model.label} (log points)" if model.scale == "log" else model.label
    return finish(module.plot(result, kind), outcome=result.outcome, label=label)


def _design_plot(design: Any, kind: str | None = None) -> go.Figure:
    from .design import plot
    from .theme import finish

    report = getattr(design.spec, "report", None)
    label = getattr(report, "outcome_label", None) or ""
    return finish(plot(design, kind), outcome=design.outcome or design.spec.outcome or "", label=label)


def _design_kinds(design: Any) -> tuple[str, ...]:
    from .design import kinds_for

    return kinds_for(design)


# Results and designs sit below this package; they plot themselves through these hooks.
_hooks.register("plot_result", plot_result)
_hooks.register("plot_kinds", kinds_for)
_hooks.register("design_plot", _design_plot)
_hooks.register("design_plot_kinds", _design_kinds)
