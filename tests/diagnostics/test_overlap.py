"""Overlap, balance, nuisance-fit, sensitivity and refutation diagnostics."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from causal_kit.diagnostics.overlap import (
    auc,
    nuisance_quality,
    propensity_overlap,
    weighted_balance,
)
from causal_kit.diagnostics.refute import run_refuters
from causal_kit.diagnostics.sensitivity import ovb_bias, ovb_sensitivity, robustness_value


def test_overlap_table_share_and_status():
    m = np.array([0.005, 0.2, 0.5, 0.7, 0.995, 0.4])
    d = np.array([0, 0, 1, 1, 1, 0])
    diag, table = propensity_overlap(m, d, 0.01)
    assert diag.statistic == pytest.approx(2 / 6)
    assert diag.status == "fail" and diag.assumption == "overlap"
    assert "2 of 6 rows" in diag.message and "trimmed" in diag.message
    assert table["treated"].sum() == 3 and table["control"].sum() == 3
    assert list(table.columns) == ["bin_low", "bin_high", "treated", "control"]
    ok, _ = propensity_overlap(np.full(200, 0.5), np.arange(200) % 2, 0.01)
    assert ok.status == "pass"


def test_auc_matches_sklearn():
    rng = np.random.default_rng(0)
    d = rng.integers(0, 2, 500)
    s = d + rng.normal(size=500)
    s[:20] = 0.3  # ties
    assert auc(d, s) == pytest.approx(roc_auc_score(d, s), rel=1e-12)


def test_weighted_balance_with_true_weights():
    rng = np.random.default_rng(1)
    n = 20000
    x = rng.normal(size=n)
    m = 1 / (1 + np.exp(-x))
    d = (rng.random(n) < m).astype(float)
    w = d / m + (1 - d) / (1 - m)
    diag, table = weighted_balance(x[:, None], ["x"], d, w)
    assert abs(table.loc[0, "smd_raw"]) > 0.3
    assert abs(table.loc[0, "smd_weighted"]) < 0.05
    assert diag.status == "pass" and diag.assumption == "balance"


def test_nuisance_quality_flags_bad_models():
    rng = np.random.default_rng(2)
    y = rng.normal(size=300)
    d = (rng.random(300) < 0.5).astype(float)
    dy, dd, table = nuisance_quality(y, -y, d, d * 0.98 + 0.01, binary=True)
    assert dy.status == "warn" and dd.status == "warn"
    assert list(table["metric"]) == ["R-squared", "AUC"]


def test_robustness_value_closed_form_and_bias():
    rv, rv_a = robustness_value(2.0, 0.5, sigma2=4.0, nu2=1.0)
    assert rv == pytest.approx((np.sqrt(5) - 1) / 2)
    # at cf = rv the bias bound equals |theta|; at rv_alpha it equals |theta| - z se
    assert ovb_bias(rv, rv, 4.0, 1.0) == pytest.approx(2.0)
    assert ovb_bias(rv_a, rv_a, 4.0, 1.0) == pytest.approx(2.0 - 1.959964 * 0.5, rel=1e-5)
    assert robustness_value(0.1, 1.0, 4.0, 1.0)[1] == 0.0


def test_ovb_sensitivity_table_and_status():
    diag, table, det = ovb_sensitivity(5.0, 0.5, sigma2=1.0, nu2=1.0)
    assert diag.assumption == "sensitivity" and diag.status == "pass"
    assert table.loc[0, "bias_bound"] == 0 and np.all(np.diff(table["bias_bound"]) > 0)
    assert det["robustness_value"] > det["robustness_value_alpha"] > 0.05


def _ols(X, y, d, w, c):
    A = np.column_stack([np.ones(len(y)), d, X])
    b, *_ = np.linalg.lstsq(A, y, rcond=None)
    r = y - A @ b
    cov = np.linalg.inv(A.T @ A) * (r @ r) / (len(y) - A.shape[1])
    return b[1], float(np.sqrt(cov[1, 1]))


def test_refuters_pass_for_a_correct_model_and_flag_a_leaky_one():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(2000, 2))
    d = rng.normal(size=2000) + X[:, 0]
    y = 2 * d + X[:, 0] + rng.normal(size=2000)
    diags, table = run_refuters(_ols, X, y, d, None, None, *_ols(X, y, d, None, None), seed=1)
    assert [x.status for x in diags] == ["pass", "pass", "pass"]
    assert list(table["refuter"]) == ["placebo_treatment", "random_common_cause", "data_subset"]

    def leaky(X, y, d, w, c):  # ignores the treatment it is given: a broken pipeline
        return _ols(X, y, np.asarray(y) - X[:, 0], w, c)

    diags, _ = run_refuters(leaky, X, y, d, None, None, *_ols(X, y, d, None, None), seed=1)
    assert diags[0].status == "warn"


def test_cheap_placebo_checks_calibration_of_many_permutations():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1000, 2))
    d = rng.normal(size=1000)
    y = d + rng.normal(size=1000)

    def placebo(dp, shrink):
        t, s = _ols(X, y, dp, None, None)
        return t, s * shrink

    est = _ols(X, y, d, None, None)
    good, table = run_refuters(_ols, X, y, d, None, None, *est, seed=2, placebo_fn=lambda dp: placebo(dp, 1.0))
    assert good[0].status == "pass" and table.loc[0, "p_value"] <= good[0].threshold
    bad, _ = run_refuters(_ols, X, y, d, None, None, *est, seed=2, placebo_fn=lambda dp: placebo(dp, 0.3))
    assert bad[0].status == "warn" and "too small" in bad[0].message
