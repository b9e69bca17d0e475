"""Group-sequential readouts of geo panels (DiD, SDID) at planned weekly looks."""

from __future__ import annotations

import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_geo_panel
from causal_kit.errors import DataError, SpecError
from causal_kit.estimators import get_estimator
from causal_kit.inference.alpha_spending import spending_boundaries
from causal_kit.inference.sequential_panel import sequential_panel
from causal_kit.spec import SequentialConfig

LOOKS = ["2024-04-07", "2024-04-14", "2024-04-21", "2024-04-28"]


@pytest.fixture(scope="module")
def panel():
    return simulate_geo_panel(n_geos=20, n_days=119, treated=5, test_start="2024-04-01", effect=0.05, seed=4)


def _spec(**seq):
    return ck.ExperimentSpec(name="geo", design="did", outcome="kpi", unit="geo", time="date", treatment="treated",
                             sequential=seq)


def _upto(df, day):
    return df[df["date"] <= day]


def test_alpha_spending_looks_on_a_geo_panel(panel):
    spec = _spec(method="alpha_spending", looks=LOOKS)
    fixed = ck.estimate(_upto(panel, LOOKS[1]), spec.update(sequential=None))
    res = ck.estimate(_upto(panel, LOOKS[1]), spec)
    seq = res.details["sequential"]
    assert seq["look"] == 2 and seq["n_looks_planned"] == 4 and not seq["final_look"]
    # information: 7 and 14 of 28 post days
    assert seq["information_fractions"] == pytest.approx([0.25, 0.5])
    b = spending_boundaries([0.25, 0.5], 0.05, "obrien_fleming")[-1]
    assert seq["boundary_z"] == pytest.approx(b)
    assert res.ci == pytest.approx((fixed.estimate - b * fixed.se, fixed.estimate + b * fixed.se))
    assert seq["fixed_horizon_ci"] == list(fixed.ci)
    assert seq["decision"] == ("stop_efficacy" if abs(fixed.estimate / fixed.se) >= b else "continue")
    assert res.tables["sequential"]["look"].tolist() == [2]
    assert "look 2 of 4, boundary |z| >=" in res.inference


def test_calibrated_boundaries_and_final_look(panel):
    spec = _spec(method="calibrated", looks=LOOKS, boundaries=[2.9, 2.7, 2.6, 2.5])
    res = ck.estimate(panel, spec)
    seq = res.details["sequential"]
    assert seq["look"] == 4 and seq["final_look"] and seq["boundary_z"] == 2.5
    assert seq["decision"] in ("stop_efficacy", "final")
    with pytest.raises(DataError, match="a calibrated boundary exists only at the planned looks"):
        ck.estimate(_upto(panel, "2024-04-10"), spec)


def test_prior_looks_and_named_errors(panel):
    spec = _spec(method="alpha_spending", looks=LOOKS)
    first = ck.estimate(_upto(panel, LOOKS[0]), spec)
    prior = [{"look": 1, "key": first.details["sequential"]["look_key"], "n_obs": first.n_obs,
              "estimate": first.estimate, "ci_low": first.ci[0], "ci_high": first.ci[1], "p_value": first.p_value,
              "boundary_z": first.details["sequential"]["boundary_z"], "decision": "continue"}]
    second = ck.estimate(_upto(panel, LOOKS[1]), spec, prior_looks=prior)
    assert second.details["sequential"]["look"] == 2 and second.tables["sequential"]["look"].tolist() == [1, 2]
    with pytest.raises(DataError, match="the data shrank: this look has 1920 rows but look 1 had 1960"):
        ck.estimate(_upto(panel, "2024-04-05"), spec, prior_looks=prior)
    later = [{**prior[0], "key": "2024-04-20", "n_obs": 100}]
    with pytest.raises(DataError, match=r"looks are not increasing: this look \(spec.time 'date' = 2024-04-14"):
        ck.estimate(_upto(panel, LOOKS[1]), spec, prior_looks=later)
    with pytest.raises(DataError, match="after the last planned look"):
        ck.estimate(panel.assign(date=panel["date"] + pd.Timedelta(days=30)), spec)
    ab_style = spec.model_copy(update={"sequential": SequentialConfig(planned_n=10)})
    with pytest.raises(SpecError, match="is for A/B tests"):
        sequential_panel(first, ab_style, panel)


def test_sdid_readout_is_group_sequential(panel):
    spec = ck.ExperimentSpec(name="geo", design="sdid", outcome="kpi", unit="geo", time="date", treatment="treated",
                             options={"n_reps": 50}, sequential={"method": "alpha_spending", "looks": LOOKS,
                                                                "spending": "pocock"})
    res = get_estimator("sdid", n_reps=50).fit(_upto(panel, LOOKS[2]), spec)
    out = sequential_panel(res, spec, _upto(panel, LOOKS[2]))
    assert out.details["sequential"]["look"] == 3
    assert out.details["sequential"]["boundary_z"] == pytest.approx(
        spending_boundaries([0.25, 0.5, 0.75], 0.05, "pocock")[-1])
