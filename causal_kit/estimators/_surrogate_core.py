"""Numerical core of the surrogate index: contrasts, influence functions and a block bootstrap.

Plain numpy functions on arrays, used by :mod:`causal_kit.estimators.surrogate`:

* :func:`contrast` turns the treatment (and covariates, for Lin's regression adjustment) into
  weights ``a`` with ``tau = a @ v`` for any per-row vector ``v`` of the experiment;
* :func:`contrast_variance` is the variance of ``a @ v`` *given* ``v`` (classical, HC2 or CR1);
* :func:`index_variance` adds the observational sample's part: the influence of estimating the
  index, ``d' (W'W)^-1 w_j e_j`` for each observational row ``j`` with ``d = W_E' a``;
* :func:`block_bootstrap` resamples both samples (each arm separately) and refits the OLS index
  in every draw through sufficient statistics of random blocks, so 200 draws on a million rows
  cost a few matrix products.

The influence-function variance is exact for the OLS index (the delta method on
``tau = d' beta``); for a learned index it uses the same linear weights on the out-of-fold
residuals, which is a first-order approximation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Contrast", "contrast", "contrast_variance", "index_variance", "ols", "block_bootstrap",
           "r2", "oof_ols"]

MAX_BLOCKS = 5000  # bootstrap blocks per sample (rows when fewer); block sums keep the draws cheap


@dataclass(frozen=True)
class Contrast:
    """``tau = a @ v``: the treatment coefficient of an OLS of ``v`` on ``Z`` (first column 1, second T)."""

    a: np.ndarray
    Z: np.ndarray
    ZtZ_inv: np.ndarray
    leverage: np.ndarray


def contrast(t: np.ndarray, X: np.ndarray | None = None) -> Contrast:
    """Difference in means (``X`` None) or Lin's fully interacted adjustment on centred ``X``."""
    t = t.astype(float)
    if X is None or X.shape[1] == 0:
        Z = np.column_stack([np.ones(len(t)), t])
    else:
        Xc = X - X.mean(axis=0)
        Z = np.column_stack([np.ones(len(t)), t, Xc, Xc * t[:, None]])
    ZtZ_inv = np.linalg.inv(Z.T @ Z)
    a = Z @ ZtZ_inv[1]
    leverage = np.einsum("ij,jk,ik->i", Z, ZtZ_inv, Z)
    return Contrast(a=a, Z=Z, ZtZ_inv=ZtZ_inv, leverage=leverage)


def _clustered(scores: np.ndarray, clusters: np.ndarray, n: int, k: int) -> float:
    _, codes = np.unique(clusters, return_inverse=True)
    sums = np.bincount(codes, weights=scores)
    g = len(sums)
    return float(g / max(g - 1, 1) * (n - 1) / max(n - k, 1) * sums @ sums)


def contrast_variance(c: Contrast, v: np.ndarray, clusters: np.ndarray | None = None) -> dict[str, float]:
    """Variance of ``c.a @ v`` treating ``v`` as data: ``classical`` (OLS) and ``robust`` (HC2 or CR1)."""
    resid = v - c.Z @ (c.ZtZ_inv @ (c.Z.T @ v))
    n, k = c.Z.shape
    classical = float(resid @ resid / (n - k) * c.ZtZ_inv[1, 1])
    scores = c.a * resid
    if clusters is not None:
        robust = _clustered(scores, clusters, n, k)
    else:
        robust = float(np.sum(scores**2 / np.clip(1.0 - c.leverage, 1e-12, None)))
    return {"classical": classical, "robust": robust}


