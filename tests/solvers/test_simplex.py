"""Simplex-constrained least-squares solvers: agreement, masks, batching, SDID weight functions."""

from __future__ import annotations

import numpy as np
import pytest

from causal_kit.solvers import simplex as S
from causal_kit.solvers import simplex_kernels as K


@pytest.fixture
def problem():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(15, 9))
    Y = rng.normal(size=(25, 15))
    return X, Y


def _objective(X, y, w, ridge=0.0):
    r = X @ w - y
    return float(r @ r + ridge * w @ w)


def test_solvers_agree(problem):
    X, Y = problem
    exact = S.simplex_weights(X, Y, method="active_set")
    pgd = S.simplex_weights(X, Y, method="pgd", tol=1e-12, max_iter=50_000)
    assert np.allclose(exact.sum(axis=1), 1.0) and (exact >= 0).all()
    np.testing.assert_allclose(pgd, exact, atol=1e-5)
    fw = S.simplex_weights(X, Y[:3], method="frank_wolfe", tol=1e-12, max_iter=20_000)
    for b in range(3):
        # Frank-Wolfe converges sublinearly (O(1/t)): within 1e-3 of the optimum at 20,000 steps
        assert _objective(X, Y[b], fw[b]) <= _objective(X, Y[b], exact[b]) + 1e-3
        assert _objective(X, Y[b], fw[b]) >= _objective(X, Y[b], exact[b]) - 1e-9


def test_ridge_and_kkt(problem):
    X, Y = problem
    w = S.simplex_weights(X, Y[0], ridge=2.0)
    grad = 2 * (X.T @ (X @ w - Y[0]) + 2.0 * w)
    active = w > 1e-9
    # KKT: equal gradient on the support, no smaller gradient off it
    assert np.ptp(grad[active]) < 1e-5
    assert grad[~active].min() >= grad[active].max() - 1e-5


def test_mask_forces_zero(problem):
    X, Y = problem
    mask = np.ones((25, 9), dtype=bool)
    mask[:, 0] = False
    mask[3, :4] = False
    for method in ("active_set", "pgd"):
        W = S.simplex_weights(X, Y, mask=mask, method=method)
        assert np.all(W[~mask] == 0.0)
        np.testing.assert_allclose(W.sum(axis=1), 1.0)


def test_project_simplex():
    v = np.array([[3.0, 1.0, -2.0], [0.2, 0.2, 0.2]])
    p = S.project_simplex(v)
    np.testing.assert_allclose(p, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])


def test_frank_wolfe_numpy_fallback_matches_compiled(problem, monkeypatch):
    X, Y = problem
    x0 = np.full((4, 9), 1 / 9)
    compiled, n1 = S.frank_wolfe(X, Y[:4], 0.5, x0=x0, min_decrease=1e-9, max_iter=3000)
    monkeypatch.setattr(K, "_KERNEL", [None])
    plain, n2 = S.frank_wolfe(X, Y[:4], 0.5, x0=x0, min_decrease=1e-9, max_iter=3000)
    np.testing.assert_allclose(compiled, plain, atol=1e-9)
    np.testing.assert_array_equal(n1, n2)


def test_sdid_weight_functions_batch_equals_single(problem):
    rng = np.random.default_rng(5)
    Y0 = rng.normal(size=(12, 7)).cumsum(axis=1)
    targets = rng.normal(size=(3, 7)).cumsum(axis=1)
    batch = S.sdid_unit_weights(Y0, targets, zeta=0.3)
    for b in range(3):
        np.testing.assert_allclose(batch[b], S.sdid_unit_weights(Y0, targets[b], zeta=0.3), atol=1e-12)
    post = rng.normal(size=12)
    keep = np.ones((2, 12), dtype=bool)
    keep[1, 4] = False
    lam = S.sdid_time_weights(Y0, post, zeta=1e-3, row_mask=keep)
    np.testing.assert_allclose(lam[0], S.sdid_time_weights(Y0, post, zeta=1e-3), atol=1e-12)
    sub = np.delete(np.arange(12), 4)
    np.testing.assert_allclose(lam[1], S.sdid_time_weights(Y0[sub], post[sub], zeta=1e-3), atol=1e-10)
    assert S.sdid_noise_level(Y0) == pytest.approx(np.std(np.diff(Y0, axis=1), ddof=1))
