"""Vectorised Callaway & Sant'Anna (2021) group-time ATTs and their influence functions.

Every (cohort g, period t) cell is a 2x2 comparison of the change in the outcome between a
base period and t. Instead of looping over cells and calling a regression routine, all cells
are columns of ``(units x cells)`` arrays: without covariates the estimates are masked group
means; with covariates the per-cell OLS outcome models and logit propensity scores are solved
as batches of small normal equations (cells sharing a base period share one design matrix).
The influence functions follow the R ``DRDID`` panel estimators (``reg_did_panel``,
``std_ipw_did_panel``, ``drdid_panel``), so analytic standard errors match R ``did`` and its
Python ports. They are returned on the "sum" scale: ``att - ATT ~ sum_i psi_i``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from ..errors import ConvergenceError

__all__ = ["CellGrid", "cell_grid", "cell_estimates", "factor_cells", "aggregation_weights", "DenseIF", "FactorIF"]

_PS_TRIM = 0.995  # R DRDID: controls with a propensity above this get weight 0


@dataclass(frozen=True)
class CellGrid:
    """The (cohort, period, base) cells to estimate; indices into the period axis."""

    cohort: np.ndarray  # first-treated index of the cell's cohort
    period: np.ndarray
    base: np.ndarray
    reference: np.ndarray  # bool, universal-base cell t == base (ATT 0 by construction)
    skipped: int  # cells without a usable base period


def cell_grid(first: np.ndarray, n_periods: int, anticipation: int, base_period: str) -> CellGrid:
    """All group-time cells, as R ``did::att_gt`` enumerates them."""
    rows = []
    skipped = 0
    for k in np.unique(first[first >= 0]):
        kb = int(k) - 1 - anticipation
        for tt in range(1 if base_period == "varying" else 0, n_periods):
            post = tt >= k
            b = tt - 1 if (base_period == "varying" and not post) else kb
            if b < 0:
                skipped += 1
                continue
            rows.append((int(k), tt, b, base_period == "universal" and tt == b))
    arr = np.array(rows, dtype=int).reshape(-1, 4)
    return CellGrid(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3].astype(bool), skipped)


def cell_masks(first: np.ndarray, grid: CellGrid, control: str, anticipation: int,
               observed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``(N, C)`` boolean treated and control masks of every cell."""
    f = first[:, None]
    treated = f == grid.cohort[None, :]
    never = (first < 0)[:, None]
    if control == "never_treated":
        ctrl = np.broadcast_to(never, treated.shape).copy()
    else:
        horizon = np.maximum(grid.period, grid.base) + anticipation
        ctrl = never | ((f > horizon[None, :]) & ~treated)
    if observed is not None:
        pair = observed[:, grid.period] & observed[:, grid.base]
        treated &= pair
        ctrl &= pair
    return treated, ctrl


def _batched_solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``A[c] x = b[c]`` for a stack of small systems; ``(C, k, k)``, ``(C, k)``."""
    return np.linalg.solve(A, b[..., None])[..., 0]


def _outer_rows(X: np.ndarray) -> np.ndarray:
    return (X[:, :, None] * X[:, None, :]).reshape(len(X), -1)


def _logit_batch(X: np.ndarray, Z: np.ndarray, S: np.ndarray, D: np.ndarray,
                 max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Newton-Raphson logit of D on X within each column's subset S; returns (ps, H)."""
    k, c = X.shape[1], S.shape[1]
    beta = np.zeros((k, c))
    n1 = S.sum(axis=0)
    beta[0] = np.log(np.maximum((D * S).sum(axis=0), 0.5) / np.maximum(((1 - D) * S).sum(axis=0), 0.5))
    for _ in range(max_iter):
        p = expit(X @ beta)
        grad = X.T @ (S * (D - p))
        H = (Z.T @ (S * p * (1 - p))).T.reshape(c, k, k)
        step = _batched_solve(H + 1e-12 * np.eye(k), grad.T).T
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    else:
        raise ConvergenceError(
            "the propensity-score logit did not converge in 100 Newton steps for some cells "
            "(perfect separation by the covariates?); drop or coarsen covariates, or use "
            "est_method='reg'."
        )
    p = expit(X @ beta)
    H = (Z.T @ (S * p * (1 - p))).T.reshape(c, k, k) / n1[:, None, None]
    return p, H


