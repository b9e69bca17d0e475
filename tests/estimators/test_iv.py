"""Behaviour, engines, fixed effects, compliance framing and errors of the IV estimator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import causal_kit as ck
from causal_kit.errors import DataError, IdentificationError, RowsDroppedWarning, SpecError
from causal_kit.estimators.iv import IV

CARD_X = ["exper", "expersq", "black", "smsa", "south", "smsa66"] + [f"reg66{i}" for i in range(2, 10)]


def _spec(**kw):
    base = dict(name="iv", design="iv", outcome="y", endogenous=["d"], instruments=["z"], covariates=["w"])
    base.update(kw)
    return ck.ExperimentSpec(**base)


def _frame(n=2000, seed=0, binary=False, late=2.0, n_groups=40):
    """Simulated IV data with a confounder u, clusters g and fixed-effect groups f."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, n_groups, n)
    f = rng.integers(0, 8, n)
    w = rng.normal(size=n)
    u = rng.normal(size=n)
    if binary:
        z = rng.integers(0, 2, n)
        kind = rng.choice(["complier", "always", "never"], p=[0.5, 0.2, 0.3], size=n)
        d = np.where(kind == "always", 1, np.where(kind == "never", 0, z))
        y = 1 + late * d + 0.5 * w + (kind == "always") * 1.0 + rng.normal(size=n)
    else:
        z = rng.normal(size=n) + 0.3 * w
        d = 0.6 * z + 0.4 * w + u + 0.2 * f + rng.normal(size=n)
        y = 1 + late * d + 0.5 * w + 1.5 * u + 0.3 * f + rng.normal(size=n) * (1 + 0.5 * np.abs(z))
    z2 = rng.normal(size=n) + 0.5 * z
    return pd.DataFrame({"y": y, "d": d, "z": z, "z2": z2, "w": w, "g": g, "f": f,
                         "wt": rng.uniform(0.5, 2.0, n), "z3": rng.normal(size=n) + 0.4 * d})


@pytest.mark.parametrize("method", ["2sls", "liml"])
@pytest.mark.parametrize("vcov", ["unadjusted", "robust", "cluster"])
@pytest.mark.parametrize("debiased", [False, True])
def test_numpy_engine_matches_linearmodels(method, vcov, debiased):
    df = _frame(seed=1)
    spec = _spec(instruments=["z", "z2"], cluster="g", weights="wt")
    opts = dict(method=method, vcov=vcov, debiased=debiased)
    lm = IV(engine="linearmodels", **opts).fit(df, spec)
    npy = IV(engine="numpy", **opts).fit(df, spec)
    assert lm.details["engine"] == "linearmodels" and npy.details["engine"] == "numpy"
    assert_allclose(npy.estimate, lm.estimate, rtol=1e-9)
    assert_allclose(npy.se, lm.se, rtol=1e-8)
    assert_allclose(npy.ci, lm.ci, rtol=1e-8)


def test_absorb_by_demeaning_equals_dummies():
    df = _frame(n=800, seed=2)
    dummies = pd.get_dummies(df["f"], prefix="f", drop_first=True, dtype=float)
    wide = pd.concat([df, dummies], axis=1)
    spec_d = _spec(covariates=["w", *dummies.columns], cluster="g")
    for vcov, debiased in [("unadjusted", True), ("robust", True), ("cluster", True), ("robust", False)]:
        ref = ck.estimate(wide, spec_d, vcov=vcov, debiased=debiased)
        for engine in ("linearmodels", "numpy"):
            got = ck.estimate(df, _spec(cluster="g"), vcov=vcov, debiased=debiased, absorb="f", engine=engine)
            assert_allclose(got.estimate, ref.estimate, rtol=1e-9)
            assert_allclose(got.se, ref.se, rtol=1e-8)
            assert_allclose(got.details["first_stage_f"], ref.details["first_stage_f"], rtol=1e-8)
            assert got.details["fe_dof"] == 8


