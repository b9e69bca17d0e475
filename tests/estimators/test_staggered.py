"""Behaviour, errors and simulations for Callaway-Sant'Anna and Sun-Abraham."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal_kit import ExperimentSpec
from causal_kit.datasets.simulate import simulate_staggered_panel
from causal_kit.errors import IdentificationError, SpecError
from causal_kit.estimators._cs_core import aggregation_weights, cell_estimates, cell_grid
from causal_kit.estimators.did import DiD
from causal_kit.estimators.staggered import CallawaySantAnna
from causal_kit.estimators.sun_abraham import SunAbraham

MPDTA = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
SIM = dict(outcome="y", unit="unit", time="period", cohort="cohort")


@pytest.fixture(scope="module")
def mpdta():
    from causal_kit import datasets

    return datasets.load("mpdta")


@pytest.fixture(scope="module")
def spec():
    return ExperimentSpec(name="m", design="staggered_did", **MPDTA)


def test_tables_and_headline_choice(mpdta, spec):
    res = CallawaySantAnna(n_boot=0, aggregation="group").fit(mpdta, spec)
    assert res.estimate == pytest.approx(-0.031018, abs=1e-6)
    assert {"att_gt", "aggregations", "group_effects", "event_study", "calendar_effects", "honest_did",
            "trends"} <= set(res.tables)
    att = res.tables["att_gt"]
    assert att["n_treated"].tolist()[:4] == [20] * 4 and (att["n_control"] == 309).all()
    assert res.exposure == 20 * 4 + 40 * 2 + 131
    with pytest.raises(SpecError, match="The 'aggregation' parameter of CallawaySantAnna must be one of"):
        CallawaySantAnna(aggregation="overall").fit(mpdta, spec)
    with pytest.raises(SpecError, match="The 'anticipation' parameter of CallawaySantAnna must be an int >= 0"):
        CallawaySantAnna(anticipation=-1).fit(mpdta, spec)


def test_bootstrap_bands_are_seeded_and_wider(mpdta, spec):
    a = CallawaySantAnna(n_boot=499).fit(mpdta, spec)
    b = CallawaySantAnna(n_boot=499).fit(mpdta, spec)
    es_a, es_b = a.tables["event_study"], b.tables["event_study"]
    assert np.array_equal(es_a["band_low"], es_b["band_low"])
    assert ((es_a["band_high"] - es_a["band_low"]) > (es_a["ci_high"] - es_a["ci_low"])).all()
    c = CallawaySantAnna(n_boot=499, seed=3).fit(mpdta, spec)
    assert not np.array_equal(c.tables["event_study"]["band_low"], es_a["band_low"])
    assert a.se == c.se  # the headline SE is analytic


def test_not_yet_treated_universal_base_and_anticipation(mpdta, spec):
    base = CallawaySantAnna(n_boot=0).fit(mpdta, spec)
    nyt = CallawaySantAnna(n_boot=0, control_group="not_yet_treated").fit(mpdta, spec)
    att = nyt.tables["att_gt"].set_index(["group", "time"])
    assert att.loc[(2004, 2004), "n_control"] == 309 + 40 + 131
    assert att.loc[(2004, 2006), "n_control"] == 309 + 131
    assert nyt.estimate != base.estimate and abs(nyt.estimate - base.estimate) < 0.01
    uni = CallawaySantAnna(n_boot=0, base_period="universal").fit(mpdta, spec)
    ua = uni.tables["att_gt"]
    post_u = ua[ua["post"]].reset_index(drop=True)
    post_v = base.tables["att_gt"].query("post").reset_index(drop=True)
    np.testing.assert_allclose(post_u["estimate"], post_v["estimate"], atol=1e-12)
    ref = uni.tables["event_study"].set_index("event_time").loc[-1]
    assert ref["estimate"] == 0.0 and bool(ref["reference"])
    ant = CallawaySantAnna(n_boot=0, anticipation=1).fit(mpdta, spec)
    bases = ant.tables["att_gt"].query("post").set_index("group")["base_period"]
    assert bases.loc[2006].unique().tolist() == [2004]


def test_unbalanced_panel_and_clusters(mpdta, spec):
    holes = mpdta.drop(index=mpdta.index[3::11])
    res = CallawaySantAnna(n_boot=0).fit(holes, spec)
    assert res.diagnostic("panel_balance").status == "warn"
    assert res.estimate == pytest.approx(-0.04, abs=0.01)
    state = mpdta.assign(state=mpdta["countyreal"] // 1000)
    cl = CallawaySantAnna(n_boot=0).fit(state, ExperimentSpec(name="m", design="staggered_did", cluster="state", **MPDTA))
    base = CallawaySantAnna(n_boot=0).fit(mpdta, spec)
    assert cl.estimate == pytest.approx(base.estimate, abs=1e-12) and cl.se != base.se
    bad = mpdta.assign(c=np.arange(len(mpdta)) % 2)
    with pytest.raises(SpecError, match="changes within units"):
        CallawaySantAnna(n_boot=0).fit(bad, ExperimentSpec(name="m", design="staggered_did", cluster="c", **MPDTA))


def test_identification_errors(mpdta, spec):
    treated_only = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(IdentificationError, match="no never-treated units"):
        CallawaySantAnna(n_boot=0).fit(treated_only, spec)
    one_cohort = mpdta[mpdta["first.treat"] == 2006]
    with pytest.raises(IdentificationError, match="no never-treated and no not-yet-treated controls"):
        CallawaySantAnna(n_boot=0, control_group="not_yet_treated").fit(one_cohort, spec)
    # the not-yet-treated design works without never-treated units while controls remain
    res = CallawaySantAnna(n_boot=0, control_group="not_yet_treated").fit(treated_only, spec)
    assert res.details["n_cells_without_controls"] > 0
    assert res.diagnostic("controls").status == "warn"
    with pytest.raises(IdentificationError, match="single period"):
        CallawaySantAnna(n_boot=0).fit(mpdta[mpdta["year"] == 2005], spec)


def test_sun_abraham_without_never_treated_uses_last_cohort(mpdta, spec):
    res = SunAbraham().fit(mpdta[mpdta["first.treat"] > 0], spec)
    assert "last-treated cohort" in res.details["controls"]
    assert set(res.tables["cohort_effects"]["group"]) == {2004, 2006}
    assert np.isfinite(res.se) and res.se > 0


# ---------------------------------------------------------------- simulations

def _draw(rng, n, t, cohorts, probs):
    cohort = rng.choice(np.r_[0, cohorts], size=n, p=probs)
    periods = np.arange(1, t + 1)
    treated = (cohort[:, None] > 0) & (periods[None, :] >= cohort[:, None])
    e = periods[None, :] - cohort[:, None]
    # heterogeneous and dynamic: cohort 3 gains 1 + 0.5 e, cohort 5 gains 0.5 + 0.25 e
    tau = np.where(cohort[:, None] == 3, 1 + 0.5 * e, 0.5 + 0.25 * e) * treated
    y = rng.normal(0, 1, (n, 1)) + np.cumsum(rng.normal(0.2, 0.3, t))[None, :] + tau + rng.normal(0, 1, (n, t))
    first = np.where(cohort > 0, cohort - 1, -1)
    return y, first


def _simple_att(y, first, t):
    grid = cell_grid(first, t, 0, "varying")
    att, psi, _, _ = cell_estimates(y, first, grid, control="never_treated", anticipation=0, method="dr",
                                    covariates=[], observed=None)
    W, WIF = aggregation_weights(att, grid.cohort, first, [np.flatnonzero(grid.period >= grid.cohort)])
    return float(att @ W[:, 0]), float(np.sqrt(((psi @ W + WIF) ** 2).sum()))


def test_core_path_equals_full_estimator():
    rng = np.random.default_rng(5)
    y, first = _draw(rng, 150, 6, [3, 5], [0.3, 0.35, 0.35])
    df = pd.DataFrame({"unit": np.repeat(np.arange(150), 6), "period": np.tile(np.arange(1, 7), 150),
                       "y": y.ravel(), "cohort": np.repeat(np.where(first >= 0, first + 1, 0), 6)})
    res = CallawaySantAnna(n_boot=0).fit(df, ExperimentSpec(name="s", design="staggered_did", **SIM))
    est, se = _simple_att(y, first, 6)
    assert res.estimate == pytest.approx(est, abs=1e-12) and res.se == pytest.approx(se, abs=1e-12)


@pytest.mark.slow
def test_cs_coverage_and_unbiasedness_over_2000_panels():
    # Population truth: cohort shares 0.35/0.35; post cells (g=3: e=0..3, g=5: e=0..1).
    # The simple ATT weights cells by P(G = g); the wif term makes the SE account for the
    # estimated shares, so intervals cover the population value. The estimator's own
    # vectorised core is called directly (0.3 ms per panel); the test above pins it to fit().
    truth = (sum(1 + 0.5 * e for e in range(4)) + sum(0.5 + 0.25 * e for e in range(2))) / 6
    rng = np.random.default_rng(20240601)
    est, cover = np.empty(2000), np.empty(2000, dtype=bool)
    for i in range(2000):
        y, first = _draw(rng, 200, 6, [3, 5], [0.3, 0.35, 0.35])
        est[i], se = _simple_att(y, first, 6)
        cover[i] = abs(est[i] - truth) <= 1.959964 * se
    assert 0.935 <= cover.mean() <= 0.965
    assert abs(est.mean() - truth) < 4 * est.std() / np.sqrt(2000)


@pytest.mark.slow
def test_cs_unbiased_where_twfe_is_biased():
    df = simulate_staggered_panel(n_units=3000, n_periods=10, cohorts=(3, 5, 7), effect=1.0, dynamic=0.5,
                                  never_share=0.25, seed=7)
    spec = ExperimentSpec(name="s", design="staggered_did", **SIM)
    first = df.groupby("unit")["cohort"].first().to_numpy()
    truth = np.mean([1 + 0.5 * (t - g) for g in first[first > 0] for t in range(g, 11)])
    cs = CallawaySantAnna(n_boot=0).fit(df, spec)
    twfe = DiD().fit(df, spec)
    sa = SunAbraham().fit(df, spec)
    assert abs(cs.estimate - truth) < 3 * cs.se
    assert abs(sa.estimate - truth) < 3 * sa.se
    assert twfe.estimate - truth < -8 * twfe.se  # TWFE's bias is large and negative here
    # event-time effects recover 1 + 0.5 e
    dyn = cs.tables["event_study"].set_index("event_time")
    np.testing.assert_allclose(dyn.loc[range(0, 4), "estimate"], 1 + 0.5 * np.arange(4), atol=0.15)


@pytest.mark.parametrize("control", ["never_treated", "not_yet_treated"])
def test_factored_and_dense_influence_functions_agree(control):
    from causal_kit.estimators._cs_core import DenseIF, factor_cells

    rng = np.random.default_rng(9)
    y, first = _draw(rng, 120, 7, [3, 5], [0.3, 0.35, 0.35])
    grid = cell_grid(first, 7, 0, "universal")
    att_d, psi, nt_d, nc_d = cell_estimates(y, first, grid, control=control, anticipation=0, method="dr",
                                            covariates=[], observed=None)
    att_f, op, nt_f, nc_f = factor_cells(y, first, grid, control=control, anticipation=0)
    dense = DenseIF(psi)
    np.testing.assert_allclose(att_f, att_d, atol=1e-12)
    np.testing.assert_array_equal(nt_f, nt_d)
    np.testing.assert_array_equal(nc_f, nc_d)
    np.testing.assert_allclose(op.sum_sq(None), dense.sum_sq(None), rtol=1e-9, atol=1e-15)
    W = rng.normal(size=(len(att_d), 3))
    np.testing.assert_allclose(op.project(W), dense.project(W), atol=1e-12)
    V = rng.choice([-1.0, 1.0], size=(20, 120))
    # the factored bootstrap multiplies in float32 (bands need ~4 digits)
    np.testing.assert_allclose(op.boot(V, None), dense.boot(V, None), atol=1e-5)


def test_factored_bootstrap_equals_dense_bootstrap():
    # same draws through the factored aggregation path and the dense one give the same bands
    from causal_kit.estimators._cs_core import DenseIF, factor_cells

    rng = np.random.default_rng(4)
    y, first = _draw(rng, 150, 6, [3, 5], [0.3, 0.35, 0.35])
    grid = cell_grid(first, 6, 0, "varying")
    att, op, _, _ = factor_cells(y, first, grid, control="never_treated", anticipation=0)
    _, psi, _, _ = cell_estimates(y, first, grid, control="never_treated", anticipation=0, method="dr",
                                  covariates=[], observed=None)
    est = CallawaySantAnna(n_boot=199)
    args = (grid, first, None, np.arange(1, 7), 6, 0.05, 0)
    fast = est._aggregate(att, op, *args)
    dense = est._aggregate(att, DenseIF(psi), *args)
    for name in ("att_gt", "event_study", "group_effects", "calendar_effects", "aggregations"):
        # float32 bootstrap products in the factored path: bands agree to ~1e-5
        pd.testing.assert_frame_equal(fast["tables"][name], dense["tables"][name], atol=1e-5)


def test_no_pre_period_comparisons_make_diagnostics_not_applicable(mpdta, spec):
    early = mpdta[mpdta["first.treat"].isin([0, 2004])]
    res = CallawaySantAnna(n_boot=0).fit(early, spec)
    assert res.diagnostic("pre_trends").status == "not_applicable"
    assert res.diagnostic("honest_did").status == "not_applicable"
    assert "honest_did" not in res.plot_kinds()


def test_factored_and_dense_paths_give_identical_standard_errors(mpdta, spec):
    # a cluster column that relabels the units forces the dense (units x cells) path
    dense_spec = ExperimentSpec(name="m", design="staggered_did", cluster="cl", **MPDTA)
    fast = CallawaySantAnna(n_boot=0).fit(mpdta, spec)
    dense = CallawaySantAnna(n_boot=0).fit(mpdta.assign(cl=-mpdta["countyreal"]), dense_spec)
    for name in ("att_gt", "aggregations", "event_study", "group_effects", "calendar_effects"):
        np.testing.assert_allclose(fast.tables[name]["se"], dense.tables[name]["se"], rtol=1e-10)
    assert fast.diagnostic("pre_trends").statistic == pytest.approx(dense.diagnostic("pre_trends").statistic)


@pytest.mark.parametrize("cluster", [None, "region"])
def test_sun_abraham_closed_form_equals_the_dense_saturated_regression(cluster):
    # balanced, never-treated controls, no covariates: the cohort-sum path and the regression
    # on one dummy per cohort x event time give the same coefficients and CRV1 covariance
    from causal_kit.estimators import sun_abraham as sa
    from causal_kit.estimators._did_common import load_panel

    rng = np.random.default_rng(11)
    y, first = _draw(rng, 240, 7, [3, 5], [0.4, 0.3, 0.3])
    n, t = y.shape
    df = pd.DataFrame({"unit": np.repeat(np.arange(n), t), "period": np.tile(np.arange(1, t + 1), n),
                       "y": y.ravel(), "cohort": np.repeat(np.where(first >= 0, first + 1, 0), t),
                       "region": np.repeat(np.arange(n) % 31, t)})
    spec = ExperimentSpec(name="sa", design="staggered_did", outcome="y", unit="unit", time="period",
                          cohort="cohort", cluster=cluster)
    pdat = load_panel(df, spec, "SunAbraham")
    f = pdat.panel.first_treated
    fast = sa._saturated_balanced(pdat.panel.Y, f, pdat.unit_clusters, pdat.n_clusters)
    dense = sa._saturated_dense(pdat, pdat.observed, f, np.unique(f[f >= 0]), [])
    assert fast[0] == dense[0] and fast[3:] == dense[3:]
    np.testing.assert_allclose(fast[1], dense[1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast[2], dense[2], rtol=1e-10, atol=1e-16)
