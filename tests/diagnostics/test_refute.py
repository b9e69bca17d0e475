"""Refutation diagnostics: the DoWhy engine, its Diagnostics, and the engine option of DML."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pandas as pd
import pytest

from causal_kit import ExperimentSpec
from causal_kit.diagnostics.refute import run_dowhy_refuters
from causal_kit.errors import DiagnosticWarning, SpecError
from causal_kit.estimators.dml import DML

NAMES = ["refute_placebo_treatment", "refute_random_common_cause", "refute_data_subset"]
FAST = dict(learner_y="linear", learner_d="linear", n_folds=3, refute_simulations=3)


def simulate(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Binary treatment confounded by x0, true ATE 2."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    d = (rng.random(n) < 1 / (1 + np.exp(-x[:, 0]))).astype(float)
    y = 2.0 * d + x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "d": d, "x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2]})


def spec_for(**kw) -> ExperimentSpec:  # noqa: ANN003
    return ExperimentSpec(name="sim", design="dml", outcome="y", treatment="d",
                          covariates=["x0", "x1", "x2"], seed=3, **kw)


def ols(X, y, d, w, c):  # noqa: ANN001, ANN201
    A = np.column_stack([np.ones(len(y)), d, X])
    b, *_ = np.linalg.lstsq(A, y, rcond=None)
    r = y - A @ b
    cov = np.linalg.inv(A.T @ A) * (r @ r) / (len(y) - A.shape[1])
    return float(b[1]), float(np.sqrt(cov[1, 1]))


@pytest.fixture(scope="module")
def dml_fit():
    return DML(**FAST).fit(simulate(), spec_for())


def test_dowhy_refuters_on_dml_with_a_real_effect(dml_fit):
    r = dml_fit
    assert r.details["refute_engine"] == "dowhy"
    assert abs(r.estimate - 2.0) < 4 * r.se
    table = r.tables["refutation"].set_index("refuter")
    k = 3
    # placebo: a permuted treatment has no effect; the mean of k refits has SD about se / sqrt(k),
    # so 4 of those SDs is a tolerance that a real effect of 2 (about 25 SEs) cannot pass
    placebo = table.loc["placebo_treatment"]
    assert abs(placebo["new_estimate"]) < 4 * placebo["new_se"] / np.sqrt(k)
    assert abs(placebo["new_estimate"]) < 0.2 * r.estimate
    # an independent random covariate leaves the estimate within one original SE
    assert abs(table.loc["random_common_cause", "new_estimate"] - r.estimate) < r.se
    # 80% subsets: null SD of the mean difference is se * sqrt((1/0.8 - 1) / k)
    assert abs(table.loc["data_subset", "new_estimate"] - r.estimate) < 4 * r.se * np.sqrt(0.25 / k)
    assert [r.diagnostic(n).status for n in NAMES] == ["pass", "pass", "pass"]
    assert (table["n_simulations"] == k).all()


def test_diagnostic_shape(dml_fit):
    r = dml_fit
    table = r.tables["refutation"]
    assert list(table.columns) == ["refuter", "original_estimate", "new_estimate", "new_se", "expected",
                                   "p_value", "n_simulations"]
    assert list(table["refuter"]) == ["placebo_treatment", "random_common_cause", "data_subset"]
    for name, row in zip(NAMES, table.itertuples()):
        diag = r.diagnostic(name)
        assert diag.assumption == "sensitivity"
        assert diag.status in {"pass", "warn", "fail"}
        assert diag.statistic == pytest.approx(row.new_estimate)  # statistic = DoWhy's new effect
        assert isinstance(diag.p_value, float) and 0.0 <= diag.p_value <= 1.0  # DoWhy's significance test
        assert diag.p_value == pytest.approx(row.p_value)
        assert diag.threshold > 0
        assert diag.message.endswith(".") and diag.message.count(". ") == 0 and "DoWhy p = " in diag.message
    assert table.loc[0, "expected"] == 0.0 and table.loc[1, "expected"] == r.estimate
    # the refutation table and diagnostics survive the JSON round trip
    back = type(r).from_json(r.to_json())
    assert back.diagnostic("refute_placebo_treatment") == r.diagnostic("refute_placebo_treatment")
    pd.testing.assert_frame_equal(back.tables["refutation"], table, check_dtype=False)


def test_dowhy_refits_the_callers_estimator_on_perturbed_data():
    rng = np.random.default_rng(1)
    n, k = 300, 2
    X = rng.normal(size=(n, 2))
    d = rng.normal(size=n) + X[:, 0]
    y = 1.5 * d + X[:, 0] + rng.normal(size=n)
    w = rng.uniform(0.5, 1.5, size=n)
    groups = np.arange(n) % 30
    calls = []

    def fn(Xa, ya, da, wa, ca):  # noqa: ANN001, ANN202
        calls.append((Xa.copy(), ya.copy(), da.copy(), wa.copy(), ca.copy()))
        return ols(Xa, ya, da, wa, ca)

    theta, se = ols(X, y, d, w, groups)
    diags, table = run_dowhy_refuters(fn, X, y, d, w, groups, theta, se, seed=5, n_simulations=k)
    assert len(calls) == 3 * k  # k refits per refuter, none for the original estimate
    for Xa, _, da, _, _ in calls[:k]:  # placebo: same rows, treatment permuted
        np.testing.assert_array_equal(Xa, X)
        np.testing.assert_array_equal(np.sort(da), np.sort(d))
        assert not np.array_equal(da, d)
    for Xa, _, da, _, _ in calls[k:2 * k]:  # random common cause: original features first, in order
        assert Xa.shape == (n, 3)
        np.testing.assert_array_equal(Xa[:, :2], X)
        np.testing.assert_array_equal(da, d)
    for _, ya, _, wa, ca in calls[2 * k:]:  # data subset: 80% of rows, weights and clusters aligned
        assert len(ya) == len(wa) == len(ca) == round(0.8 * n)
        idx = np.array([np.flatnonzero(y == v)[0] for v in ya])
        np.testing.assert_array_equal(wa, w[idx])
        np.testing.assert_array_equal(ca, groups[idx])
    assert "fail" not in [x.status for x in diags]  # a correct estimator (each check misses alpha by chance)
    # seeded: a second run draws the same permutations, covariates and subsets
    _, again = run_dowhy_refuters(ols, X, y, d, w, groups, theta, se, seed=5, n_simulations=k)
    pd.testing.assert_frame_equal(again, table)


def test_leaky_estimator_fails_the_placebo():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 2))
    d = rng.normal(size=400)
    y = 2 * d + X[:, 0] + rng.normal(size=400)

    def leaky(Xa, ya, da, wa, ca):  # noqa: ANN001, ANN202
        return ols(Xa, ya, d[: len(ya)], wa, ca)  # ignores the treatment it is given

    diags, _ = run_dowhy_refuters(leaky, X, y, d, None, None, *ols(X, y, d, None, None), seed=1, n_simulations=2)
    placebo = diags[0]
    assert placebo.status == "fail"
    assert placebo.statistic == pytest.approx(2.0, abs=0.2)
    assert "leakage" in placebo.message


def test_a_refuter_that_cannot_run_is_reported_not_hidden():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 2))
    d = rng.normal(size=200)
    y = d + rng.normal(size=200)

    def fragile(Xa, ya, da, wa, ca):  # noqa: ANN001, ANN202
        if len(ya) < 200:
            raise RuntimeError("too few rows for the learner")
        return ols(Xa, ya, da, wa, ca)

    with pytest.warns(DiagnosticWarning, match=r"data_subset_refuter could not run \(RuntimeError: too few rows"):
        diags, table = run_dowhy_refuters(fragile, X, y, d, None, None, *ols(X, y, d, None, None), seed=0)
    assert [x.status for x in diags[:2]] == ["pass", "pass"]
    assert diags[2].status == "warn" and "RuntimeError: too few rows for the learner" in diags[2].message
    assert np.isnan(table.loc[2, "new_estimate"])


def test_dowhy_noise_is_silenced_locally(caplog):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 2))
    d = rng.normal(size=200)
    y = d + rng.normal(size=200)
    logger = logging.getLogger("dowhy")
    level, hook = logger.level, sys.displayhook
    with caplog.at_level(logging.INFO):
        run_dowhy_refuters(ols, X, y, d, None, None, *ols(X, y, d, None, None), seed=0)
    assert not [rec for rec in caplog.records if rec.name.startswith("dowhy")]
    assert logger.level == level  # the logger is restored: nothing changed globally
    assert sys.displayhook is hook  # DoWhy's sympy.init_printing() on import is undone


def test_native_engine_and_option_validation():
    df = simulate(600)
    r = DML(**FAST, refute_engine="native").fit(df, spec_for())
    assert r.details["refute_engine"] == "native"
    assert [d.name for d in r.diagnostics if d.name.startswith("refute_")] == NAMES
    with pytest.raises(SpecError, match=r"The 'refute_engine' parameter of DML must be one of 'dowhy', "
                                        r"'native'\. Got 'econml' instead\."):
        DML(refute_engine="econml").fit(df, spec_for())
    with pytest.raises(SpecError, match=r"The 'refute_simulations' parameter of DML must be an int >= 1\. "
                                        r"Got 0 instead\."):
        DML(refute_simulations=0).fit(df, spec_for())