def cell_estimates(
    Y: np.ndarray,
    first: np.ndarray,
    grid: CellGrid,
    *,
    control: str,
    anticipation: int,
    method: str,
    covariates: list[np.ndarray],
    observed: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ATT(g,t), influence functions ``(N, C)``, treated and control counts per cell."""
    T, C = cell_masks(first, grid, control, anticipation, observed)
    Yz = np.nan_to_num(Y) if observed is not None else Y
    dY = Yz[:, grid.period] - Yz[:, grid.base]
    n_t = T.sum(axis=0).astype(float)
    n_c = C.sum(axis=0).astype(float)
    ok = (n_t > 0) & (n_c > 0)
    safe_t, safe_c = np.maximum(n_t, 1.0), np.maximum(n_c, 1.0)
    if not covariates:
        Tf, Cf = T.astype(float), C.astype(float)
        mt = (dY * Tf).sum(axis=0) / safe_t
        mc = (dY * Cf).sum(axis=0) / safe_c
        att = mt - mc
        psi = Tf * ((dY - mt) / safe_t) - Cf * ((dY - mc) / safe_c)
    else:
        att = np.zeros(len(grid.period))
        psi = np.zeros(dY.shape)
        for b in np.unique(grid.base):
            cols = np.flatnonzero((grid.base == b) & ok)
            if len(cols) == 0:
                continue
            X = np.column_stack([np.ones(len(Y))] + [np.nan_to_num(x[:, b]) for x in covariates])
            a, p = _covariate_cells(X, dY[:, cols], T[:, cols].astype(float), C[:, cols].astype(float), method)
            att[cols], psi[:, cols] = a, p
    att = np.where(ok & ~grid.reference, att, 0.0)
    psi[:, ~ok | grid.reference] = 0.0
    return att, psi, n_t, n_c


def _covariate_cells(X: np.ndarray, dY: np.ndarray, D: np.ndarray, Cm: np.ndarray,
                     method: str) -> tuple[np.ndarray, np.ndarray]:
    """Batched DRDID panel estimators for cells sharing the design matrix X."""
    S = D + Cm
    n1 = S.sum(axis=0)
    k, c = X.shape[1], D.shape[1]
    Z = _outer_rows(X)

    def colmean_x(w: np.ndarray) -> np.ndarray:  # (c, k): mean over the subset of w * X
        return (X.T @ w).T / n1[:, None]

    def apply(rows: np.ndarray, mats: np.ndarray, M: np.ndarray) -> np.ndarray:
        # (rows * X) @ mats[c] @ M[c] for every column c, as an (N, c) array
        v = np.einsum("cij,cj->ci", mats, M)
        return rows * (X @ v.T)

    if method in ("reg", "dr"):
        xtx = (Z.T @ Cm).T.reshape(c, k, k)
        beta = _batched_solve(xtx, (X.T @ (Cm * dY)).T)
        out = X @ beta.T
        xpx_inv = np.linalg.inv(xtx / n1[:, None, None])
        wols_rows = Cm * (dY - out)
    if method in ("ipw", "dr"):
        ps, H = _logit_batch(X, Z, S, D)
        ps = np.minimum(ps, 1 - 1e-6)
        h_inv = np.linalg.inv(H)
        ps_rows = S * (D - ps)
        w_c = Cm * ps / (1 - ps) * (ps < _PS_TRIM)
    mw_t = D.sum(axis=0) / n1
    if method == "reg":
        eta_t = (D * dY).sum(axis=0) / n1 / mw_t
        eta_c = (D * out).sum(axis=0) / n1 / mw_t
        inf_treat = (D * dY - D * eta_t) / mw_t
        inf_cont = (D * out - D * eta_c + apply(wols_rows, xpx_inv, colmean_x(D))) / mw_t
        att = eta_t - eta_c
    elif method == "ipw":
        mw_c = w_c.sum(axis=0) / n1
        eta_t = (D * dY).sum(axis=0) / n1 / mw_t
        eta_c = (w_c * dY).sum(axis=0) / n1 / mw_c
        inf_treat = (D * dY - D * eta_t) / mw_t
        m2 = colmean_x(w_c * (dY - eta_c))
        inf_cont = (w_c * dY - w_c * eta_c + apply(ps_rows, h_inv, m2)) / mw_c
        att = eta_t - eta_c
    else:
        r = dY - out
        mw_c = w_c.sum(axis=0) / n1
        eta_t = (D * r).sum(axis=0) / n1 / mw_t
        eta_c = (w_c * r).sum(axis=0) / n1 / mw_c
        inf_treat = (D * r - D * eta_t - apply(wols_rows, xpx_inv, colmean_x(D))) / mw_t
        m2 = colmean_x(w_c * (r - eta_c))
        inf_cont = (w_c * r - w_c * eta_c + apply(ps_rows, h_inv, m2)
                    - apply(wols_rows, xpx_inv, colmean_x(w_c))) / mw_c
        att = eta_t - eta_c
    return att, (inf_treat - inf_cont) / n1


def aggregation_weights(
    att: np.ndarray, cell_cohort: np.ndarray, first: np.ndarray, keep: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(C, A)`` and weight-estimation influence terms ``(N, A)`` of aggregations.

    Each aggregation ``a`` averages the cells in ``keep[a]`` with weights proportional to the
    cohort share ``P(G = g)``; the second term is R ``did``'s ``wif`` (the effect of
    estimating those shares), on the sum scale.
    """
    n = len(first)
    cohorts, counts = np.unique(first[first >= 0], return_counts=True)
    share = dict(zip(cohorts.tolist(), (counts / n).tolist()))
    pg = np.array([share[int(k)] for k in cell_cohort])
    pos = np.searchsorted(cohorts, first)  # unit -> cohort slot; never-treated -> extra slot
    pos = np.where(first >= 0, pos, len(cohorts))
    W = np.zeros((len(att), len(keep)))
    slot_vals = np.zeros((len(cohorts) + 1, len(keep)))  # wif is constant within a cohort
    for j, cells in enumerate(keep):
        if len(cells) == 0:
            continue
        p, a = pg[cells], att[cells]
        s = p.sum()
        W[cells, j] = p / s
        slot = np.searchsorted(cohorts, cell_cohort[cells])
        A = np.bincount(slot, weights=a, minlength=len(cohorts) + 1)
        cnt = np.bincount(slot, minlength=len(cohorts) + 1).astype(float)
        pa = float(p @ a)
        slot_vals[:, j] = ((A - pa) / s - (cnt - s) * pa / s**2) / n
    WIF = slot_vals[pos]
    return W, WIF


class DenseIF:
    """Cell influence functions held as an ``(N, C)`` array."""

    def __init__(self, psi: np.ndarray) -> None:
        self.psi = psi

    def take(self, cols: np.ndarray) -> DenseIF:
        return DenseIF(self.psi[:, cols])

    def project(self, W: np.ndarray) -> np.ndarray:
        """``psi @ W``: influence functions of linear combinations of cells, ``(N, A)``."""
        return self.psi @ W

    def sum_sq(self, clusters: np.ndarray | None) -> np.ndarray:
        """Per-cell sum of squared (cluster-summed) influence functions."""
        return (_cluster_sum(self.psi, clusters) ** 2).sum(axis=0)

    def boot(self, V: np.ndarray, clusters: np.ndarray | None) -> np.ndarray:
        """Multiplier-bootstrap draws ``V @ psi`` (``V`` is draws x clusters)."""
        return V @ _cluster_sum(self.psi, clusters)


class FactorIF:
    """Cell influence functions of the no-covariate balanced case, never materialised.

    For a unit in cohort slot ``h`` (never-treated units form the last slot) the influence
    function of cell ``c`` is ``alpha[h, c] * (Y_i @ dmat[:, c] - mu[h, c])``: a cohort-level
    coefficient times the unit's outcome change. Projections, squared sums and bootstrap
    draws then need only per-cohort sums and cross-products, so their cost does not grow with
    units x cells.
    """

    def __init__(self, Y: np.ndarray, slot: np.ndarray, n_slots: int, dmat: np.ndarray,
                 alpha: np.ndarray, mu: np.ndarray) -> None:
        self.Y, self.slot, self.n_slots = Y, slot, n_slots
        self.dmat, self.alpha, self.mu = dmat, alpha, mu
        self.members = [np.flatnonzero(slot == h) for h in range(n_slots)]

    def take(self, cols: np.ndarray) -> FactorIF:
        out = FactorIF(self.Y, self.slot, self.n_slots, self.dmat[:, cols], self.alpha[:, cols], self.mu[:, cols])
        out._grams = getattr(self, "_grams", None)
        out._stacked = getattr(self, "_stacked", None)
        return out

    def project(self, W: np.ndarray) -> np.ndarray:
        out = np.empty((len(self.slot), W.shape[1]))
        for h, idx in enumerate(self.members):
            aw = self.alpha[h][:, None] * W
            out[idx] = self.Y[idx] @ (self.dmat @ aw) - (self.mu[h] @ aw)[None, :]
        return out

    def grams(self) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """Per cohort slot: the Gram matrix ``Y_h' Y_h``, the column sums and the unit count."""
        if getattr(self, "_grams", None) is None:
            self._grams = [(self.Y[idx].T @ self.Y[idx], self.Y[idx].sum(axis=0), len(idx)) for idx in self.members]
        return self._grams

    def _stacked_grams(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The slots' Gram matrices ``(H, T, T)``, column sums ``(H, T)`` and counts ``(H,)``."""
        if getattr(self, "_stacked", None) is None:
            grams = self.grams()
            self._stacked = (np.stack([g for g, _, _ in grams]), np.stack([s for _, s, _ in grams]),
                             np.array([n for _, _, n in grams], dtype=float))
        return self._stacked

    def cov_project(self, W: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """``sum_i psi_i psi_i'`` for ``psi = Psi @ W + shift[slot]`` (``shift`` is per slot).

        All cohort slots at once: ``M_h = dmat @ (alpha_h * W)`` is a stacked product and the
        covariance is ``sum_h M_h' G_h M_h`` plus the slot-constant terms, with no Python loop.
        """
        G, S, n = self._stacked_grams()
        AW = self.alpha[:, :, None] * W[None, :, :]  # (H, C, A)
        M = np.matmul(self.dmat[None, :, :], AW)  # (H, T, A)
        d = shift - np.einsum("hc,hca->ha", self.mu, AW)  # (H, A)
        ms = np.einsum("hta,ht->ha", M, S)
        quad = np.matmul(np.swapaxes(M, 1, 2), np.matmul(G, M)).sum(axis=0)
        return quad + ms.T @ d + d.T @ ms + (n[:, None] * d).T @ d

    def sum_sq(self, clusters: np.ndarray | None) -> np.ndarray:
        # sums of squared changes come from each slot's (T, T) Gram matrix, all slots at once
        G, S, n = self._stacked_grams()
        s1 = S @ self.dmat  # (H, C)
        s2 = np.einsum("htc,tc->hc", np.matmul(G, self.dmat[None, :, :]), self.dmat)
        return (self.alpha**2 * (s2 - 2 * self.mu * s1 + n[:, None] * self.mu**2)).sum(axis=0)

    def boot(self, V: np.ndarray, clusters: np.ndarray | None) -> np.ndarray:
        return self.boot_project(V, np.eye(self.dmat.shape[1]))

    def boot_project(self, V: np.ndarray, W: np.ndarray) -> np.ndarray:
        """``V @ psi @ W`` from per-cohort ``V_h @ Y_h`` (draws x periods), never ``N x C``."""
        if getattr(self, "_draws_of", None) is not V:
            # float32 halves the dominant (draws x units x periods) product; bands need ~4 digits
            y32 = self.Y.astype(np.float32)
            self._draws = []
            for idx in self.members:
                vh = V[:, idx].astype(np.float32, copy=False)
                self._draws.append((vh @ y32[idx], vh.sum(axis=1, dtype=np.float64)) if len(idx) else None)
            self._draws_of = V
        out = np.zeros((V.shape[0], W.shape[1]))
        for h, draws in enumerate(self._draws):
            if draws is None or not self.alpha[h].any():
                continue
            vy, vsum = draws
            aw = self.alpha[h][:, None] * W
            out += vy @ (self.dmat @ aw) - vsum[:, None] * (self.mu[h] @ aw)[None, :]
        return out


def _cluster_sum(psi: np.ndarray, clusters: np.ndarray | None) -> np.ndarray:
    if clusters is None:
        return psi
    out = np.zeros((int(clusters.max()) + 1, psi.shape[1]))
    np.add.at(out, clusters, psi)
    return out


def factor_cells(Y: np.ndarray, first: np.ndarray, grid: CellGrid, *, control: str,
                 anticipation: int) -> tuple[np.ndarray, FactorIF, np.ndarray, np.ndarray]:
    """ATT(g,t) of a balanced panel without covariates from cohort sums (see FactorIF)."""
    cohorts = np.unique(first[first >= 0])
    n_slots = len(cohorts) + 1
    slot = np.where(first >= 0, np.searchsorted(cohorts, first), len(cohorts))
    counts = np.bincount(slot, minlength=n_slots).astype(float)
    s1 = np.zeros((n_slots, Y.shape[1]))
    np.add.at(s1, slot, Y)
    n_c = len(grid.period)
    dmat = np.zeros((Y.shape[1], n_c))
    dmat[grid.period, np.arange(n_c)] += 1.0
    dmat[grid.base, np.arange(n_c)] -= 1.0
    slot_first = np.r_[cohorts, -1]
    tm = slot_first[:, None] == grid.cohort[None, :]
    cm = np.zeros_like(tm)
    cm[-1] = True
    if control == "not_yet_treated":
        horizon = np.maximum(grid.period, grid.base) + anticipation
        cm[:-1] = (cohorts[:, None] > horizon[None, :]) & ~tm[:-1]
    n_t, n_cc = counts @ tm, counts @ cm
    sd1 = s1 @ dmat
    mt = (sd1 * tm).sum(axis=0) / np.maximum(n_t, 1.0)
    mc = (sd1 * cm).sum(axis=0) / np.maximum(n_cc, 1.0)
    ok = (n_t > 0) & (n_cc > 0)
    att = np.where(ok & ~grid.reference, mt - mc, 0.0)
    alpha = tm / np.maximum(n_t, 1.0) - cm / np.maximum(n_cc, 1.0)
    alpha[:, ~ok | grid.reference] = 0.0
    mu = np.where(tm, mt[None, :], mc[None, :])
    return att, FactorIF(Y, slot, n_slots, dmat, alpha, mu), n_t, n_cc
