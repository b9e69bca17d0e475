"""EffectEstimate and Diagnostic: invariants, business translation, serialisation."""

from __future__ import annotations

import pandas as pd
import pytest

from causal_kit import Diagnostic, EffectEstimate
from causal_kit.errors import SpecError
from causal_kit.result import make_lineage


def _result(**kw):
    base = dict(
        method="ab", estimand="ATE", estimate=2.0, se=0.5, ci=(1.0, 3.0), p_value=0.001, alpha=0.05, n_obs=100,
        outcome="orders", baseline=40.0, exposure=1000.0,
        diagnostics=(Diagnostic("srm", "pass", "fine", 1.0, 0.3, 0.001, "randomization"),
                     Diagnostic("fit", "warn", "meh", assumption="fit")),
        tables={"t": pd.DataFrame({"a": [1, 2], "b": [0.5, float("nan")], "c": ["x", "y"]})},
        lineage=make_lineage(None, "abc", seed=3),
    )
    base.update(kw)
    return EffectEstimate(**base)


def test_diagnostic_status_checked():
    with pytest.raises(SpecError, match="'status' parameter of Diagnostic must be one of"):
        Diagnostic("x", "ok", "msg")  # type: ignore[arg-type]


def test_business_translation():
    r = _result()
    assert r.relative_lift == pytest.approx(0.05)
    assert r.relative_lift_ci == pytest.approx((0.025, 0.075))
    total, (lo, hi) = r.incremental_total
    assert (total, lo, hi) == (2000.0, 1000.0, 3000.0)
    assert r.worst_status == "warn" and r.significant


def test_tidy_is_one_row():
    t = _result().tidy()
    assert len(t) == 1 and t.loc[0, "estimate"] == 2.0 and t.loc[0, "relative_lift"] == pytest.approx(0.05)


def test_round_trip_with_nan_and_strings():
    r = _result()
    again = EffectEstimate.from_json(r.to_json())
    assert again.to_json() == r.to_json()
    pd.testing.assert_frame_equal(again.tables["t"], r.tables["t"])
    assert again.diagnostics == r.diagnostics


def test_unknown_diagnostic_lists_names():
    with pytest.raises(KeyError, match="this result has \\['srm', 'fit'\\]"):
        _result().diagnostic("nope")


def test_lineage_has_versions():
    lin = _result().lineage
    assert "numpy" in lin.versions and lin.seed == 3 and lin.timestamp.endswith("+00:00")