def test_two_absorbed_effects_converge_and_match_dummies():
    df = _frame(n=800, seed=3, n_groups=6)
    d1 = pd.get_dummies(df["f"], prefix="f", drop_first=True, dtype=float)
    d2 = pd.get_dummies(df["g"], prefix="g", drop_first=True, dtype=float)
    wide = pd.concat([df, d1, d2], axis=1)
    ref = ck.estimate(wide, _spec(covariates=["w", *d1.columns, *d2.columns]), vcov="robust", debiased=True)
    got = ck.estimate(df, _spec(), vcov="robust", debiased=True, absorb=["f", "g"])
    assert_allclose(got.estimate, ref.estimate, rtol=1e-7)
    assert_allclose(got.se, ref.se, rtol=1e-6)


def test_simulated_estimate_recovers_truth_and_ols_is_biased():
    df = _frame(n=20000, seed=4)
    res = ck.estimate(df, _spec())
    assert abs(res.estimate - 2.0) < 4 * res.se
    assert res.details["ols_estimate"] > 2.3  # confounding pushes OLS up
    assert res.diagnostic("endogeneity").status == "pass"
    assert res.diagnostic("first_stage_f").status == "pass"
    assert res.estimand == "IV coefficient"


def test_compliance_framing_binary_instrument_and_treatment():
    df = _frame(n=20000, seed=5, binary=True)
    res = ck.estimate(df, _spec(treatment="d", endogenous=["d"]))
    det = res.details
    assert res.estimand == "LATE"
    assert_allclose(det["complier_share"], 0.5, atol=0.02)
    assert_allclose(det["intent_to_treat"] / det["complier_share"], res.estimate, rtol=1e-10)
    assert abs(res.estimate - 2.0) < 4 * res.se
    table = res.tables["compliance"].set_index("quantity")
    assert_allclose(table.loc["always_taker_share", "estimate"], 0.2, atol=0.02)
    assert_allclose(table.loc["never_taker_share", "estimate"], 0.3, atol=0.02)
    # estimate * exposure = total outcome the instrument induced = ITT * n(z = 1)
    assert_allclose(res.estimate * res.exposure, det["intent_to_treat"] * (df["z"] == 1).sum(), rtol=1e-10)
    assert res.baseline is not None and np.isfinite(res.baseline)


def test_several_endogenous_match_linearmodels():
    from linearmodels.iv import IV2SLS

    df = _frame(seed=6).assign(d2=lambda x: x["d"] * 0.3 + x["z3"] + np.random.default_rng(0).normal(size=len(x)))
    spec = _spec(endogenous=["d", "d2"], instruments=["z", "z2", "z3"])
    res = ck.estimate(df, spec, vcov="robust")
    lm = IV2SLS(df["y"], df[["w"]].assign(const=1.0), df[["d", "d2"]], df[["z", "z2", "z3"]]).fit(cov_type="robust")
    assert_allclose(res.estimate, lm.params["d"], rtol=1e-9)
    assert_allclose(res.se, lm.std_errors["d"], rtol=1e-9)
    assert res.diagnostic("anderson_rubin").status == "not_applicable"
    assert res.diagnostic("effective_f").status == "not_applicable"
    assert res.details["cragg_donald_f"] > 0
    fig = ck.EffectEstimate.from_json(res.to_json()).plot("anderson_rubin")
    assert len(fig.data) > 0


def test_gmm_reports_hansen_j():
    df = _frame(seed=7)
    res = ck.estimate(df, _spec(instruments=["z", "z2"]), method="gmm", vcov="robust")
    assert res.details["engine"] == "linearmodels" and "hansen_j" in res.details
    assert "Hansen J" in res.diagnostic("overidentification").message


