"""Surrogate index: inputs, options, named errors, diagnostics and simulations with a known effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_surrogate_experiment
from causal_kit.datasets.surrogate_sim import true_long_term_effect
from causal_kit.errors import DataError, IdentificationError, RowsDroppedWarning, SpecError
from causal_kit.estimators import _surrogate_core as core
from causal_kit.estimators.surrogate import SurrogateIndex

SURR = ["s1", "s2", "s3", "s4"]


def _spec(**extra):
    fields = dict(name="s", design="surrogate", treatment="treatment", surrogates=SURR, long_term_outcome="y",
                  sample="sample")
    fields.update(extra)
    return ck.ExperimentSpec(**fields)


def _two(df):
    return {"experiment": df[df["sample"] == "experiment"].drop(columns="sample"),
            "observational": df[df["sample"] == "observational"].drop(columns=["sample", "treatment"])}


@pytest.fixture(scope="module")
def sim():
    return ck.datasets.load("surrogate_sim")


def test_one_frame_and_two_frames_agree(sim):
    one = ck.estimate(sim, _spec())
    two = ck.estimate(_two(sim), _spec(sample=None))
    assert one.estimate == pytest.approx(two.estimate, rel=1e-12)
    assert one.se == pytest.approx(two.se, rel=1e-12)
    assert one.n_obs == len(sim)


def test_input_not_mutated(sim):
    frames = _two(sim)
    before = {k: v.copy(deep=True) for k, v in frames.items()}
    ck.estimate(frames, _spec(sample=None, covariates=["x"]))
    for k in frames:
        pd.testing.assert_frame_equal(frames[k], before[k])


def test_influence_se_adds_the_index_term(sim):
    res = ck.estimate(sim, _spec(covariates=["x"]))
    inf = res.tables["inference"].set_index("se_type")["se"]
    conditional = inf["conditional on the index, robust HC2"]
    assert res.se > conditional  # estimating the index adds variance
    assert bool(res.tables["inference"]["headline"].iloc[2])
    assert res.details["se_conditional"] == pytest.approx(conditional)


def test_lin_equals_difference_without_covariates(sim):
    lin = SurrogateIndex(adjust="lin").fit(sim, _spec())
    diff = SurrogateIndex(adjust="difference").fit(sim, _spec())
    assert lin.estimate == pytest.approx(diff.estimate, rel=1e-10)


def test_bootstrap_is_seeded_and_close_to_influence(sim):
    a = SurrogateIndex(se="bootstrap", n_boot=300).fit(sim, _spec(covariates=["x"]))
    b = SurrogateIndex(se="bootstrap", n_boot=300).fit(sim, _spec(covariates=["x"]))
    assert a.se == b.se
    assert a.se == pytest.approx(a.details["se_influence"], rel=0.15)


def test_block_bootstrap_matches_row_bootstrap_variance():
    # many rows -> random blocks; the variance must match the analytic one (iid rows)
    rng = np.random.default_rng(3)
    n = 30_000
    S = rng.normal(size=(n, 2))
    W = np.column_stack([np.ones(n), S])
    y = S @ [1.0, 0.5] + rng.normal(size=n)
    t = rng.integers(0, 2, n)
    We = np.column_stack([np.ones(n), S + 0.2 * t[:, None]])
    draws = core.block_bootstrap(W, y, We, t, None, 400, seed=1)
    c = core.contrast(t)
    beta, WtW_inv, resid = core.ols(W, y)
    v = core.contrast_variance(c, We @ beta)["robust"] + core.index_variance(We.T @ c.a, W, WtW_inv, resid)
    assert np.std(draws, ddof=1) == pytest.approx(np.sqrt(v), rel=0.12)


def test_cluster_se_runs(sim):
    df = sim.assign(cluster=np.arange(len(sim)) // 2)
    res = ck.estimate(df, _spec(cluster="cluster"))
    assert "cluster-robust" in " ".join(res.tables["inference"]["se_type"])
    assert res.se > 0
    boot = SurrogateIndex(se="bootstrap", n_boot=400).fit(df, _spec(cluster="cluster", covariates=["x"]))
    assert boot.se == pytest.approx(boot.details["se_influence"], rel=0.15)


def test_learned_index_is_cross_fitted(sim):
    from sklearn.linear_model import LinearRegression

    ols = ck.estimate(sim, _spec())
    lin = SurrogateIndex(learner=LinearRegression()).fit(sim, _spec())
    assert lin.estimate == pytest.approx(ols.estimate, rel=0.02)  # each row scored by one of 5 fold fits
    assert lin.details["learner"] == "LinearRegression"
    assert "index_weights" not in lin.tables
    hgb = SurrogateIndex(learner="hgb", n_folds=3).fit(sim, _spec())
    assert 0 < hgb.details["oof_r2"] < 1
    assert abs(hgb.estimate - true_long_term_effect()) < 4 * hgb.se


def test_horizons_give_projection_table(sim):
    df = sim.assign(y2=sim["y"] * 0.5)
    res = SurrogateIndex(horizons={1: "y", 2: "y2"}).fit(df, _spec())
    proj = res.tables["projections"]
    assert proj["horizon"].tolist() == [1.0, 2.0]
    assert proj["estimate"].iloc[1] == pytest.approx(0.5 * proj["estimate"].iloc[0], rel=1e-10)


# ---------------------------------------------------------------------- named errors
def test_no_overlap_in_a_surrogate(sim):
    df = sim.copy()
    df.loc[df["sample"] == "experiment", "s2"] += 100.0
    with pytest.raises(IdentificationError, match=r"'s2' \(spec.surrogates\[1\]\) has no overlap"):
        ck.estimate(df, _spec())


def test_surrogate_missing_from_one_sample(sim):
    frames = _two(sim)
    frames["observational"] = frames["observational"].drop(columns="s3")
    with pytest.raises(DataError, match=r"'s3' \(spec.surrogates\[2\]\) is missing from the observational sample"):
        ck.estimate(frames, _spec(sample=None))


def test_long_term_outcome_present_but_declared_absent():
    df = simulate_surrogate_experiment(n_experiment=200, n_observational=300, validation_share=0.3, seed=1)
    with pytest.raises(DataError, match=r"validation=False declares it absent"):
        SurrogateIndex(validation=False).fit(df, _spec())
    with pytest.raises(DataError, match=r"validation=True needs the long-term outcome"):
        SurrogateIndex(validation=True).fit(ck.datasets.load("surrogate_sim"), _spec())


def test_fewer_observational_rows_than_terms(sim):
    frames = _two(sim)
    frames["observational"] = frames["observational"].head(4)
    with pytest.raises(IdentificationError, match=r"observational sample has 4 rows but the surrogate model has 5"):
        ck.estimate(frames, _spec(sample=None))


def test_treated_rows_in_observational_sample_are_flagged(sim):
    df = sim.copy()
    df.loc[df.index[df["sample"] == "observational"][:50], "treatment"] = 1
    res = ck.estimate(df, _spec())
    diag = res.diagnostic("observational_treated")
    assert diag.status == "warn" and "50 of 2000" in diag.message


def test_constant_surrogate_in_observational_sample(sim):
    df = sim.copy()
    df.loc[df["sample"] == "observational", "s1"] = 0.0
    with pytest.raises(IdentificationError, match=r"'s1' \(spec.surrogates\[0\]\) takes the single value"):
        ck.estimate(df, _spec())


def test_input_shape_errors(sim):
    with pytest.raises(SpecError, match=r"got the keys \['exp', 'observational'\]"):
        ck.estimate({"exp": sim, "observational": sim}, _spec(sample=None))
    with pytest.raises(SpecError, match=r"set spec.sample to it"):
        ck.estimate(sim, _spec(sample=None))
    with pytest.raises(DataError, match=r"3 rows that are neither 'experiment'"):
        ck.estimate(sim.assign(sample=sim["sample"].where(sim.index > 2, "other")), _spec())
    ab = ck.ExperimentSpec(name="a", design="ab", outcome="y", treatment="treatment")
    with pytest.raises(SpecError, match=r"only read by design 'surrogate'"):
        ck.estimate({"experiment": sim, "observational": sim}, ab)
    with pytest.raises(SpecError, match=r"design 'surrogate' needs the role\(s\) 'long_term_outcome'"):
        ck.ExperimentSpec(name="s", design="surrogate", treatment="t", surrogates=["a"])


def test_missing_values(sim):
    df = sim.copy()
    df.loc[[0, 1], "s1"] = np.nan
    with pytest.raises(DataError, match=r"'s1' \(spec.surrogates\[0\]\) has 2 missing values in the experiment"):
        ck.estimate(df, _spec())
    with pytest.warns(RowsDroppedWarning, match=r"dropped 2 of 3000 rows"):
        res = ck.estimate(df, _spec(na_action="drop"))
    assert res.n_dropped == 2


def test_bad_options(sim):
    with pytest.raises(SpecError, match=r"'se' parameter of SurrogateIndex must be one of"):
        SurrogateIndex(se="sandwich").fit(sim, _spec())
    with pytest.raises(SpecError, match=r"se='bootstrap' refits the OLS index"):
        SurrogateIndex(se="bootstrap", learner="hgb").fit(sim, _spec())
    with pytest.raises(SpecError, match=r"'bias_k' parameter"):
        SurrogateIndex(bias_k=(5,)).fit(sim, _spec())


# ---------------------------------------------------------------------- simulations
def _draw_ci_hits(seed: int, n_exp: int, n_obs: int) -> tuple[bool, bool, float]:
    """One seeded draw: (influence CI covers, conditional CI covers, estimate) via the estimator's own core."""
    df = simulate_surrogate_experiment(n_experiment=n_exp, n_observational=n_obs, n_surrogates=3,
                                       surrogate_effect=0.5, noise=2.0, seed=seed)
    exp, obs = df.iloc[:n_exp], df.iloc[n_exp:]
    cols = ["s1", "s2", "s3", "x"]
    W_o = np.column_stack([np.ones(n_obs), obs[cols].to_numpy()])
    W_e = np.column_stack([np.ones(n_exp), exp[cols].to_numpy()])
    c = core.contrast(exp["treatment"].to_numpy(), exp[["x"]].to_numpy())
    beta, WtW_inv, resid = core.ols(W_o, obs["y"].to_numpy())
    index = W_e @ beta
    tau = float(c.a @ index)
    v_cond = core.contrast_variance(c, index)["robust"]
    v_inf = v_cond + core.index_variance(W_e.T @ c.a, W_o, WtW_inv, resid)
    truth = true_long_term_effect(3, 0.5)
    return abs(tau - truth) < 1.959964 * np.sqrt(v_inf), abs(tau - truth) < 1.959964 * np.sqrt(v_cond), tau


