"""Geo-experiment design: analytic power, geo assignment and simulation power on history.

* :mod:`causal_kit.design.power`: power, sample size and MDE for A/B and cluster designs.
* :mod:`causal_kit.design.assignment`: stratified, matched-pair and searched geo assignments.
* :mod:`causal_kit.design.simulation`: inject a known lift into historical windows and re-run
  the planned estimator (DiD, synthetic control, SDID, time-based regression).
* :mod:`causal_kit.design.price_test`: price-test assignment (stratified products or
  within-product switching) and power by simulation on historical sales.
* :func:`plan`: all of it at once from history and an :class:`~causal_kit.ExperimentSpec`,
  returning a :class:`DesignResult`.

Simulations run in parallel on joblib workers (``plan.n_jobs``) or on a Dask cluster: put
``execution: {backend: dask, address: "tcp://scheduler:8786"}`` in the spec, pass
``--dask ADDRESS`` on the command line, or call ``plan`` while a ``dask.distributed.Client``
is active. Seeded results are the same either way.
"""

from __future__ import annotations

from .assignment import Constraints, matched_pairs_assignment, search_markets, stratified_assignment
from .buffer import apply_buffer, buffer_zone
from .planner import plan
from .power import (
    PowerResult,
    cohens_h,
    design_effect,
    power_cluster,
    power_means,
    power_proportions,
)
from .price_test import assign_price_test, plan_price_test, switch_schedule
from .result import DesignResult
from .simulation import simulate_power
from .switchback import plan_switchback, switchback_schedule

__all__ = [
    "plan",
    "plan_price_test",
    "assign_price_test",
    "switch_schedule",
    "DesignResult",
    "PowerResult",
    "power_means",
    "power_proportions",
    "power_cluster",
    "design_effect",
    "cohens_h",
    "Constraints",
    "stratified_assignment",
    "matched_pairs_assignment",
    "search_markets",
    "simulate_power",
    "plan_switchback",
    "buffer_zone",
    "apply_buffer",
    "switchback_schedule",
]
