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

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Contrast", "contrast", "contrast_variance", "index_variance", "ols", "block_bootstrap",
           "r2", "index_scores", "ExperimentStats", "experiment_stats", "ObsFolds", "obs_folds", "fold_cross", "oof_from_folds",
           "leverage"]

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
        n1 = float(t.sum())
        n0 = len(t) - n1
        ZtZ_inv = np.linalg.inv(np.array([[len(t), n1], [n1, n1]]))
        # difference in means: a = T/n1 - (1-T)/n0 and leverage 1/n_arm, without products over the rows
        return Contrast(a=np.where(t == 1, 1.0 / n1, -1.0 / n0), Z=Z, ZtZ_inv=ZtZ_inv,
                        leverage=np.where(t == 1, 1.0 / n1, 1.0 / n0))
    else:
        Xc = X - X.mean(axis=0)
        Z = np.column_stack([np.ones(len(t)), t, Xc, Xc * t[:, None]])
    ZtZ_inv = np.linalg.inv(Z.T @ Z)
    a = Z @ ZtZ_inv[1]
    return Contrast(a=a, Z=Z, ZtZ_inv=ZtZ_inv, leverage=leverage(Z, ZtZ_inv))


def leverage(A: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """Diagonal of ``A inv A'`` (``inv`` symmetric) without forming it.

    Written as ``inv @ A.T``: a tall ``A @ small`` product runs far slower in OpenBLAS than the
    transposed wide one.
    """
    At = A.T
    return np.sum((inv @ At) * At, axis=0)


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


def index_scores(d: np.ndarray, W: np.ndarray, WtW_inv: np.ndarray, resid: np.ndarray,
                 clusters: np.ndarray | None = None) -> np.ndarray:
    """Scores whose sum of squares is the variance of ``d' beta_hat`` (HC2 per row, or CR1 per cluster)."""
    scores = (W @ (WtW_inv @ d)) * resid
    if clusters is not None:
        _, codes = np.unique(clusters, return_inverse=True)
        n, k = W.shape
        g = int(codes.max()) + 1
        return np.bincount(codes, weights=scores) * math.sqrt(g / max(g - 1, 1) * (n - 1) / max(n - k, 1))
    return scores / np.sqrt(np.clip(1.0 - leverage(W, WtW_inv), 1e-12, None))


def index_variance(d: np.ndarray, W: np.ndarray, WtW_inv: np.ndarray, resid: np.ndarray,
                   clusters: np.ndarray | None = None) -> float:
    """Variance of ``d' beta_hat`` from the observational rows (HC2, or CR1 with clusters)."""
    s = index_scores(d, W, WtW_inv, resid, clusters)
    return float(s @ s)


def r2(y: np.ndarray, fitted: np.ndarray) -> float:
    """``1 - SSR / SST`` of predictions ``fitted`` of ``y``."""
    dev = y - y.mean()
    return float(1.0 - np.sum((y - fitted) ** 2) / np.sum(dev**2))


@dataclass(frozen=True)
class ObsFolds:
    """The observational design split by fold, for out-of-fold OLS on any column subset."""

    folds: np.ndarray
    n_folds: int
    rows: tuple[np.ndarray, ...]  # row numbers of each fold
    parts: tuple[np.ndarray, ...]  # W restricted to each fold
    gram: np.ndarray  # (K, p, p): W_k' W_k


def obs_folds(W: np.ndarray, folds: np.ndarray, n_folds: int) -> ObsFolds:
    rows = tuple(np.flatnonzero(folds == k) for k in range(n_folds))
    parts = tuple(W[r] for r in rows)
    return ObsFolds(folds, n_folds, rows, parts, np.stack([P.T @ P for P in parts]))


def fold_cross(f: ObsFolds, y: np.ndarray) -> np.ndarray:
    """(K, p): ``W_k' y_k`` for each fold."""
    return np.stack([P.T @ y[r] for P, r in zip(f.parts, f.rows)])


def oof_from_folds(f: ObsFolds, y: np.ndarray, cross: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Out-of-fold OLS predictions of ``y`` on the columns ``idx`` (from the other folds' statistics)."""
    pred = np.empty(len(y))
    ix = np.ix_(idx, idx)
    gram, total = f.gram.sum(axis=0)[ix], cross.sum(axis=0)[idx]
    for k in range(f.n_folds):
        beta = np.linalg.solve(gram - f.gram[k][ix], total - cross[k][idx])
        pred[f.rows[k]] = f.parts[k][:, idx] @ beta
    return pred


@dataclass(frozen=True)
class ExperimentStats:
    """The experiment's side of a linear index in ``p x p`` form: any ``beta`` gives ``tau`` and its variance.

    With ``R`` the experiment design ``W_E`` residualised on ``Z`` (the contrast's regressors),
    the index's residuals are ``R beta``, so the conditional variances are quadratic forms
    ``beta' M beta``. One pass over the rows then serves every column subset (the path over
    surrogates) and every surrogate's own effect.
    """

    contrast: Contrast
    d: np.ndarray
    m_classical: np.ndarray
    m_robust: np.ndarray
    control_mean: np.ndarray
    wtw: np.ndarray
    wtt: np.ndarray


def experiment_stats(W: np.ndarray, c: Contrast, t: np.ndarray, clusters: np.ndarray | None = None) -> ExperimentStats:
    n, k = c.Z.shape
    if k == 2 and clusters is None:
        # difference in means: R is W demeaned within arm, and a^2 / (1 - h) is constant within an arm,
        # so every matrix comes from the arms' cross-products (one pass over the rows)
        within, means, counts = [], [], []
        for arm in (0, 1):
            Wa = W[t == arm]
            mu = Wa.mean(axis=0)
            Ra = Wa - mu  # demeaned first: no cancellation when the columns sit far from zero
            within.append(Ra.T @ Ra)
            means.append(mu)
            counts.append(len(Wa))
        grams = [w + m_ * np.outer(mu, mu) for w, m_, mu in zip(within, counts, means)]
        m_cls = (within[0] + within[1]) * (c.ZtZ_inv[1, 1] / (n - k))
        m_rob = sum(w / (m_ * (m_ - 1)) for w, m_ in zip(within, counts))
        return ExperimentStats(contrast=c, d=means[1] - means[0], m_classical=m_cls, m_robust=m_rob,
                               control_mean=means[0], wtw=grams[0] + grams[1], wtt=counts[1] * means[1])
    R = W - ((c.ZtZ_inv @ (c.Z.T @ W)).T @ c.Z.T).T  # wide products (see leverage)
    m_cls = (R.T @ R) * (c.ZtZ_inv[1, 1] / (n - k))
    if clusters is not None:
        _, codes = np.unique(clusters, return_inverse=True)
        g = int(codes.max()) + 1
        sums = np.zeros((g, W.shape[1]))
        np.add.at(sums, codes, c.a[:, None] * R)
        m_rob = sums.T @ sums * (g / max(g - 1, 1) * (n - 1) / max(n - k, 1))
    else:
        wts = c.a**2 / np.clip(1.0 - c.leverage, 1e-12, None)
        m_rob = (R * wts[:, None]).T @ R
    return ExperimentStats(contrast=c, d=W.T @ c.a, m_classical=m_cls, m_robust=m_rob,
                           control_mean=W[t == 0].mean(axis=0), wtw=W.T @ W, wtt=W.T @ t.astype(float))


def _block_sums(n: int, rng: np.random.Generator, clusters: np.ndarray | None, U: np.ndarray,
                V: np.ndarray) -> np.ndarray:
    """Per-block ``U_b' V_b`` (shape (g, u*v)) for clusters, or random equal-size blocks of rows.

    Without clusters the rows are permuted (seeded) and cut into at most :data:`MAX_BLOCKS`
    blocks; the last block is padded with zero rows, which add nothing to any sum. ``U`` of shape
    (1, 1) stands for a column of ones.
    """
    ones = U.shape == (1, 1)  # U = 1 for every row: U'V is a column sum of V
    if clusters is not None:
        _, codes = np.unique(clusters, return_inverse=True)
        g = int(codes.max()) + 1
        out = np.zeros((g, U.shape[1] * V.shape[1] if not ones else V.shape[1]))
        np.add.at(out, codes, V if ones else np.einsum("ni,nj->nij", U, V).reshape(n, -1))
        return out
    g = min(n, MAX_BLOCKS)
    m = -(-n // g)
    perm = rng.permutation(n)
    if ones:
        Vp = np.zeros((g * m, V.shape[1]))
        Vp[:n] = V[perm]
        return Vp.reshape(g, m, -1).sum(axis=1)
    Up = np.zeros((g * m, U.shape[1]))
    Vp = np.zeros((g * m, V.shape[1]))
    Up[:n], Vp[:n] = U[perm], V[perm]
    return np.matmul(Up.reshape(g, m, -1).transpose(0, 2, 1), Vp.reshape(g, m, -1)).reshape(g, -1)


def _resampled(c: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """``c @ stats``; small products go through einsum, which avoids BLAS thread start-up per call."""
    if c.size * stats.shape[1] < 20_000_000:
        return np.einsum("bg,gk->bk", c, stats)
    return c @ stats


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
    p = W_obs.shape[1]
    stats = _block_sums(len(y_obs), rng, clusters_obs, W_obs, np.column_stack([W_obs, y_obs]))
    c = _draw_counts(len(stats), n_boot, rng)
    both = _resampled(c, stats).reshape(n_boot, p, p + 1)
    beta = np.linalg.solve(both[:, :, :p], both[:, :, p:])[..., 0]

    no_x = X is None or X.shape[1] == 0
    U_all = None if no_x else np.column_stack([np.ones(len(t)), X])
    k = 1 if no_x else U_all.shape[1]
    coefs, uu_sum = [], 0.0
    for arm in (0, 1):
        m = t == arm
        cl = None if clusters_exp is None else clusters_exp[m]
        if no_x:  # U = 1: the block sums of W (its first column counts the rows) are all we need
            stats = _block_sums(int(m.sum()), rng, cl, np.ones((1, 1)), W_exp[m])
            c = _draw_counts(len(stats), n_boot, rng)
            UW = _resampled(c, stats).reshape(n_boot, 1, p)
            UU = UW[:, :, :1]
        else:
            stats = _block_sums(int(m.sum()), rng, cl, U_all[m], np.column_stack([U_all[m], W_exp[m]]))
            c = _draw_counts(len(stats), n_boot, rng)
            both = _resampled(c, stats).reshape(n_boot, k, k + p)
            UU, UW = both[:, :, :k], both[:, :, k:]
        UWb = np.einsum("bkp,bp->bk", UW, beta)
        coefs.append(np.linalg.solve(UU, UWb[..., None])[..., 0])
        uu_sum = uu_sum + UU
    xbar = uu_sum[:, 0, :] / uu_sum[:, 0, :1]  # pooled [1, X_bar] per draw
    return np.einsum("bk,bk->b", xbar, coefs[1] - coefs[0])