def test_core_matches_estimator():
    df = simulate_surrogate_experiment(n_experiment=1000, n_observational=300, n_surrogates=3,
                                       surrogate_effect=0.5, noise=2.0, seed=7)
    res = ck.estimate(df, _spec(surrogates=["s1", "s2", "s3"], covariates=["x"]))
    *_, tau = _draw_ci_hits(7, 1000, 300)
    assert res.estimate == pytest.approx(tau, rel=1e-10)


@pytest.mark.slow
def test_coverage_influence_se_and_undercoverage_of_conditional_se():
    # 1,000 seeded draws; experiment 1,000 rows, observational 300 rows (the index is noisy)
    hits = np.array([_draw_ci_hits(seed, 1000, 300) for seed in range(1000)])
    cover_inf, cover_cond = hits[:, 0].mean(), hits[:, 1].mean()
    bias = hits[:, 2].mean() - true_long_term_effect(3, 0.5)
    assert 0.935 <= cover_inf <= 0.965, cover_inf
    assert cover_cond < 0.925, cover_cond  # ignoring the estimated index under-covers (about 90% here)
    assert abs(bias) < 0.02


def test_surrogacy_violation_is_flagged():
    spec = _spec(covariates=["x"])
    bad = simulate_surrogate_experiment(n_experiment=2000, surrogate_effect=0.05, direct_effect=0.5,
                                        validation_share=0.5, seed=11)
    res = ck.estimate(bad, spec)
    assert res.diagnostic("surrogate_validation").status == "fail"
    assert res.diagnostic("surrogacy_bias_bound_5pct").status == "warn"
    good = simulate_surrogate_experiment(n_experiment=2000, surrogate_effect=0.5, validation_share=0.5, seed=11)
    res = ck.estimate(good, spec)
    assert res.diagnostic("surrogate_validation").status == "pass"
    assert res.diagnostic("surrogacy_bias_bound_5pct").status == "pass"
    assert abs(res.estimate - true_long_term_effect(4, 0.5)) < 3 * res.se


