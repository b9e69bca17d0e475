"""DiD on repeated cross-sections (spec.panel false): OLS identity, named errors, coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.errors import DataError, IdentificationError, SpecError


def _rcs(n: int = 2000, periods: int = 4, start: int = 3, effect: float = 0.5, seed: int = 0) -> pd.DataFrame:
    """A new sample each period; group shares and covariate means drift, parallel trends hold."""
    rng = np.random.default_rng(seed)
    t = rng.integers(1, periods + 1, n)
    region = rng.integers(0, 60, n)
    g = (region < 24).astype(int)
    x = rng.normal(0.2 * t, 1.0)
    y = 1.0 + 0.8 * g + 0.3 * t + 0.5 * x + effect * g * (t >= start) + rng.normal(0, 1 + 0.5 * g, n)
    return pd.DataFrame({"period": t, "region": region, "treated_group": g, "x": x, "y": y})


def _spec(**kw):
    base = dict(name="rcs", design="did", outcome="y", time="period", treatment="treated_group", treatment_start=3,
                panel=False)
    return ck.ExperimentSpec(**(base | kw))


@pytest.mark.parametrize("cluster", [None, "region"])
def test_equals_the_ols_interaction_coefficient_and_its_sandwich(cluster):
    import statsmodels.formula.api as smf

    df = _rcs()
    res = ck.estimate(df, _spec(covariates=["x"], cluster=cluster))
    d = df.assign(post=(df["period"] >= 3).astype(int))
    kw = dict(cov_type="HC1") if cluster is None else dict(cov_type="cluster", cov_kwds={"groups": d["region"]})
    ols = smf.ols("y ~ treated_group + C(period) + treated_group:post + x", d).fit(**kw)
    assert res.estimate == pytest.approx(ols.params["treated_group:post"], abs=1e-10)
    assert res.se == pytest.approx(ols.bse["treated_group:post"], rel=1e-10)
    assert res.df_resid == (len(df) - 7 if cluster is None else 59)  # intercept, 3 periods, group, interaction, x
    assert res.n_units is None and res.details["panel"] is False


def test_two_periods_is_the_difference_of_changes_in_means():
    df = _rcs(periods=2, start=2)
    res = ck.estimate(df, _spec(treatment_start=2))
    m = df.groupby(["treated_group", "period"])["y"].mean()
    expected = (m[1, 2] - m[1, 1]) - (m[0, 2] - m[0, 1])
    assert res.estimate == pytest.approx(expected, abs=1e-12)
    cells = res.tables["cell_means"]
    assert len(cells) == 4 and cells["n_rows"].sum() == len(df)


def test_cohort_column_gives_the_same_estimate():
    df = _rcs()
    df = df.assign(first=np.where(df["treated_group"] == 1, 3, 0))
    by_flag = ck.estimate(df, _spec())
    by_cohort = ck.estimate(df, _spec(treatment=None, treatment_start=None, cohort="first"))
    assert by_cohort.estimate == pytest.approx(by_flag.estimate, abs=1e-12)


def test_a_unique_row_id_is_accepted_as_unit():
    df = _rcs().reset_index().rename(columns={"index": "respondent"})
    res = ck.estimate(df, _spec(unit="respondent"))
    assert np.isfinite(res.se)


def test_caller_frame_is_not_mutated():
    df = _rcs()
    before = df.copy()
    ck.estimate(df, _spec(covariates=["x"]))
    pd.testing.assert_frame_equal(df, before)


# ---- named errors ---------------------------------------------------------------------------

def test_unit_column_that_repeats_asks_which_it_is():
    df = ck.datasets.load("mpdta").assign(group=lambda d: (d["first.treat"] > 0).astype(int))
    spec = ck.ExperimentSpec(name="r", design="did", outcome="lemp", unit="countyreal", time="year",
                             treatment="group", treatment_start=2006, panel=False)
    with pytest.raises(DataError, match=r"repeats across periods for 500 of 500 units .* Which is it\? .*panel: true"):
        ck.estimate(df, spec)


def test_per_period_indicator_without_a_start_is_refused():
    df = _rcs().assign(d=lambda d: d["treated_group"] * (d["period"] >= 3))
    with pytest.raises(SpecError, match=r"repeated cross-sections need the treated group of every row"):
        ck.estimate(df, _spec(treatment="d", treatment_start=None))


def test_several_adoption_dates_are_refused():
    df = _rcs().assign(first=lambda d: np.where(d["treated_group"] == 1, 2 + d["region"] % 2, 0))
    with pytest.raises(IdentificationError, match=r"has 2 adoption dates"):
        ck.estimate(df, _spec(treatment=None, treatment_start=None, cohort="first"))


def test_an_empty_cell_is_named():
    df = _rcs()
    df = df[~((df["treated_group"] == 1) & (df["period"] < 3))]
    with pytest.raises(IdentificationError, match=r"no treated-group row before the treatment start"):
        ck.estimate(df, _spec())


@pytest.mark.parametrize("name", ["sun_abraham", "staggered_did", "did2s", "did_multiplegt"])
def test_panel_estimators_refuse_repeated_cross_sections(name):
    with pytest.raises(SpecError, match=r"needs a panel .*spec.panel is false"):
        ck.estimate(_rcs(), _spec(estimators=[name]))


def test_panel_false_outside_did_is_a_spec_error():
    with pytest.raises(SpecError, match=r"panel: false \(repeated cross-sections\) applies to designs \['did', 'event_study'\]"):
        ck.ExperimentSpec(name="r", design="staggered_did", outcome="y", time="t", treatment="g", panel=False)


def test_panel_only_inference_options_are_refused():
    from causal_kit.estimators.did import DiD

    with pytest.raises(SpecError, match=r"DiD\(inference='wild_bootstrap'\) needs a panel"):
        DiD(inference="wild_bootstrap").fit(_rcs(), _spec())


@pytest.mark.parametrize("cluster", [None, "region"])
def test_event_study_equals_the_ols_group_by_event_time_coefficients(cluster):
    import statsmodels.formula.api as smf

    df = _rcs(periods=5, start=3)
    res = ck.estimate(df, _spec(design="event_study", covariates=["x"], cluster=cluster))
    d = df.assign(**{f"g_e{e}": df["treated_group"] * (df["period"] - 3 == e) for e in (-2, 0, 1, 2)})
    d.columns = [c.replace("-", "m") for c in d.columns]
    kw = dict(cov_type="HC1") if cluster is None else dict(cov_type="cluster", cov_kwds={"groups": d["region"]})
    ols = smf.ols("y ~ treated_group + C(period) + g_em2 + g_e0 + g_e1 + g_e2 + x", d).fit(**kw)
    es = res.tables["event_study"].set_index("event_time")
    for e, term in ((-2, "g_em2"), (0, "g_e0"), (1, "g_e1"), (2, "g_e2")):
        assert es.loc[e, "estimate"] == pytest.approx(ols.params[term], abs=1e-10)
        assert es.loc[e, "se"] == pytest.approx(ols.bse[term], rel=1e-10)
    assert es.loc[-1, "reference"]
    assert res.estimate == pytest.approx(ols.params[["g_e0", "g_e1", "g_e2"]].mean(), abs=1e-10)
    assert {d.name for d in res.diagnostics} >= {"pre_trends"}


def test_event_study_options_that_need_a_panel_are_named():
    from causal_kit.estimators.did import EventStudy

    with pytest.raises(SpecError, match=r"window=...\) is not supported on repeated cross-sections"):
        EventStudy(window=(-2, 1)).fit(_rcs(), _spec(design="event_study"))
    with pytest.raises(SpecError, match=r"'reference' parameter of EventStudy \(-5\) is not an event time"):
        EventStudy(reference=-5).fit(_rcs(), _spec(design="event_study"))


# ---- simulation -----------------------------------------------------------------------------

@pytest.mark.slow
def test_coverage_and_bias_1000_draws():
    """1,000 seeded samples (1,000 rows, 4 periods, 60 regions, heteroskedastic errors): HC1 and CRV1 coverage.

    Both must lie in 93.5-96.5% (MCSE 0.7 points) and the estimate be unbiased within 3 MCSE.
    """
    from causal_kit.estimators.did_rcs import fit_repeated_cross_sections

    spec_hc, spec_cl = _spec(covariates=["x"]), _spec(covariates=["x"], cluster="region")
    est, cov_hc, cov_cl = [], [], []
    for s in range(1000):
        df = _rcs(n=1000, seed=1000 + s)
        r = fit_repeated_cross_sections(df, spec_hc, alpha=0.05, seed=0)
        c = fit_repeated_cross_sections(df, spec_cl, alpha=0.05, seed=0)
        est.append(r.estimate)
        cov_hc.append(r.ci[0] <= 0.5 <= r.ci[1])
        cov_cl.append(c.ci[0] <= 0.5 <= c.ci[1])
    est = np.array(est)
    assert abs(est.mean() - 0.5) < 3 * est.std() / np.sqrt(len(est))
    assert 0.935 <= np.mean(cov_hc) <= 0.965, np.mean(cov_hc)
    assert 0.935 <= np.mean(cov_cl) <= 0.965, np.mean(cov_cl)
