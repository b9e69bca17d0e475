"""First-stage algebra shared by the imputation (BJS) and two-stage (Gardner) DiD estimators.

Both estimators fit ``Y_it = alpha_i + lambda_t + e_it`` on the untreated observations only
and use the fitted fixed effects to impute the untreated outcome of treated observations.
Their standard errors need solves against the Gram matrix of the unit and period dummies on
the untreated sample, ``Z0'Z0 = [[diag(n_i), M], [M', diag(c_t)]]``. That matrix has a
diagonal unit block, so we eliminate the units and solve the ``T x T`` Schur complement
exactly (one ``lstsq``), which is exact, needs no iteration and costs ``O(N T k)``; a
general sparse solver over ``N + T`` dummies would be far slower on 10,000 x 40 panels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError, IdentificationError

__all__ = ["fe_solve", "FirstStage", "first_stage", "relative_time"]


def fe_solve(mask: np.ndarray, rhs_u: np.ndarray, rhs_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``(Z0'Z0) [a; l] = [rhs_u; rhs_t]`` for unit/period dummies on ``mask``.

    Parameters
    ----------
    mask : (N, T) bool
        Cells in the regression sample.
    rhs_u : (N, k) array
        Unit block of the right-hand side.
    rhs_t : (T, k) array
        Period block of the right-hand side.

    Returns
    -------
    a : (N, k) array, l : (T, k) array
        One solution (the system is singular along ``a + c, l - c``; any solution gives the
        same fitted values ``a_i + l_t`` and the same products with residual vectors).
    """
    m = mask.astype(float)
    n_u = m.sum(axis=1)
    c_t = m.sum(axis=0)
    inv_n = np.divide(1.0, n_u, out=np.zeros_like(n_u), where=n_u > 0)
    schur = np.diag(c_t) - (m.T * inv_n) @ m
    rhs = rhs_t - m.T @ (rhs_u * inv_n[:, None])
    lam = np.linalg.lstsq(schur, rhs, rcond=None)[0]
    alpha = (rhs_u - m @ lam) * inv_n[:, None]
    return alpha, lam


@dataclass(frozen=True)
class FirstStage:
    """Fixed effects fitted on the untreated cells and the resulting residuals."""

    untreated: np.ndarray  # (N, T) bool: observed and not (yet) treated
    treated: np.ndarray  # (N, T) bool: observed and treated
    alpha: np.ndarray  # (N,)
    lam: np.ndarray  # (T,)
    resid: np.ndarray  # (N, T): Y - alpha - lambda on observed cells, 0 elsewhere


def relative_time(first: np.ndarray, n_periods: int) -> np.ndarray:
    """``(N, T)`` periods since treatment start (position-based); never-treated: a large negative."""
    rel = np.arange(n_periods)[None, :] - first[:, None]
    return np.where(first[:, None] >= 0, rel, np.iinfo(np.int32).min)


def first_stage(Y: np.ndarray, observed: np.ndarray, D: np.ndarray, owner: str) -> FirstStage:
    """Fit unit and period effects on the untreated observed cells of ``Y``."""
    untreated = observed & ~D
    treated = observed & D
    n_u = untreated.sum(axis=1)
    lacking = treated.any(axis=1) & (n_u == 0)
    if lacking.any():
        raise IdentificationError(
            f"{int(lacking.sum())} treated unit(s) have no untreated observed period, so {owner} cannot "
            "impute their untreated outcome (their unit effect is not identified). Drop those units or "
            "add their pre-treatment periods."
        )
    c_t = untreated.sum(axis=0)
    no_control = treated.any(axis=0) & (c_t == 0)
    if no_control.any():
        raise IdentificationError(
            f"{int(no_control.sum())} period(s) have no untreated observation, so {owner} cannot identify "
            "their period effect (every unit is treated by then). Drop those periods or add "
            "never-treated units."
        )
    y0 = np.where(untreated, Y, 0.0)
    a, lam = fe_solve(untreated, y0.sum(axis=1)[:, None], y0.sum(axis=0)[:, None])
    a, lam = a[:, 0], lam[:, 0]
    resid = np.where(observed, np.nan_to_num(Y) - a[:, None] - lam[None, :], 0.0)
    return FirstStage(untreated, treated, a, lam, resid)