def test_comparability_shift_is_flagged():
    df = simulate_surrogate_experiment(n_experiment=1000, n_observational=2000, shift=1.0, seed=2)
    res = ck.estimate(df, _spec(covariates=["x"]))
    assert res.diagnostic("comparability_smd").status == "fail"
    assert res.diagnostic("comparability_auc").status in {"warn", "fail"}


@pytest.mark.slow
def test_cli_reads_the_observational_sample(tmp_path, sim):
    import subprocess
    import sys

    frames = _two(sim)
    frames["experiment"].to_csv(tmp_path / "exp.csv", index=False)
    frames["observational"].to_csv(tmp_path / "obs.csv", index=False)
    (tmp_path / "spec.yaml").write_text(_spec(sample=None).to_yaml())
    proc = subprocess.run(
        [sys.executable, "-m", "causal_kit.cli", "--no-registry", "--json", "estimate", str(tmp_path / "spec.yaml"),
         "--data", str(tmp_path / "exp.csv"), "--observational", str(tmp_path / "obs.csv"),
         "--json-out", str(tmp_path / "r.json")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = ck.EffectEstimate.from_json((tmp_path / "r.json").read_text())
    assert result.estimate == pytest.approx(ck.estimate(frames, _spec(sample=None)).estimate, rel=1e-9)


def _write_two(tmp_path, sim):
    frames = _two(sim)
    frames["experiment"].to_csv(tmp_path / "exp.csv", index=False)
    frames["observational"].to_csv(tmp_path / "obs.csv", index=False)
    return frames


def test_data_block_names_the_observational_file(tmp_path, sim):
    from causal_kit import io

    frames = _write_two(tmp_path, sim)
    spec = _spec(sample=None, data={"path": "exp.csv", "observational": "obs.csv"})
    loaded = io.load(spec=spec, base_dir=tmp_path)
    assert set(loaded) == {"experiment", "observational"}
    assert len(loaded["observational"]) == len(frames["observational"])
    assert ck.estimate(loaded, spec).estimate == pytest.approx(ck.estimate(frames, spec).estimate, rel=1e-9)


def test_data_block_observational_errors(tmp_path, sim):
    from causal_kit import io

    _write_two(tmp_path, sim)
    missing = _spec(sample=None, data={"path": "exp.csv", "observational": "nope.csv"})
    with pytest.raises(DataError, match=r"observational data file .*nope.csv.*\(spec.data.observational\) does not exist"):
        io.load(spec=missing, base_dir=tmp_path)
    with pytest.raises(SpecError, match=r"data.observational .* only design 'surrogate' uses.*got design 'ab'"):
        ck.ExperimentSpec(name="a", design="ab", outcome="y", treatment="treatment",
                          data={"path": "exp.csv", "observational": "obs.csv"})


@pytest.mark.slow
def test_cli_reads_the_data_block_with_two_sources(tmp_path, sim):
    import subprocess
    import sys

    frames = _write_two(tmp_path, sim)
    spec = _spec(sample=None, data={"path": "exp.csv", "observational": "obs.csv"})
    (tmp_path / "spec.yaml").write_text(spec.to_yaml())
    proc = subprocess.run(
        [sys.executable, "-m", "causal_kit.cli", "--no-registry", "--json", "estimate", str(tmp_path / "spec.yaml"),
         "--json-out", str(tmp_path / "r.json")],
        capture_output=True, text=True, check=False, cwd=tmp_path.parent,
    )
    assert proc.returncode == 0, proc.stderr
    result = ck.EffectEstimate.from_json((tmp_path / "r.json").read_text())
    assert result.estimate == pytest.approx(ck.estimate(frames, _spec(sample=None)).estimate, rel=1e-9)


def test_report_has_the_long_term_section(sim):
    html = ck.report.render(ck.estimate(sim, _spec()))
    assert "<h2>Long-term effect</h2>" in html
    assert "long-term: surrogate index" in html and "<em>surrogacy</em>" in html


@pytest.mark.slow
def test_bootstrap_coverage():
    # 1,000 seeded draws of the same design as the influence-function coverage test; 200 bootstrap draws each
    truth = true_long_term_effect(3, 0.5)
    hits = []
    for seed in range(1000):
        df = simulate_surrogate_experiment(n_experiment=1000, n_observational=300, n_surrogates=3,
                                           surrogate_effect=0.5, noise=2.0, seed=seed)
        exp, obs = df.iloc[:1000], df.iloc[1000:]
        cols = ["s1", "s2", "s3", "x"]
        W_o = np.column_stack([np.ones(300), obs[cols].to_numpy()])
        W_e = np.column_stack([np.ones(1000), exp[cols].to_numpy()])
        t, X = exp["treatment"].to_numpy(), exp[["x"]].to_numpy()
        beta, *_ = core.ols(W_o, obs["y"].to_numpy())
        tau = float(core.contrast(t, X).a @ (W_e @ beta))
        se = np.std(core.block_bootstrap(W_o, obs["y"].to_numpy(), W_e, t, X, 200, seed), ddof=1)
        hits.append(abs(tau - truth) < 1.959964 * se)
    coverage = float(np.mean(hits))
    assert 0.935 <= coverage <= 0.965, coverage


@pytest.mark.slow
def test_learned_index_se_sanity():
    # the learned-index path (cross-fitted, each experiment row scored by one fold model) with a linear
    # learner: 400 seeded draws, so this is a sanity band (MCSE ~1.1%), not the 1,000-draw coverage test
    from sklearn.linear_model import LinearRegression

    spec = _spec(surrogates=["s1", "s2", "s3"], covariates=["x"])  # x confounds S and y: it must be in the model
    hits = []
    for seed in range(400):
        df = simulate_surrogate_experiment(n_experiment=1000, n_observational=300, n_surrogates=3,
                                           surrogate_effect=0.5, noise=2.0, seed=seed)
        res = SurrogateIndex(learner=LinearRegression(), n_folds=2).fit(df, spec)
        hits.append(res.ci[0] <= true_long_term_effect(3, 0.5) <= res.ci[1])
    assert 0.92 <= float(np.mean(hits)) <= 0.98, float(np.mean(hits))
