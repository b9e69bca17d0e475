"""causal_kit: causal inference and experimentation analytics.

One experiment spec, one result shape, many methods (A/B, DiD, synthetic control, SDID,
DML, IV, RDD), geo-experiment design and self-contained HTML reports.

Heavy modules (econml, dowhy, plotly figures, estimators) are imported lazily so that
``import causal_kit`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "ExperimentSpec": "causal_kit.spec",
    "ReportConfig": "causal_kit.spec",
    "EstimatorChoice": "causal_kit.spec",
    "EffectEstimate": "causal_kit.result",
    "Diagnostic": "causal_kit.result",
    "estimate": "causal_kit.api",
    "compare": "causal_kit.compare",
    "DesignResult": "causal_kit.design.result",
    "PowerResult": "causal_kit.design.power",
    "datasets": "causal_kit.datasets",
    "report": "causal_kit.report",
    "design": "causal_kit.design",
    "errors": "causal_kit.errors",
    "io": "causal_kit.io",
    "registry": "causal_kit.registry",
    "estimators": "causal_kit.estimators",
    "set_threads": "causal_kit._threads",
    "get_threads": "causal_kit._threads",
    "knowledge": "causal_kit.knowledge",
    "synthesize": "causal_kit.knowledge.synthesis",
}

__all__ = sorted(_LAZY) + ["__version__"]

# Upper layers register the services lower objects call (rendering, plotting, data checks);
# these packages are light at import (plotly, jinja2 and scipy load only when used).
from . import _data, plots, report  # noqa: E402,F401
from ._threads import prefer_passive_openmp  # noqa: E402

prefer_passive_openmp()  # before any OpenMP runtime loads; see causal_kit._threads


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = import_module(_LAZY[name])
        same = module.__name__.endswith("." + name)
        # A module that defines a function of its own name (compare) exports the function.
        value = module if same and not callable(getattr(module, name, None)) else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'causal_kit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