def test_runs_on_another_design_spec():
    card = ck.datasets.load("card")
    spec = ck.ExperimentSpec(name="dml-iv", design="dml", outcome="lwage", treatment="educ",
                             covariates=CARD_X, instruments=["nearc4"], estimators=["iv"])
    (res,) = ck.estimate(card, spec)
    assert_allclose(res.estimate, 0.131504, rtol=1e-4)


def test_rows_dropped_are_recorded():
    df = _frame(seed=8)
    df.loc[[3, 10], "w"] = np.nan
    with pytest.warns(RowsDroppedWarning, match="dropped 2"):
        res = ck.estimate(df, _spec(na_action="drop"))
    assert res.n_dropped == 2 and res.n_obs == len(df) - 2


def test_plots_draw_for_every_kind():
    res = ck.estimate(_frame(seed=9), _spec())
    for kind in res.plot_kinds():
        assert len(res.plot(kind).data) > 0
    assert res.plot_kinds()[0] == "first_stage"


# ---------------------------------------------------------------------- errors
def test_instrument_also_a_covariate_is_rejected():
    with pytest.raises(SpecError, match="both in spec.instruments and spec.covariates"):
        ck.estimate(_frame(), _spec(instruments=["w"]))


def test_instrument_equal_to_a_covariate_by_value():
    df = _frame().assign(zcopy=lambda x: x["w"])
    with pytest.raises(DataError, match="'zcopy'.*linear combination of the covariates"):
        ck.estimate(df, _spec(instruments=["zcopy"]))


def test_constant_instrument():
    with pytest.raises(DataError, match="'k'.*is constant"):
        ck.estimate(_frame().assign(k=3.0), _spec(instruments=["k"]))


def test_fewer_instruments_than_endogenous():
    with pytest.raises(IdentificationError, match="under-identified: 2 endogenous"):
        ck.estimate(_frame(), _spec(endogenous=["d", "z2"], instruments=["z"]))


def test_perfectly_collinear_covariates_and_instruments():
    df = _frame().assign(w2=lambda x: 2 * x["w"] + 1, zz=lambda x: 3 * x["z"])
    with pytest.raises(DataError, match="'w2'.*perfectly collinear"):
        ck.estimate(df, _spec(covariates=["w", "w2"]))
    with pytest.raises(DataError, match="'zz'.*perfectly collinear"):
        ck.estimate(df, _spec(instruments=["z", "zz"]))


def test_instrument_with_nan():
    df = _frame()
    df.loc[5, "z"] = np.nan
    with pytest.raises(DataError, match=r"'z' \(spec.instruments\[0\]\) has 1 missing"):
        ck.estimate(df, _spec())


@pytest.mark.parametrize(
    "opts, match",
    [
        (dict(method="ols"), "'method' parameter of IV"),
        (dict(vcov="hc3"), "'vcov' parameter of IV"),
        (dict(vcov="cluster"), "needs spec.cluster"),
        (dict(debiased="yes"), "'debiased' parameter of IV"),
        (dict(engine="numpy", method="gmm"), "'engine' parameter of IV"),
        (dict(ar_grid={"points": 10}), "'ar_grid' parameter of IV"),
        (dict(tau=1.5), "'tau' parameter of IV"),
    ],
)
def test_bad_options(opts, match):
    with pytest.raises(SpecError, match=match):
        ck.estimate(_frame(n=300), _spec(), **opts)


def test_input_not_mutated_with_absorb_and_weights():
    df = _frame(seed=10)
    before = df.copy(deep=True)
    ck.estimate(df, _spec(weights="wt"), absorb="f")
    pd.testing.assert_frame_equal(df, before)


def test_mop_effective_degrees_of_freedom():
    from causal_kit.diagnostics.weak_iv import mop_critical_value

    # S proportional to the identity: K_eff equals the number of instruments
    for q in (1, 2, 4):
        crit, k_eff = mop_critical_value(3.0 * np.eye(q))
        assert_allclose(k_eff, q, rtol=1e-12)
    # one dominant direction: K_eff -> 1 and the critical value -> the one-instrument 23.1
    crit, k_eff = mop_critical_value(np.diag([1.0, 1e-9]))
    assert_allclose(k_eff, 1.0, rtol=1e-6)
    assert_allclose(crit, 23.1085, rtol=1e-4)
    # more balanced directions lower the critical value
    assert mop_critical_value(np.eye(3))[0] < mop_critical_value(np.diag([1.0, 0.2, 0.1]))[0] < crit


