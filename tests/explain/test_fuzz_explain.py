"""Fuzz the public entry points: any input gives a result that adds up, or a named CausalKitError."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causal_kit.errors import CausalKitError
from causal_kit.explain import flag_anomalies, kpi_tree_attribution, mix_rate, oaxaca_blinder

values = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.integers(-5, 5), st.just(0.0))


@st.composite
def frames(draw):
    n = draw(st.integers(0, 25))
    cols = {
        "t": draw(st.lists(st.sampled_from([0, 1, 2]), min_size=n, max_size=n)),
        "a": draw(st.lists(st.sampled_from(["x", "y", None]), min_size=n, max_size=n)),
        "b": draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)),
        "num": draw(st.lists(values, min_size=n, max_size=n)),
        "den": draw(st.lists(values, min_size=n, max_size=n)),
    }
    df = pd.DataFrame(cols)
    if draw(st.booleans()):
        df["num"] = df["num"].astype(str)
    return df


def _scale(d) -> float:
    """Round-off grows with the largest terms summed (components can cancel), so scale the tolerance."""
    return 1e-9 * max(1.0, abs(d.before), abs(d.after), float(d.components["value"].abs().sum()))


def _ok_or_named(fn):
    try:
        out = fn()
    except CausalKitError as exc:
        assert str(exc)
        return None
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.sampled_from([None, "den"]), st.sampled_from([["a"], ["b"], ["a", "b"], ["zz"]]))
def test_mix_rate_never_leaks_a_third_party_error(df, den, dims):
    before = df.copy()
    out = _ok_or_named(lambda: mix_rate(df, period="t", dimensions=dims, numerator="num", denominator=den,
                                        before=0, after=1))
    pd.testing.assert_frame_equal(df, before)
    if out is not None:
        assert np.isfinite(out.change) and out.residual() == pytest.approx(0.0, abs=_scale(out))


@settings(max_examples=100, deadline=None)
@given(st.lists(values, min_size=4, max_size=4), st.sampled_from(["lmdi", "shapley"]),
       st.sampled_from(["multiply", "divide", "add", "subtract"]))
def test_kpi_tree_never_leaks_a_third_party_error(leaves, method, op):
    df = pd.DataFrame({"t": [0, 1], "x": leaves[:2], "z": leaves[2:]})
    out = _ok_or_named(lambda: kpi_tree_attribution(df, tree={"y": {"op": op, "of": ["x", "z"]}}, period="t",
                                                    method=method))
    if out is not None:
        assert out.residual() == pytest.approx(0.0, abs=_scale(out))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.sampled_from(["twofold", "threefold"]))
def test_oaxaca_never_leaks_a_third_party_error(df, kind):
    df = df.assign(num=pd.to_numeric(df["num"], errors="coerce"))
    out = _ok_or_named(lambda: oaxaca_blinder(df, outcome="num", group="t", covariates=["b", "den"], before=0,
                                              after=1, kind=kind))
    if out is not None:
        assert out.residual() == pytest.approx(0.0, abs=_scale(out))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.sampled_from([None, 2, 3]))
def test_flag_anomalies_never_leaks_a_third_party_error(df, season):
    df = df.assign(num=pd.to_numeric(df["num"], errors="coerce"), time=np.arange(len(df)))
    out = _ok_or_named(lambda: flag_anomalies(df, segment="b", time="time", metric="num", season=season,
                                              min_history=2))
    if out is not None:
        assert list(out["rank"]) == list(range(1, len(out) + 1))
