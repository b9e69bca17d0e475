"""Graph-based change attribution: same numbers as DoWhy called directly, known truth, named errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal_kit.errors import SpecError
from causal_kit.explain import CyclicGraphError, UnknownColumnError, graph_attribution

EDGES = [["load", "late"], ["speed", "late"]]


def _data(n: int, seed: int = 0) -> pd.DataFrame:
    # load rises by 1 (late +0.5), speed falls by 0.5 (late +0.15), late's own mechanism is unchanged
    rng = np.random.default_rng(seed)
    t = np.repeat([0, 1], n)
    load = rng.normal(10 + t, 1)
    speed = rng.normal(5, 1, 2 * n) - 0.5 * t
    late = 0.5 * load - 0.3 * speed + rng.normal(0, 1, 2 * n)
    return pd.DataFrame({"week": t, "load": load, "speed": speed, "late": late})


def _dowhy_direct(df: pd.DataFrame, seed: int, test) -> dict:
    import networkx as nx
    from dowhy import gcm

    jobs = gcm.config.default_n_jobs
    gcm.config.disable_progress_bars()
    gcm.config.set_default_n_jobs(1)  # the wrapper runs DoWhy serially
    gcm.util.general.set_random_seed(seed)
    graph = nx.DiGraph([tuple(e) for e in EDGES])
    model = gcm.StructuralCausalModel(graph)
    for node in graph.nodes:
        if graph.in_degree(node) == 0:
            model.set_causal_mechanism(node, gcm.EmpiricalDistribution())
        else:
            model.set_causal_mechanism(node, gcm.AdditiveNoiseModel(gcm.ml.create_linear_regressor()))
    cols = list(graph.nodes)
    old = df.loc[df.week == 0, cols].reset_index(drop=True)
    new = df.loc[df.week == 1, cols].reset_index(drop=True)
    try:
        return gcm.distribution_change(model, old, new, "late", num_samples=2000,
                                       difference_estimation_func=lambda a, b: float(np.mean(b) - np.mean(a)),
                                       independence_test=test, conditional_independence_test=test)
    finally:
        gcm.config.set_default_n_jobs(jobs)
        gcm.config.enable_progress_bars()


@pytest.mark.parametrize("mechanism_test", ["none", pytest.param("kernel", marks=pytest.mark.slow)])
def test_matches_dowhy_called_directly_with_the_same_seed(mechanism_test):
    from dowhy.gcm.independence_test.kernel import kernel_based

    from causal_kit.explain.graph_attribution import always_changed

    df = _data(120, seed=1)
    ours = graph_attribution(df, edges=EDGES, target="late", period="week", n_boot=0, seed=7,
                             mechanism_test=mechanism_test)
    theirs = _dowhy_direct(df, 7, kernel_based if mechanism_test == "kernel" else always_changed)
    for node, value in theirs.items():
        assert ours.value(f"mechanism: {node}") == pytest.approx(value, abs=1e-12)
    assert ours.residual() == pytest.approx(0.0, abs=1e-12)


def test_recovers_the_known_contributions():
    d = graph_attribution(_data(3000, seed=2), edges=EDGES, target="late", period="week", n_boot=0,
                          num_samples=20000, seed=0)
    assert d.value("mechanism: load") == pytest.approx(0.5, abs=0.06)
    assert d.value("mechanism: speed") == pytest.approx(0.15, abs=0.06)
    assert d.value("mechanism: late") == pytest.approx(0.0, abs=0.06)


def test_bootstrap_intervals_are_seeded_and_the_global_state_is_left_alone():
    df = _data(150, seed=3)
    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)
    a = graph_attribution(df, edges=EDGES, target="late", period="week", n_boot=8, seed=4)
    assert np.random.random() == expected_next
    b = graph_attribution(df, edges=EDGES, target="late", period="week", n_boot=8, seed=4)
    pd.testing.assert_frame_equal(a.components, b.components)
    load = a.components.set_index("component").loc["mechanism: load"]
    assert load["se"] > 0 and load["ci_low"] < load["ci_high"]


def test_cycle_and_bad_inputs_are_named():
    df = _data(50)
    with pytest.raises(CyclicGraphError, match=r"cycle: (load -> late -> load|late -> load -> late)"):
        graph_attribution(df, edges=[["load", "late"], ["late", "load"]], target="late", period="week")
    with pytest.raises(UnknownColumnError, match=r"not in the data: 'rain'"):
        graph_attribution(df, edges=[["rain", "late"]], target="late", period="week")
    with pytest.raises(SpecError, match=r"target 'cost' is not a node"):
        graph_attribution(df, edges=EDGES, target="cost", period="week")
    with pytest.raises(SpecError, match=r"\[cause, effect\] pairs; 1 are not"):
        graph_attribution(df, edges=[["load", "late", "x"]], target="late", period="week")
