"""Geo-experiment design: analytic power, geo assignment and simulation power on history.

* :mod:`causal_kit.design.power`: power, sample size and MDE for A/B and cluster designs.
* :mod:`causal_kit.design.assignment`: stratified, matched-pair and searched geo assignments.
* :mod:`causal_kit.design.simulation`: inject a known lift into historical windows and re-run
  the planned estimator (DiD, synthetic control, SDID, time-based regression).
* :func:`plan`: all of it at once from history and an :class:`~causal_kit.ExperimentSpec`,
  returning a :class:`DesignResult`.
"""

from __future__ import annotations

from .power import PowerResult, cohens_h, design_effect, power_cluster, power_means, power_proportions

__all__ = [
    "PowerResult",
    "power_means",
    "power_proportions",
    "power_cluster",
    "design_effect",
    "cohens_h",
]