def cluster_sums(contrib: np.ndarray, cluster: np.ndarray, unit_clusters: np.ndarray | None,
                 n_clusters: int) -> np.ndarray:
    """Sum per-cell contributions ``(N, T, k)`` within clusters: ``(G, k)``.

    ``cluster`` holds the ``(N, T)`` cluster code of each cell (-1 where unobserved); cells
    outside the sample must carry zero contributions.
    """
    k = contrib.shape[2]
    out = np.zeros((n_clusters, k))
    if unit_clusters is not None:
        np.add.at(out, unit_clusters, contrib.sum(axis=1))
        return out
    cells = cluster >= 0
    np.add.at(out, cluster[cells], contrib[cells])
    return out


def group_means(values: np.ndarray, weights: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Weighted means of ``values`` (n,) within ``groups`` (n,) for each weight column (n, k).

    Groups whose weights sum to zero get mean 0 (their cells carry no weight anyway).
    """
    k = weights.shape[1]
    num = np.zeros((n_groups, k))
    den = np.zeros((n_groups, k))
    np.add.at(num, groups, weights * values[:, None])
    np.add.at(den, groups, weights)
    return np.divide(num, den, out=np.zeros_like(num), where=np.abs(den) > 1e-300)


def absorb_exact(mask: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Residuals of each column of ``Z`` ``(N, T, p)`` on unit and period dummies over ``mask``.

    An exact solve (see :func:`fe_solve`) instead of alternating projections, which converge
    slowly on the staircase-shaped untreated samples of staggered designs. Returns the
    ``(n_cells, p)`` residuals of the masked cells in row-major order.
    """
    Zm = np.where(mask[..., None], Z, 0.0)
    a, lam = fe_solve(mask, Zm.sum(axis=1), Zm.sum(axis=0))
    return (Zm - a[:, None, :] - lam[None])[mask]


def lead_regression(Y: np.ndarray, mask: np.ndarray, leads: np.ndarray, codes: np.ndarray,
                    nested: bool) -> tuple[np.ndarray, np.ndarray]:
    """OLS of ``Y`` on ``leads`` ``(N, T, p)`` with unit and period effects over ``mask``; CRV1.

    The small-sample factor counts the fixed effects as fixest does (unit effects count as
    one level when nested in the clusters), so results equal ``feols(y ~ leads | unit + t)``.
    """
    from ..inference.cluster import crv1

    z = absorb_exact(mask, np.concatenate([np.nan_to_num(Y)[..., None], leads], axis=2))
    y, X = z[:, 0], z[:, 1:]
    xtx = X.T @ X
    if np.linalg.matrix_rank(xtx) < X.shape[1]:
        raise DataError(f"the {X.shape[1]} lead indicators are collinear with the unit and period effects on the "
                        "untreated sample; test fewer leads (pretrend_leads).")
    bread = np.linalg.inv(xtx)
    beta = bread @ (X.T @ y)
    n_u, n_t = mask.shape
    k = X.shape[1] + (1 if nested else n_u) + n_t - 1
    return beta, crv1(X, y - X @ beta, codes[mask], k=k, bread=bread)


def label_counts(labels: np.ndarray, k: int, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit ``(N, k)`` and per-period ``(T, k)`` sums of ``weights`` (default 1) by label.

    ``labels`` ``(N, T)`` holds a column index ``0..k-1`` per cell, or -1 for none: the sparse
    form of ``k`` disjoint indicator regressors.
    """
    n, t = labels.shape
    cells = labels >= 0
    w = np.ones(n * t) if weights is None else weights.ravel()
    lab = labels.ravel()
    sel = cells.ravel()
    units = np.repeat(np.arange(n), t)[sel]
    periods = np.tile(np.arange(t), n)[sel]
    by_unit = np.bincount(units * k + lab[sel], weights=w[sel], minlength=n * k).reshape(n, k)
    by_period = np.bincount(periods * k + lab[sel], weights=w[sel], minlength=t * k).reshape(t, k)
    return by_unit, by_period


def unit_to_clusters(per_unit: np.ndarray, unit_clusters: np.ndarray, n_clusters: int) -> np.ndarray:
    """Sum ``(N, k)`` unit-level score contributions into ``(G, k)`` clusters nested in units."""
    if n_clusters == len(unit_clusters) and np.array_equal(unit_clusters, np.arange(n_clusters)):
        return per_unit
    out = np.zeros((n_clusters, per_unit.shape[1]))
    np.add.at(out, unit_clusters, per_unit)
    return out