def ols(W: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS coefficients, ``(W'W)^-1`` and residuals (``W`` holds the intercept column)."""
    WtW_inv = np.linalg.inv(W.T @ W)
    beta = WtW_inv @ (W.T @ y)
    return beta, WtW_inv, y - W @ beta


def index_variance(d: np.ndarray, W: np.ndarray, WtW_inv: np.ndarray, resid: np.ndarray,
                   clusters: np.ndarray | None = None) -> float:
    """Variance of ``d' beta_hat`` from the observational rows (HC2, or CR1 with clusters)."""
    lin = W @ (WtW_inv @ d)
    scores = lin * resid
    if clusters is not None:
        return _clustered(scores, clusters, *W.shape)
    leverage = np.einsum("ij,jk,ik->i", W, WtW_inv, W)
    return float(np.sum(scores**2 / np.clip(1.0 - leverage, 1e-12, None)))


def r2(y: np.ndarray, fitted: np.ndarray) -> float:
    """``1 - SSR / SST`` of predictions ``fitted`` of ``y``."""
    dev = y - y.mean()
    return float(1.0 - np.sum((y - fitted) ** 2) / np.sum(dev**2))


def oof_ols(W: np.ndarray, y: np.ndarray, folds: np.ndarray, n_folds: int) -> np.ndarray:
    """Out-of-fold OLS predictions of ``y`` (from the sufficient statistics of the other folds)."""
    pred = np.empty(len(y))
    WtW = W.T @ W
    Wty = W.T @ y
    for k in range(n_folds):
        m = folds == k
        Wk = W[m]
        beta = np.linalg.solve(WtW - Wk.T @ Wk, Wty - Wk.T @ y[m])
        pred[m] = Wk @ beta
    return pred


def _blocks(n: int, rng: np.random.Generator, clusters: np.ndarray | None) -> tuple[np.ndarray, int]:
    """Block label of each row: clusters, single rows, or random blocks of equal size."""
    if clusters is not None:
        _, codes = np.unique(clusters, return_inverse=True)
        return codes, int(codes.max()) + 1
    g = min(n, MAX_BLOCKS)
    return rng.permutation(np.arange(n) % g), g


def _block_cross(U: np.ndarray, V: np.ndarray, labels: np.ndarray, g: int) -> np.ndarray:
    """Per-block ``U_b' V_b``, shape (g, u, v), for ``labels`` in 0..g-1."""
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=g)
    if counts.min() == counts.max():  # equal blocks: one batched product
        m = counts[0]
        Us, Vs = U[order].reshape(g, m, -1), V[order].reshape(g, m, -1)
        return np.einsum("gmi,gmj->gij", Us, Vs)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    outer = np.einsum("ni,nj->nij", U[order], V[order]).reshape(len(U), -1)
    return np.add.reduceat(outer, starts, axis=0).reshape(g, U.shape[1], V.shape[1])


def _draw_counts(g: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    idx = rng.integers(0, g, size=(n_boot, g)) + (np.arange(n_boot) * g)[:, None]
    return np.bincount(idx.ravel(), minlength=n_boot * g).reshape(n_boot, g).astype(float)


def block_bootstrap(
    W_obs: np.ndarray, y_obs: np.ndarray, W_exp: np.ndarray, t: np.ndarray, X: np.ndarray | None,
    n_boot: int, seed: int, clusters_exp: np.ndarray | None = None, clusters_obs: np.ndarray | None = None,
) -> np.ndarray:
    """Bootstrap draws of the OLS surrogate-index effect, resampling both samples.

    The observational sample and each experiment arm are resampled independently (by cluster
    when given). Rows are grouped into at most :data:`MAX_BLOCKS` random blocks per sample; a
    draw resamples blocks, which for iid rows matches the row bootstrap's variance while
    needing only the blocks' sufficient statistics (``W'W``, ``W'y``; per arm ``U'U``, ``U'W``
    with ``U = [1, X]``). The effect in each draw is Lin's estimator (difference in means when
    ``X`` is None): ``[1, X_bar] (g1 - g0)`` with ``g_a`` the arm's regression of the index on ``U``.
    """
    rng = np.random.default_rng(seed)
    lab, g = _blocks(len(y_obs), rng, clusters_obs)
    wtw = _block_cross(W_obs, W_obs, lab, g).reshape(g, -1)
    wty = _block_cross(W_obs, y_obs[:, None], lab, g).reshape(g, -1)
    c = _draw_counts(g, n_boot, rng)
    p = W_obs.shape[1]
    beta = np.linalg.solve((c @ wtw).reshape(n_boot, p, p), (c @ wty).reshape(n_boot, p, 1))[..., 0]

    U_all = np.ones((len(t), 1)) if X is None or X.shape[1] == 0 else np.column_stack([np.ones(len(t)), X])
    k = U_all.shape[1]
    coefs, uu_sum = [], 0.0
    for arm in (0, 1):
        m = t == arm
        U, Wa = U_all[m], W_exp[m]
        lab, g = _blocks(int(m.sum()), rng, None if clusters_exp is None else clusters_exp[m])
        uu = _block_cross(U, U, lab, g).reshape(g, -1)
        uw = _block_cross(U, Wa, lab, g).reshape(g, -1)
        c = _draw_counts(g, n_boot, rng)
        UU = (c @ uu).reshape(n_boot, k, k)
        UW = (c @ uw).reshape(n_boot, k, p)
        UWb = np.einsum("bkp,bp->bk", UW, beta)
        coefs.append(np.linalg.solve(UU, UWb[..., None])[..., 0])
        uu_sum = uu_sum + UU
    xbar = uu_sum[:, 0, :] / uu_sum[:, 0, :1]  # pooled [1, X_bar] per draw
    return np.einsum("bk,bk->b", xbar, coefs[1] - coefs[0])
