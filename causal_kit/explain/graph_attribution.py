"""Causal change attribution with a user-supplied graph, via DoWhy's graphical causal models.

Given the causal graph as an edge list (``[[cause, effect], ...]``, e.g. from YAML) and data
from two periods, :func:`graph_attribution` asks DoWhy's ``gcm.distribution_change``
(Budhathoki et al. 2021) how much of the change in the target's mean each node's causal
mechanism explains: a node contributes when its own mechanism (its conditional
distribution given its parents, or its marginal for a root) changed. Contributions are
Shapley values, so they add up to the change the fitted models reproduce; the gap to the
observed change is reported as its own component, not hidden. Intervals come from a seeded
bootstrap that resamples each period's rows and refits.

The graph is an assumption the analyst makes; the attribution is causal only if the graph is
right and has no hidden confounders.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ._aggregate import resolve_periods
from ._errors import CyclicGraphError, check_columns
from .result import Decomposition

__all__ = ["graph_attribution", "build_graph"]


def build_graph(edges: Sequence[Sequence[str]]) -> Any:
    """A ``networkx.DiGraph`` from ``[[cause, effect], ...]``; a cycle raises :class:`CyclicGraphError`.

    Examples
    --------
    >>> from causal_kit.explain.graph_attribution import build_graph
    >>> sorted(build_graph([["rain", "delay"], ["delay", "late"]]).nodes)
    ['delay', 'late', 'rain']
    """
    import networkx as nx

    if isinstance(edges, (str, bytes)) or not len(edges):
        raise SpecError("graph edges must be a non-empty list of [cause, effect] pairs.")
    bad = [e for e in edges if isinstance(e, (str, bytes)) or len(e) != 2]
    if bad:
        raise SpecError(f"graph edges must be [cause, effect] pairs; {len(bad)} are not, e.g. {bad[0]!r}.")
    g = nx.DiGraph()
    g.add_edges_from((str(a), str(b)) for a, b in edges)
    if not nx.is_directed_acyclic_graph(g):
        cycle = [u for u, _ in nx.find_cycle(g)]
        raise CyclicGraphError(f"the causal graph has a cycle: {' -> '.join(cycle + [cycle[0]])}. Change "
                               "attribution needs a directed acyclic graph; remove or reverse one of these edges.")
    return g


def always_changed(*_: Any, **__: Any) -> float:
    """A 'mechanism changed' test that always says yes (p = 0): every mechanism is refit on the new data."""
    return 0.0


def _mean_difference(old: np.ndarray, new: np.ndarray) -> float:
    return float(np.mean(new) - np.mean(old))


def _attribute(graph: Any, old: pd.DataFrame, new: pd.DataFrame, target: str, mechanisms: str,
               num_samples: int, seed: int, mechanism_test: str = "none") -> dict[str, float]:
    """One DoWhy run with the global seeds DoWhy uses set to ``seed`` (the caller's are restored)."""
    from dowhy import gcm
    from dowhy.gcm import config

    np_state, py_state = np.random.get_state(), random.getstate()
    bars, jobs = config.show_progress_bars, config.default_n_jobs
    try:
        # serial and quiet inside DoWhy: parallel work goes through causal_kit._parallel only
        config.show_progress_bars, config.default_n_jobs = False, 1
        gcm.util.general.set_random_seed(seed)
        model = gcm.StructuralCausalModel(graph)
        if mechanisms == "linear":
            for node in graph.nodes:
                if graph.in_degree(node) == 0:
                    model.set_causal_mechanism(node, gcm.EmpiricalDistribution())
                else:
                    model.set_causal_mechanism(node, gcm.AdditiveNoiseModel(gcm.ml.create_linear_regressor()))
        else:
            gcm.auto.assign_causal_mechanisms(model, pd.concat([old, new], ignore_index=True))
        from dowhy.gcm.independence_test import kernel

        test = kernel.kernel_based if mechanism_test == "kernel" else always_changed
        return gcm.distribution_change(model, old, new, target, num_samples=num_samples,
                                       difference_estimation_func=_mean_difference, independence_test=test,
                                       conditional_independence_test=test)
    finally:
        config.show_progress_bars, config.default_n_jobs = bars, jobs
        np.random.set_state(np_state)
        random.setstate(py_state)


def graph_attribution(data: pd.DataFrame, *, edges: Sequence[Sequence[str]], target: str, period: str,
                      before: object = None, after: object = None, mechanisms: str = "linear",
                      mechanism_test: str = "none", num_samples: int = 2000, n_boot: int = 50, alpha: float = 0.05,
                      seed: int = 0) -> Decomposition:
    """Attribute the change in ``target``'s mean to the causal mechanisms of the graph's nodes.

    Parameters
    ----------
    data : DataFrame
        Rows of both periods with one numeric column per graph node; not modified.
    edges : list of [cause, effect]
        The causal graph (a DAG).
    target : str
        The metric node.
    period : str
        Column holding the two periods.
    before, after : optional
        Period labels; default the two distinct values, sorted.
    mechanisms : {"linear", "auto"}, default "linear"
        ``"linear"``: empirical roots and linear additive-noise models (fast, predictable);
        ``"auto"``: DoWhy's automatic model selection.
    mechanism_test : {"none", "kernel"}, default "none"
        ``"kernel"``: DoWhy's default kernel (KCI) test of whether each node's mechanism changed;
        mechanisms it finds unchanged keep their before-fit (cubic in rows: slow beyond a few
        hundred rows). ``"none"``: refit every mechanism on the new data (fast; small noise
        contributions instead of exact zeros).
    num_samples : int, default 2000
        Samples DoWhy draws per evaluation.
    n_boot : int, default 50
        Bootstrap refits for the intervals (0 for none).
    alpha : float, default 0.05
    seed : int, default 0
        Seeds DoWhy's sampling (the caller's global random state is restored) and the bootstrap.

    Returns
    -------
    Decomposition
        Components ``mechanism: <node>`` for every ancestor of the target (and itself), plus
        ``unattributed`` (observed change minus what the fitted models reproduce).

    Raises
    ------
    CyclicGraphError
        The edge list has a cycle.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from causal_kit.explain import graph_attribution
    >>> rng = np.random.default_rng(0)
    >>> n = 300
    >>> t = np.repeat([0, 1], n)
    >>> load = rng.normal(10 + t, 1)
    >>> late = 0.5 * load + rng.normal(0, 1, 2 * n)
    >>> df = pd.DataFrame({"week": t, "load": load, "late": late})
    >>> d = graph_attribution(df, edges=[["load", "late"]], target="late", period="week", n_boot=0)
    >>> abs(d.residual()) < 1e-12
    True
    """
    if mechanisms not in ("linear", "auto"):
        raise SpecError(f"The 'mechanisms' parameter of graph_attribution must be 'linear' or 'auto'. "
                        f"Got {mechanisms!r} instead.")
    if mechanism_test not in ("none", "kernel"):
        raise SpecError(f"The 'mechanism_test' parameter of graph_attribution must be 'none' or 'kernel'. "
                        f"Got {mechanism_test!r} instead.")
    if not 0 < alpha < 1:
        raise SpecError(f"The 'alpha' parameter of graph_attribution must be a float in (0, 1). Got {alpha!r}.")
    graph = build_graph(edges)
    if target not in graph.nodes:
        raise SpecError(f"target {target!r} is not a node of the graph; nodes: {sorted(graph.nodes)}.")
    nodes = list(graph.nodes)
    check_columns(data, [period, *nodes], role="graph nodes")
    for c in nodes:
        if not pd.api.types.is_numeric_dtype(data[c]):
            raise DataError(f"graph node column {c!r} must be numeric; it is {data[c].dtype}.")
    b, a = resolve_periods(data[period], before, after, period)
    old = data.loc[data[period] == b, nodes].astype(float).reset_index(drop=True)
    new = data.loc[data[period] == a, nodes].astype(float).reset_index(drop=True)
    for lab, part in ((b, old), (a, new)):
        bad = int((~np.isfinite(part.to_numpy())).any(axis=1).sum())
        if bad:
            raise DataError(f"graph_attribution: {bad} row(s) of period {lab} have missing or infinite node values; "
                            "fill or drop them first.")
        if len(part) < 10:
            raise DataError(f"graph_attribution: period {lab} has {len(part)} rows; fitting the mechanisms needs "
                            "at least 10.")
    point = _attribute(graph, old, new, target, mechanisms, num_samples, seed, mechanism_test)
    keys = list(point)
    observed = float(new[target].mean() - old[target].mean())
    values = np.array([point[k] for k in keys])
    se = np.full(len(keys), np.nan)
    lo = hi = np.full(len(keys), np.nan)
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        draws = np.empty((n_boot, len(keys)))
        for r in range(n_boot):
            ob = old.iloc[rng.integers(0, len(old), len(old))].reset_index(drop=True)
            nb = new.iloc[rng.integers(0, len(new), len(new))].reset_index(drop=True)
            res = _attribute(graph, ob, nb, target, mechanisms, num_samples, int(rng.integers(2**31)), mechanism_test)
            draws[r] = [res[k] for k in keys]
        se = draws.std(axis=0, ddof=1)
        lo, hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2], axis=0)
    comps = pd.DataFrame({"component": [f"mechanism: {k}" for k in keys] + ["unattributed"],
                          "value": list(values) + [observed - values.sum()],
                          "se": list(se) + [np.nan], "ci_low": list(lo) + [np.nan], "ci_high": list(hi) + [np.nan]})
    edges_table = pd.DataFrame(sorted(graph.edges), columns=["cause", "effect"])
    notes = ("Causal only if the graph is right: every common cause of two nodes must be in the graph.",
             "Each node's contribution is the Shapley value of switching its mechanism from the before-fit to the "
             "after-fit (DoWhy gcm.distribution_change, Budhathoki et al. 2021); 'unattributed' is the observed "
             "change the fitted models do not reproduce.",
             f"Intervals: {n_boot} bootstrap refits, percentile, seed {seed}." if n_boot else "No bootstrap intervals.")
    return Decomposition("graph_attribution", target, str(b), str(a), float(old[target].mean()),
                         float(new[target].mean()), comps, {"graph": edges_table}, notes, alpha=alpha, seed=seed)
