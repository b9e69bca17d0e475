"""Contract every registered estimator honours: no mutation, full result, JSON round trip, plots."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import pytest
from cases import CASES, case_spec

from causal_kit import EffectEstimate, estimate
from causal_kit.estimators import ESTIMATORS
from causal_kit.result import Diagnostic


def test_every_registered_estimator_has_a_case():
    assert set(ESTIMATORS) <= set(CASES), f"add a bundled example to tests/cases.py for {set(ESTIMATORS) - set(CASES)}"


@pytest.fixture(scope="module", params=sorted(CASES))
def fitted(request):
    from causal_kit import datasets

    method = request.param
    data = datasets.load(CASES[method][0])
    before = data.copy(deep=True)
    spec = case_spec(method)
    (result,) = estimate(data, spec)
    return method, spec, data, before, result


def test_input_not_mutated(fitted):
    _, _, data, before, _ = fitted
    pd.testing.assert_frame_equal(data, before)


def test_result_fully_populated(fitted):
    method, spec, data, _, r = fitted
    assert isinstance(r, EffectEstimate)
    assert r.method == method
    assert r.estimand
    assert math.isfinite(r.estimate)
    assert math.isfinite(r.se) and r.se > 0
    assert r.ci[0] <= r.estimate <= r.ci[1]
    assert 0.0 <= r.p_value <= 1.0
    assert r.alpha == spec.alpha
    assert 0 < r.n_obs <= len(data)
    assert r.outcome == (spec.outcome or spec.long_term_outcome)
    assert r.diagnostics and all(isinstance(d, Diagnostic) and d.message for d in r.diagnostics)
    assert all(isinstance(t, pd.DataFrame) for t in r.tables.values())
    lin = r.lineage
    assert lin is not None and lin.spec_hash == spec.spec_hash
    assert lin.data_fingerprint and lin.timestamp and "numpy" in lin.versions
    assert lin.seed == spec.seed


def test_json_round_trip(fitted):
    *_, r = fitted
    text = r.to_json()
    again = EffectEstimate.from_json(text)
    assert again.to_json() == text
    assert again.tidy().equals(r.tidy())


def test_every_plot_kind_draws_after_round_trip(fitted):
    *_, r = fitted
    again = EffectEstimate.from_json(r.to_json())
    kinds = r.plot_kinds()
    assert kinds
    for kind in kinds:
        fig = again.plot(kind)
        assert isinstance(fig, go.Figure) and len(fig.data) > 0, kind
