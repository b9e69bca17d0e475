"""KPI-tree driver attribution: hand values, exact additivity on random trees, named errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_kit.errors import DataError, SpecError
from causal_kit.explain import CyclicGraphError, KpiTreeMismatchError, UnknownColumnError
from causal_kit.explain.kpi_tree import kpi_tree_attribution

PRODUCT = {"y": {"op": "multiply", "of": ["a", "b"]}}
TWO = pd.DataFrame({"t": [0, 1], "a": [2.0, 3.0], "b": [5.0, 4.0]})


def test_product_lmdi_matches_the_log_mean_formula():
    # y: 10 -> 12; L(12, 10) = 2 / ln 1.2; contribution of x = L * ln(x1 / x0)  (Ang 2004, LMDI-I)
    L = 2.0 / np.log(1.2)
    d = kpi_tree_attribution(TWO, tree=PRODUCT, period="t")
    assert d.value("driver: a") == pytest.approx(L * np.log(1.5), rel=1e-14)
    assert d.value("driver: b") == pytest.approx(L * np.log(0.8), rel=1e-14)
    assert d.residual() == pytest.approx(0.0, abs=1e-14)


def test_product_shapley_matches_hand_values():
    # phi_a = (a1 - a0)(b0 + b1)/2 = 4.5 ; phi_b = (b1 - b0)(a0 + a1)/2 = -2.5
    d = kpi_tree_attribution(TWO, tree=PRODUCT, period="t", method="shapley")
    assert d.value("driver: a") == pytest.approx(4.5, abs=1e-14)
    assert d.value("driver: b") == pytest.approx(-2.5, abs=1e-14)


def test_additive_tree_gives_each_leaf_its_own_change():
    df = pd.DataFrame({"t": [0, 1], "x": [1.0, 4.0], "z": [10.0, 7.0], "w": [3.0, 3.5]})
    tree = {"net": {"op": "subtract", "of": ["gross", "w"]}, "gross": {"op": "add", "of": ["x", "z"]}}
    for method in ("lmdi", "shapley"):
        d = kpi_tree_attribution(df, tree=tree, period="t", method=method)
        np.testing.assert_allclose(d.components["value"], [3.0, -3.0, -0.5], atol=1e-14)


TREES = [
    {"cpp": {"op": "divide", "of": ["cost", "packages"]}, "packages": {"op": "multiply", "of": ["stops", "pps"]}},
    {"profit": {"op": "subtract", "of": ["revenue", "cost"]}, "revenue": {"op": "multiply", "of": ["price", "units"]},
     "units": {"op": "add", "of": ["online", "store"]}},
    {"r": {"op": "multiply", "of": ["m", "n", "k"]}, "m": {"op": "add", "of": ["a", "b"]},
     "n": {"op": "divide", "of": ["c", "d"]}},
]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(range(len(TREES))), st.integers(0, 2**31), st.sampled_from(["lmdi", "shapley"]))
def test_attributions_add_up_exactly_on_random_positive_data(i, seed, method):
    rng = np.random.default_rng(seed)
    tree = TREES[i]
    nodes = set(tree)
    leaves = {c for n in tree.values() for c in n["of"]} - nodes
    df = pd.DataFrame({"t": [0, 1], **{leaf: rng.uniform(0.5, 20.0, 2) for leaf in leaves}})
    if i == 1:
        df["cost"] = df["cost"] * 0.01  # keep profit positive for a clean top
    d = kpi_tree_attribution(df, tree=tree, period="t", method=method)
    assert d.residual() == pytest.approx(0.0, abs=1e-9 * max(1.0, abs(d.change)))


def test_offsetting_children_of_a_multiplicative_node_stay_visible():
    # m = a + b does not move, but a and b swap: LMDI must show +/- and not zeros
    df = pd.DataFrame({"t": [0, 1], "a": [1.0, 2.0], "b": [2.0, 1.0], "k": [3.0, 3.0]})
    d = kpi_tree_attribution(df, tree={"r": {"op": "multiply", "of": ["m", "k"]}, "m": {"op": "add", "of": ["a", "b"]}},
                             period="t")
    assert d.value("driver: a") == pytest.approx(3.0, abs=1e-12)
    assert d.value("driver: b") == pytest.approx(-3.0, abs=1e-12)


def test_observed_node_that_the_tree_does_not_reproduce_is_named():
    df = TWO.assign(y=[10.0, 12.5])
    with pytest.raises(KpiTreeMismatchError, match=r"does not reproduce 'y' in period 1: observed 12.5, tree 12, "
                                                    r"residual 0.5"):
        kpi_tree_attribution(df, tree=PRODUCT, period="t")
    ok = kpi_tree_attribution(TWO.assign(y=[10.0, 12.0]), tree=PRODUCT, period="t")
    assert ok.tables["tree_check"]["residual"].abs().max() == 0.0


def test_cycle_is_named():
    with pytest.raises(CyclicGraphError, match=r"cycle: .*m -> n -> m"):
        kpi_tree_attribution(TWO, tree={"y": {"op": "add", "of": ["m", "a"]}, "m": {"op": "add", "of": ["n", "b"]},
                                        "n": {"op": "multiply", "of": ["m", "a"]}}, period="t")


def test_two_tops_and_bad_ops_are_spec_errors():
    with pytest.raises(SpecError, match=r"exactly one top KPI .* found 2"):
        kpi_tree_attribution(TWO, tree={"y": {"op": "add", "of": ["a", "b"]}, "z": {"op": "add", "of": ["a", "b"]}},
                             period="t")
    with pytest.raises(SpecError, match=r"op must be one of"):
        kpi_tree_attribution(TWO, tree={"y": {"op": "power", "of": ["a", "b"]}}, period="t")


def test_lmdi_needs_positive_values_and_points_to_shapley():
    df = TWO.assign(b=[5.0, -4.0])
    with pytest.raises(DataError, match=r"'y' is 10 before and -12 after; .* method='shapley'"):
        kpi_tree_attribution(df, tree=PRODUCT, period="t")
    d = kpi_tree_attribution(df, tree=PRODUCT, period="t", method="shapley")
    assert d.residual() == pytest.approx(0.0, abs=1e-12)


def test_unknown_leaf_column_is_named():
    with pytest.raises(UnknownColumnError, match=r"not in the data: 'c'"):
        kpi_tree_attribution(TWO, tree={"y": {"op": "add", "of": ["a", "c"]}}, period="t")


def test_rows_per_period_are_summed_only_when_asked():
    df = pd.concat([TWO, TWO])
    with pytest.raises(DataError, match=r"period 0 has 2 rows"):
        kpi_tree_attribution(df, tree=PRODUCT, period="t")
    d = kpi_tree_attribution(df, tree=PRODUCT, period="t", aggregate="sum")
    assert d.before == pytest.approx(40.0) and d.after == pytest.approx(48.0)
