"""Why did the metric move? Decompositions and attributions of a metric's change.

* :func:`mix_rate` -- segment mix versus within-segment rate, Shapley across dimensions;
* :func:`kpi_tree_attribution` -- drivers of a KPI tree (LMDI or Shapley);
* :func:`oaxaca_blinder` -- regression decomposition (twofold / threefold) with SEs;
* :func:`graph_attribution` -- DoWhy causal-graph change attribution;
* :func:`flag_anomalies`, :func:`suggest_experiment` -- from an unusual segment to a planned test.

All return raw numbers; the movement report renders them. This package sits on the
``compare``/``report`` floor because drafting an experiment calls ``design.plan``.
"""

from __future__ import annotations

from ._errors import (
    CyclicGraphError,
    KpiTreeMismatchError,
    UnknownColumnError,
    ZeroDenominatorError,
)
from .anomaly import flag_anomalies
from .graph_attribution import graph_attribution
from .hypothesis import ExperimentSuggestion, suggest_experiment
from .kpi_tree import KpiTree, kpi_tree_attribution
from .mix_rate import mix_rate
from .oaxaca import oaxaca_blinder
from .result import Decomposition
from .simulate import simulate_deliveries, simulate_kpi_history
from .spec import MovementAnalysis, MovementSpec, explain, load_movement_spec

__all__ = [
    "Decomposition", "mix_rate", "KpiTree", "kpi_tree_attribution", "oaxaca_blinder", "graph_attribution",
    "flag_anomalies", "suggest_experiment", "ExperimentSuggestion",
    "MovementSpec", "MovementAnalysis", "explain", "load_movement_spec", "simulate_deliveries", "simulate_kpi_history",
    "CyclicGraphError", "KpiTreeMismatchError", "UnknownColumnError", "ZeroDenominatorError",
]
