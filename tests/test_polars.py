"""Polars input: a polars DataFrame works wherever a pandas one does (estimate, design, io).

Every registered estimator whose module is installed runs on its bundled example
(tests/cases.py) from pandas and from polars; the numbers must be identical.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.estimators import available

pl = pytest.importorskip("polars", reason="polars is an optional dependency (dev extra)")

sys.path.insert(0, str(Path(__file__).parent))
from cases import CASES, case_spec  # noqa: E402

#: Settings that keep the slowest methods quick; conversion happens before any of them matters.
FAST = {"dml": {"n_folds": 2, "refute": False}}
#: Cross-sectional examples are cut to a seeded random subset: same code path, less work.
MAX_ROWS = 800

METHODS = [m for m in CASES if m in available()]


def _pair(method: str):
    name, _ = CASES[method]
    df = ck.datasets.load(name)
    spec = case_spec(method)
    if spec.unit is None and len(df) > MAX_ROWS:
        df = df.sample(n=MAX_ROWS, random_state=0).reset_index(drop=True)
    if method in FAST:
        spec = spec.update(estimators=[{"method": method, "options": FAST[method]}])
    return df, spec


@pytest.mark.filterwarnings("ignore::causal_kit.errors.RowsDroppedWarning")
@pytest.mark.parametrize("method", METHODS)
def test_every_estimator_accepts_polars(method):
    df, spec = _pair(method)
    frame = pl.from_pandas(df)
    (from_pandas,) = ck.estimate(df, spec)
    (from_polars,) = ck.estimate(frame, spec)
    cols = ["estimate", "se", "ci_low", "ci_high", "p_value"]
    np.testing.assert_allclose(
        from_polars.tidy()[cols].to_numpy(dtype=float), from_pandas.tidy()[cols].to_numpy(dtype=float),
        rtol=1e-9, atol=1e-12, equal_nan=True,
    )
    assert from_polars.n_obs == from_pandas.n_obs
    assert from_polars.lineage.data_fingerprint == from_pandas.lineage.data_fingerprint
    assert [d.status for d in from_polars.diagnostics] == [d.status for d in from_pandas.diagnostics]


def test_ab_accepts_polars_and_pyarrow_without_touching_them(load):
    import pyarrow as pa

    df = load("ab_cuped_sim")
    spec = ck.ExperimentSpec(name="ab", design="ab", outcome="y", treatment="treat", pre_covariate="pre")
    frame = pl.from_pandas(df)
    before = frame.clone()
    expected = ck.estimate(df, spec)
    for data in (frame, pa.Table.from_pandas(df)):
        got = ck.estimate(data, spec)
        assert got.estimate == pytest.approx(expected.estimate, rel=1e-12)
        assert got.ci == pytest.approx(expected.ci, rel=1e-12)
    assert frame.equals(before)


def test_design_and_io_accept_polars(tmp_path):
    from causal_kit.datasets.simulate import simulate_geo_panel

    daily = simulate_geo_panel(n_geos=12, n_days=7 * 30, seed=4)
    spec = ck.ExperimentSpec(
        name="geo", design="did", outcome="kpi", unit="geo", time="date", treatment="treated",
        aggregate={"by": ["geo", "date"], "period": "week"},
    )
    weekly_pd = ck.io.load(daily, spec=spec)
    weekly_pl = ck.io.load(pl.from_pandas(daily), spec=spec)
    pd.testing.assert_frame_equal(weekly_pd, weekly_pl)
    settings = dict(n_treated=3, duration=4, n_windows=4, n_candidates=2, candidate_estimators=("did",))
    a = ck.design.plan(weekly_pd, spec, **settings)
    b = ck.design.plan(pl.from_pandas(weekly_pd), spec, **settings)
    pd.testing.assert_frame_equal(a.power_curve, b.power_curve)
    assert len(a.power_curve) > 0
    assert a.assignment.equals(b.assignment)