def test_clustered_first_stage_wald_matches_linearmodels():
    from linearmodels.iv import IV2SLS

    df = _frame(seed=11)
    res = ck.estimate(df, _spec(instruments=["z", "z2"], cluster="g"), vcov="cluster")
    lm = IV2SLS(df["y"], df[["w"]].assign(const=1.0), df[["d"]], df[["z", "z2"]]).fit(
        cov_type="clustered", clusters=df["g"])
    # linearmodels' clustered "f.stat" is the cluster-robust Wald chi2(q), not divided by q
    assert_allclose(res.details["robust_f"] * 2, float(lm.first_stage.diagnostics["f.stat"].iloc[0]), rtol=1e-8)
    assert_allclose(res.se, lm.std_errors["d"], rtol=1e-9)
    assert res.n_units == df["g"].nunique()
    assert "cluster-robust" in res.inference


def test_polars_input_gives_the_same_answer():
    pl = pytest.importorskip("polars", reason="polars is optional")
    df = _frame(seed=12)
    a = ck.estimate(df, _spec())
    b = ck.estimate(pl.from_pandas(df), _spec())
    assert_allclose(a.estimate, b.estimate, rtol=1e-12)


def test_kleibergen_paap_special_cases():
    from causal_kit.diagnostics.weak_iv import (
        Partialled,
        cragg_donald_f,
        first_stage,
        kleibergen_paap,
    )

    rng = np.random.default_rng(13)
    n = 800
    z = rng.normal(size=(n, 3))
    x = z[:, :2] @ np.array([[1.0, 0.2], [0.1, 0.3]]) + rng.normal(size=(n, 2)) * (1 + np.abs(z[:, :1]))
    d = Partialled(y=rng.normal(size=n), x=x, z=z, k_exog=0)
    # homoskedastic rk / q equals the Cragg-Donald F (n - k)
    assert_allclose(kleibergen_paap(d, homoskedastic=True)[0] / 3, cragg_donald_f(d), rtol=1e-10)
    # one endogenous regressor: rk equals the robust first-stage Wald statistic
    d1 = Partialled(y=d.y, x=x[:, :1], z=z, k_exog=0)
    rk, df, kp_f = kleibergen_paap(d1)
    _, summary = first_stage(d1)
    assert df == 3
    assert_allclose(rk, summary.loc[0, "robust_wald"], rtol=1e-10)
    assert_allclose(kp_f, summary.loc[0, "kp_f"], rtol=1e-10)


def test_irrelevant_instrument_reports_unbounded_ar_set_honestly():
    df = _frame(seed=14)
    df["z"] = np.random.default_rng(1).normal(size=len(df))  # unrelated to d
    res = ck.estimate(df, _spec())
    assert res.diagnostic("effective_f").status == "fail"
    assert res.details["ar_set_type"] in {"whole_line", "disjoint_rays"}
    assert res.diagnostic("anderson_rubin").status == "warn"
    assert "unbounded" in res.details["weak_iv_verdict"]
    again = ck.EffectEstimate.from_json(res.to_json())
    assert np.isinf(again.tables["ar_set"]["lower"].iloc[0])
    assert len(again.plot("anderson_rubin").data) > 0


def test_instrument_absorbed_by_fixed_effects():
    df = _frame(seed=15)
    df["zf"] = df["f"] * 0.5  # varies only between absorbed groups
    with pytest.raises(DataError, match="'zf'.*absorbed fixed effects"):
        ck.estimate(df, _spec(instruments=["zf"]), absorb="f")
