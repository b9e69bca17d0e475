"""Effect decay: curve fits, model choice, projection, value, errors and half-life CI coverage."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.errors import DataError, SpecError
from causal_kit.estimators.decay import decay_curve, fit_decay

T = np.arange(12.0)
HALF_LIFE = 3.0


def _exp_path(noise: float = 0.0, seed: int = 0, level: float = 0.2, se: float = 0.05) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = level + np.exp(-math.log(2) / HALF_LIFE * T)
    return pd.DataFrame({"period": T, "estimate": truth + noise * rng.normal(size=len(T)), "se": se})


@pytest.mark.parametrize("model, theta, half_life", [
    ("exponential", [1.0, math.log(math.log(2) / 4), 0.1], 4.0),
    ("hyperbolic", [1.0, math.log(1 / 4), 0.1], 4.0),
    ("linear", [1.0, math.log(8.0)], 4.0),
])
def test_recovers_noise_free_curves(model, theta, half_life):
    y = decay_curve(model, T, np.array(theta))
    res = fit_decay(pd.DataFrame({"period": T, "estimate": y, "se": 0.01}), models=[model, "constant"])
    assert res.details["model"] == model
    assert res.details["half_life"] == pytest.approx(half_life, rel=1e-6)
    expected_cum = float(y.sum())
    assert res.estimate == pytest.approx(expected_cum, rel=1e-6)


def test_cumulative_projection_and_value():
    res = fit_decay(_exp_path(), models=["exponential"], horizon=51, periods_per_year=52, exposure=1000,
                    value_per_unit=2.0, cost=500.0)
    grid = np.arange(0, 52.0)
    theta = np.array([1.0, math.log(math.log(2) / HALF_LIFE), 0.2])
    assert res.estimate == pytest.approx(decay_curve("exponential", grid, theta).sum(), rel=1e-6)
    value = res.tables["decay_value"].set_index("quantity")
    assert value.loc["cumulative value", "estimate"] == pytest.approx(2000 * res.estimate)
    assert value.loc["annualised effect per unit", "estimate"] == pytest.approx(res.estimate)  # 52 weeks = 1 year
    assert value.loc["return on cost (value / cost - 1)", "estimate"] == pytest.approx(2000 * res.estimate / 500 - 1)
    assert res.incremental_total[0] == pytest.approx(1000 * res.estimate)
    assert res.diagnostic("decay_extrapolation").status == "warn"


def test_aic_prefers_true_model_and_reports_the_range():
    res = fit_decay(_exp_path(noise=0.05, seed=1), horizon=30)
    table = res.tables["decay_models"]
    assert set(table["model"]) == {"exponential", "hyperbolic", "linear", "constant"}
    assert table.loc[table["chosen"], "model"].item() == res.details["model"]
    assert res.details["model"] in {"exponential", "hyperbolic"}
    assert "ranges from" in res.diagnostic("decay_model_choice").message


def test_covariance_is_used():
    path = _exp_path(noise=0.05, seed=2)
    lag = np.abs(np.subtract.outer(T, T))
    cov = 0.05**2 * 0.6**lag  # AR(1)-correlated estimates
    a = fit_decay(path, models=["exponential"])
    b = fit_decay(path, models=["exponential"], cov=cov)
    assert a.estimate != pytest.approx(b.estimate, rel=1e-6)
    assert b.se > a.se  # positively correlated errors carry less information about the sum
    with pytest.raises(DataError, match=r"cov must be 12 x 12"):
        fit_decay(path, cov=np.eye(3))


def test_from_event_study_and_surrogate_results():
    spec = ck.ExperimentSpec(name="es", design="event_study", outcome="lemp", unit="countyreal", time="year",
                             cohort="first.treat")
    es = ck.estimate(ck.datasets.load("mpdta"), spec)
    res = fit_decay(es, models=["linear", "constant"])
    assert res.n_obs == int((es.tables["event_study"]["event_time"] >= 0).sum())
    assert res.outcome == "lemp" and res.lineage == es.lineage
    df = ck.datasets.load("gain_riverside")
    horizons = {q: f"emp{q}" for q in range(7, 37)}
    s_spec = ck.ExperimentSpec(name="g", design="surrogate", treatment="treatment",
                               surrogates=[f"emp{q}" for q in range(1, 7)], long_term_outcome="emp36")
    sur = ck.estimate({"experiment": df, "observational": df[df.treatment == 1]}, s_spec, horizons=horizons)
    proj = sur.tables["projections"]
    cov = proj.filter(like="cov_").to_numpy()
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), proj["se"], rtol=1e-10)  # the stored joint covariance
    res = fit_decay(sur, horizon=36, start=7)
    assert res.n_obs == 30 and math.isfinite(res.estimate)
    diag_only = fit_decay(sur, horizon=36, start=7, cov=np.diag(proj["se"] ** 2))
    assert res.se != pytest.approx(diag_only.se, rel=1e-3)  # the joint covariance is used by default
    assert res.plot().data


def test_json_round_trip_and_plot():
    res = fit_decay(_exp_path(noise=0.05, seed=3), horizon=20)
    again = ck.EffectEstimate.from_json(res.to_json())
    assert again.estimate == res.estimate
    assert res.plot_kinds() == ("decay", "long_term")
    assert len(res.plot("decay").data) == 3


def test_errors():
    with pytest.raises(SpecError, match=r"'models' parameter of fit_decay must be one of"):
        fit_decay(_exp_path(), models=["cubic"])
    with pytest.raises(DataError, match=r"needs columns 'period'"):
        fit_decay(pd.DataFrame({"x": [1.0], "estimate": [1.0], "se": [1.0]}))
    with pytest.raises(DataError, match=r"has 2 periods; a decay model needs more periods"):
        fit_decay(_exp_path().head(2), models=["exponential", "linear"])
    with pytest.raises(DataError, match=r"1 periods with a missing estimate or a non-positive SE"):
        fit_decay(_exp_path().assign(se=[0.0] + [0.05] * 11))
    with pytest.raises(SpecError, match=r"horizon >= start"):
        fit_decay(_exp_path(), horizon=-1)
    with pytest.raises(DataError, match=r"no per-period effect table"):
        fit_decay(ck.estimate(ck.datasets.load("ab_cuped_sim"),
                              ck.ExperimentSpec(name="a", design="ab", outcome="y", treatment="treat")))


@pytest.mark.slow
def test_half_life_ci_coverage():
    # 1,000 seeded paths: exponential decay (half-life 3) to a level of 0.2, independent noise with SE 0.05
    hits = []
    for seed in range(1000):
        res = fit_decay(_exp_path(noise=0.05, seed=seed), models=["exponential"])
        lo, hi = res.details["half_life_ci"]
        hits.append(lo <= HALF_LIFE <= hi)
    coverage = float(np.mean(hits))
    assert 0.935 <= coverage <= 0.965, coverage


def test_report_has_the_long_term_section():
    res = fit_decay(_exp_path(noise=0.05, seed=4), horizon=30, periods_per_year=52, exposure=100, value_per_unit=5.0)
    html = ck.report.render(res)
    assert "<h2>Long-term effect</h2>" in html and "annualised value" in html
