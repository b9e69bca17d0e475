"""Geo assignment: constraints, cells, seeds and named errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal_kit.design import (
    Constraints,
    matched_pairs_assignment,
    search_markets,
    stratified_assignment,
)
from causal_kit.errors import DataError, SpecError


@pytest.fixture
def kpi():
    rng = np.random.default_rng(0)
    return pd.Series(np.exp(rng.normal(7, 1, 40)), index=[f"g{i:02d}" for i in range(40)])


def test_stratified_counts_columns_and_seed(kpi):
    c = Constraints(kpi, n_treated=10, must_treat=["g03"], exclude=["g05", "g06"])
    a = stratified_assignment(c, seed=3)
    assert list(a.columns) == ["unit", "cell", "kpi", "kpi_share", "cost"]
    assert (a["cell"] == "treatment").sum() == 10 and len(a) == 38
    assert "g03" in set(a.loc[a["cell"] == "treatment", "unit"])
    assert not {"g05", "g06"} & set(a["unit"])
    assert a["kpi_share"].sum() == pytest.approx(1.0)
    pd.testing.assert_frame_equal(a, stratified_assignment(c, seed=3))
    assert not a.equals(stratified_assignment(c, seed=4))


def test_stratification_balances_size(kpi):
    a = stratified_assignment(Constraints(kpi, n_treated=20), seed=1)
    share = a.loc[a["cell"] == "treatment", "kpi_share"].sum()
    assert 0.3 < share < 0.7


def test_several_cells(kpi):
    a = stratified_assignment(Constraints(kpi, n_treated=8, cells=3), seed=0)
    counts = a["cell"].value_counts().to_dict()
    assert counts == {"control": 16, "treatment": 8, "treatment_2": 8, "treatment_3": 8}


def test_treated_share(kpi):
    c = Constraints(kpi, treated_share=0.25)
    assert c.n_treated == 10


def test_matched_pairs(kpi):
    a = matched_pairs_assignment(Constraints(kpi, n_treated=6, must_treat=["g10"]), seed=2)
    pairs = a[a["pair"] >= 0]
    assert len(pairs) == 12 and pairs.groupby("pair")["cell"].nunique().eq(2).all()
    assert "g10" in set(a.loc[a["cell"] == "treatment", "unit"])


def test_budget_is_respected(kpi):
    cost = kpi * 0.1
    budget = float(cost.sort_values().iloc[:15].sum())
    a = stratified_assignment(Constraints(kpi, n_treated=5, cost=cost, budget=budget), seed=0)
    assert a.loc[a["cell"] == "treatment", "cost"].sum() <= budget


def test_search_ranks_by_score(kpi):
    def score(cands):
        return [abs(x.loc[x["cell"] == "treatment", "kpi_share"].sum() - 0.2) for x in cands]

    cands, ranking = search_markets(Constraints(kpi, n_treated=8), score, n_candidates=6, seed=1)
    assert len(cands) == 6 and ranking["score"].is_monotonic_increasing
    assert ranking["rank"].tolist() == [1, 2, 3, 4, 5, 6]


def test_conflicting_must_treat_and_exclude(kpi):
    with pytest.raises(SpecError, match="both in plan.must_treat and plan.exclude"):
        Constraints(kpi, n_treated=5, must_treat=["g01"], exclude=["g01"])


def test_more_treated_than_geos(kpi):
    with pytest.raises(SpecError, match="leave no control geo"):
        Constraints(kpi, n_treated=40)


def test_unknown_geo(kpi):
    with pytest.raises(DataError, match="not in the history"):
        Constraints(kpi, n_treated=5, must_treat=["nowhere"])


def test_budget_no_design_can_meet(kpi):
    with pytest.raises(SpecError, match="no design meets plan.budget"):
        Constraints(kpi, n_treated=5, cost=kpi, budget=1.0)


def test_budget_needs_a_cost(kpi):
    with pytest.raises(SpecError, match="needs a cost per geo"):
        Constraints(kpi, n_treated=5, budget=100.0)


def test_must_treat_longer_than_cell(kpi):
    with pytest.raises(SpecError, match="must_treat lists 3 geos"):
        Constraints(kpi, n_treated=2, must_treat=["g01", "g02", "g03"])


def test_treated_share_is_met_by_the_draw(kpi):
    a = stratified_assignment(Constraints(kpi, treated_share=0.3), seed=2)
    share = a.loc[a["cell"] == "treatment", "kpi_share"].sum()
    assert abs(share - 0.3) <= 0.15
