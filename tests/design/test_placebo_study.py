"""Placebo studies: bad input, the study's bookkeeping, and (slow) the size of the geo readouts.

The size checks rerun, with fewer replications, the placebo studies of
``benchmarks/bench_placebo.py``: random placebo-treated units and adoption times, true effect
zero, every method with its default options through ``causal_kit.estimate``. A readout holds
its size when its false-positive rate lies within 5% +- 2 binomial MCSE (MCSE at 5%).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_geo_panel
from causal_kit.design.placebo_study import placebo_study, summarise_placebo_study
from causal_kit.errors import IdentificationError, SpecError

PROP99 = dict(outcome="PacksPerCapita", unit="State", time="Year", treatment="treated")


@pytest.fixture(scope="module")
def prop99():
    return ck.datasets.load("california_prop99")


def _spec(**roles):
    return ck.ExperimentSpec(name="placebo", design="did", **(roles or PROP99))


def test_fewer_donors_than_treated_units_is_a_named_error(prop99):
    few = prop99[prop99["State"].isin(prop99["State"].unique()[:7])]  # 6 never-treated states + California
    with pytest.raises(IdentificationError, match=r"n_treated=3 .* needs at least 4 donors .* leaving 3 donor"):
        placebo_study(few, _spec(), n_treated=3, n_reps=2)
    with pytest.raises(SpecError, match="The 'n_treated' parameter of placebo_study must be an int >= 1"):
        placebo_study(prop99, _spec(), n_treated=0, n_reps=2)
    with pytest.raises(SpecError, match="min_pre=30 and min_post=5 do not fit the panel's 31 periods"):
        placebo_study(prop99, _spec(), min_pre=30, n_reps=2)


def test_study_rows_and_known_truth(prop99):
    out = placebo_study(prop99, _spec(), n_treated=2, n_reps=3, effect=0.05, methods=["did"], seed=4)
    assert len(out) == 3 and set(out["method"]) == {"did"}
    assert "California" not in set(out["inference"])  # the real treated unit never enters
    # the truth is 5% of the placebo-treated states' untreated post mean: positive, a few packs
    assert (out["truth"] > 1).all() and (out["truth"] < 10).all()
    assert (out["cover"] == ((out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"]))).all()
    again = placebo_study(prop99, _spec(), n_treated=2, n_reps=3, effect=0.05, methods=["did"], seed=4)
    assert out["estimate"].tolist() == again["estimate"].tolist()
    summary = summarise_placebo_study(out)
    assert summary["n_reps"].item() == 3
    assert summary["reject_mcse"].item() == pytest.approx(
        math.sqrt(summary["reject_rate"].item() * (1 - summary["reject_rate"].item()) / 3))


def _assert_size(summary, alpha=0.05):
    for r in summary.itertuples(index=False):
        band = 2 * math.sqrt(alpha * (1 - alpha) / r.n_reps)
        assert abs(r.reject_rate - alpha) <= band, (r.method, r.reject_rate, r.n_reps)


@pytest.mark.slow
def test_geo_readouts_hold_their_size_on_prop99_with_five_placebo_states(prop99):
    out = placebo_study(prop99, _spec(), n_treated=5, n_reps=200, min_pre=10, min_post=5, seed=91_000, n_jobs=2)
    summary = summarise_placebo_study(out)
    _assert_size(summary)
    # RMSE ranking of the synthdid paper's placebo studies: SDID < SC < DiD
    rmse = summary.set_index("method")["rmse"]
    assert rmse["sdid"] < rmse["did"] and rmse["synthetic_control"] < rmse["did"]


@pytest.mark.slow
def test_geo_readouts_hold_their_size_on_level_scale_geo_panels():
    # 40 geos of log-normal sizes, 8 treated: the former defaults rejected 11.8% (SDID) and
    # 17.1% (SC) of true nulls here
    spec = ck.ExperimentSpec(name="placebo", design="did", outcome="kpi", unit="geo", time="date",
                             treatment="treated")
    out = placebo_study(lambda s: simulate_geo_panel(n_geos=40, n_days=119, seed=s), spec, n_treated=8,
                        n_reps=80, min_pre=91, min_post=28, seed=92_000, n_jobs=2)
    _assert_size(summarise_placebo_study(out))
    assert np.isfinite(out["se"]).all()
