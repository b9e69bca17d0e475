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


def test_lazy_tables_compute_once_on_first_access_and_round_trip():
    import pickle

    import causal_kit as ck
    from causal_kit.result import LazyTables

    calls = []

    def build():
        calls.append(1)
        return pd.DataFrame({"x": [1.0, 2.0]})

    tables = LazyTables({"eager": pd.DataFrame({"y": [3]})}, lazy={"late": build})
    assert list(tables) == ["eager", "late"] and "late" in tables and not tables.computed("late")
    assert calls == []
    assert tables["late"]["x"].tolist() == [1.0, 2.0] and tables["late"] is tables["late"]
    assert calls == [1]
    with pytest.raises(KeyError, match="missing"):
        tables["missing"]
    copy = pickle.loads(pickle.dumps(LazyTables(lazy={"late": build})))
    assert copy.computed("late") and copy["late"]["x"].tolist() == [1.0, 2.0]

    spec = ck.ExperimentSpec(name="mpdta", design="staggered_did", outcome="lemp", unit="countyreal",
                             time="year", cohort="first.treat")
    res = ck.estimate(ck.datasets.load("mpdta"), spec, n_boot=0)
    assert not res.tables.computed("trends")  # the fit does not pay for a plot-only table
    back = EffectEstimate.from_json(res.to_json())
    assert set(back.tables) == set(res.tables)
    pd.testing.assert_frame_equal(back.tables["trends"], res.tables["trends"], check_dtype=False)
    # mpdta: 309 never-treated counties, 5 years; the table holds their mean log employment per year
    never = res.tables["trends"].query("group == 'never treated'")
    assert never["n_units"].tolist() == [309] * 5
