"""Compiled inner loops of the simplex solvers in :mod:`causal_kit.solvers.simplex`.

The loops are plain Python functions compiled with numba when it is installed (numba comes
with econml's dependencies); :func:`fw_kernel` / :func:`qp_kernel` return None without it and
the callers fall back to vectorised numpy or scipy's nnls.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fw_kernel", "qp_kernel", "fw_numpy"]


def _qp_python(G, C, allowed, W, tol, ok):  # pragma: no cover - compiled by numba
    # Primal active-set method for min 0.5 w'Gw - c'w, w >= 0, sum(w) = 1 (Lawson-Hanson
    # style, with the sum-to-one constraint handled exactly through its multiplier). Written
    # here because scipy's nnls is one Python-level call of about 1 ms per target, which
    # dominates nested-V optimisation and placebo studies; this runs in microseconds.
    B, k = C.shape
    eps = tol
    for b in range(B):
        c = C[b]
        best = np.inf
        j0 = -1
        for j in range(k):
            if allowed[b, j]:
                v = 0.5 * G[j, j] - c[j]
                if v < best:
                    best = v
                    j0 = j
        if j0 < 0:
            ok[b] = False
            continue
        P = np.zeros(k, dtype=np.bool_)
        P[j0] = True
        w = np.zeros(k)
        w[j0] = 1.0
        done = False
        for _ in range(10 * k + 20):
            grad = np.empty(k)
            for j in range(k):
                acc = -c[j]
                for q in range(k):
                    if w[q] != 0.0:
                        acc += G[j, q] * w[q]
                grad[j] = acc
            gp = 0.0
            m = 0
            for j in range(k):
                if P[j]:
                    gp += grad[j]
                    m += 1
            gp /= m
            jn = -1
            gmin = gp - 1e-9 * (abs(gp) + 1.0) - eps
            for j in range(k):
                if allowed[b, j] and not P[j] and grad[j] < gmin:
                    gmin = grad[j]
                    jn = j
            if jn < 0:
                done = True
                break
            P[jn] = True
            for _inner in range(k + 1):
                idx = np.flatnonzero(P)
                m = len(idx)
                M = np.zeros((m + 1, m + 1))
                r = np.zeros(m + 1)
                for a in range(m):
                    for q in range(m):
                        M[a, q] = G[idx[a], idx[q]]
                    M[a, a] += eps
                    M[a, m] = 1.0
                    M[m, a] = 1.0
                    r[a] = c[idx[a]]
                r[m] = 1.0
                z = _gauss_solve(M, r)
                feasible = True
                for a in range(m):
                    if z[a] <= 0.0:
                        feasible = False
                if feasible:
                    for a in range(m):
                        w[idx[a]] = z[a]
                    break
                alpha = 1.0
                for a in range(m):
                    if z[a] <= 0.0:
                        wa = w[idx[a]]
                        step = wa / (wa - z[a]) if wa - z[a] > 0 else 0.0
                        if step < alpha:
                            alpha = step
                for a in range(m):
                    w[idx[a]] += alpha * (z[a] - w[idx[a]])
                    if w[idx[a]] <= 1e-14:
                        w[idx[a]] = 0.0
                        P[idx[a]] = False
        total = w.sum()
        if not done or not (total > 0):
            ok[b] = False
            continue
        for j in range(k):
            W[b, j] = w[j] / total


def _gauss_solve(M, r):  # pragma: no cover - compiled by numba
    # Gaussian elimination with partial pivoting on a small dense system (kept local so the
    # compiled kernel needs no LAPACK binding).
    n = len(r)
    A = M.copy()
    x = r.copy()
    for col in range(n):
        piv = col
        big = abs(A[col, col])
        for row in range(col + 1, n):
            if abs(A[row, col]) > big:
                big = abs(A[row, col])
                piv = row
        if piv != col:
            for q in range(n):
                tmp = A[col, q]
                A[col, q] = A[piv, q]
                A[piv, q] = tmp
            tmp = x[col]
            x[col] = x[piv]
            x[piv] = tmp
        d = A[col, col]
        if d == 0.0:
            d = 1e-300
        for row in range(col + 1, n):
            f = A[row, col] / d
            if f != 0.0:
                for q in range(col, n):
                    A[row, q] -= f * A[col, q]
                x[row] -= f * x[col]
    for row in range(n - 1, -1, -1):
        acc = x[row]
        for q in range(row + 1, n):
            acc -= A[row, q] * x[q]
        d = A[row, row]
        x[row] = acc / (d if d != 0.0 else 1e-300)
    return x


_QP: list = []


def qp_kernel():
    """The compiled active-set simplex QP loop, or None without numba."""
    if not _QP:
        try:
            import numba
        except ImportError:  # pragma: no cover - numba ships with econml's dependencies
            _QP.append(None)
        else:
            solve = numba.njit(cache=True, nogil=True)(_gauss_solve)
            _QP.append(numba.njit(cache=True, nogil=True)(_qp_python))
            globals()["_gauss_solve"] = solve
    return _QP[0]


def _fw_python(G, gi, c, bb, eta, rows, x, allowed, min_dec2, max_iter, n_iter):  # pragma: no cover
    # Scalar loop compiled by numba; without numba the vectorised fw_numpy runs instead.
    # Per step: O(k) update of x and G x (G is symmetric, so row i stands for column i),
    # then one branch-light sweep for the next gradient, its argmin and g.x; masked
    # coordinates carry an infinite penalty in the argmin only.
    B, k = x.shape
    for p in range(B):
        Gp = G[gi[p]]
        cp = c[p]
        xp = x[p]
        ep = eta[p]
        pen = np.zeros(k)
        for j in range(k):
            if not allowed[p, j]:
                pen[j] = np.inf
        Gx = np.zeros(k)
        t = 0
        prev = np.inf
        q = xx = cx = 0.0
        best = np.inf
        i = -1
        gdotx = 0.0
        while t < max_iter:
            if t % 128 == 0:
                # refresh the running quantities exactly (bounds rounding drift)
                q = 0.0
                xx = 0.0
                cx = 0.0
                best = np.inf
                i = -1
                gdotx = 0.0
                for j in range(k):
                    acc = 0.0
                    for m in range(k):
                        acc += Gp[j, m] * xp[m]
                    Gx[j] = acc
                    q += xp[j] * acc
                    xx += xp[j] * xp[j]
                    cx += cp[j] * xp[j]
                    g = acc - cp[j] + ep * xp[j]
                    gdotx += g * xp[j]
                    gm = g + pen[j]
                    if gm < best:
                        best = gm
                        i = j
            t += 1
            xi = xp[i]
            dd = xx - 2.0 * xi + 1.0
            den = Gp[i, i] - 2.0 * Gx[i] + q + ep * dd
            s = 0.0
            if dd > 0.0 and den > 0.0:
                s = (gdotx - best) / den
                if s < 0.0:
                    s = 0.0
                elif s > 1.0:
                    s = 1.0
            gxi = Gx[i]
            gii = Gp[i, i]
            q = (1.0 - s) ** 2 * q + 2.0 * s * (1.0 - s) * gxi + s * s * gii
            xx = (1.0 - s) ** 2 * xx + 2.0 * s * (1.0 - s) * xi + s * s
            cx = (1.0 - s) * cx + s * cp[i]
            vals = (ep * xx + q - 2.0 * cx + bb[p]) / rows[p]
            one_s = 1.0 - s
            Gi = Gp[i]
            for j in range(k):
                xp[j] *= one_s
                Gx[j] = one_s * Gx[j] + s * Gi[j]
            xp[i] += s
            gdotx = 0.0
            best = np.inf
            inew = -1
            for j in range(k):
                g = Gx[j] - cp[j] + ep * xp[j]
                gdotx += g * xp[j]
                gm = g + pen[j]
                if gm < best:
                    best = gm
                    inew = j
            i = inew
            if t >= 2 and not (prev - vals > min_dec2[p]):
                break
            prev = vals
        n_iter[p] = t


_KERNEL: list = []


def fw_kernel():
    """The compiled Frank-Wolfe loop, or None without numba."""
    if not _KERNEL:
        try:
            import numba
        except ImportError:  # pragma: no cover - numba ships with econml's dependencies
            _KERNEL.append(None)
        else:
            _KERNEL.append(numba.njit(cache=True, nogil=True)(_fw_python))
    return _KERNEL[0]


def fw_numpy(G, gi, c, bb, eta, rows, x, allowed, min_dec2, max_iter, n_iter):
    """Vectorised numpy Frank-Wolfe over the batch (same steps as the compiled loop)."""
    B, k = x.shape
    Gb = G[gi]
    Gx = np.einsum("bkj,bj->bk", Gb, x)
    diag = np.einsum("bkk->bk", Gb)
    q = (x * Gx).sum(axis=1)
    xx = (x * x).sum(axis=1)
    cx = (c * x).sum(axis=1)
    prev = np.full(B, np.inf)
    active = np.arange(B)
    t = 0
    while t < max_iter and active.size:
        t += 1
        xa, Gxa, ea = x[active], Gx[active], eta[active]
        grad = Gxa - c[active] + ea[:, None] * xa
        i = np.argmin(np.where(allowed[active], grad, np.inf), axis=1)
        ar = np.arange(active.size)
        xi, gxi = xa[ar, i], Gxa[ar, i]
        dd = xx[active] - 2.0 * xi + 1.0
        den = diag[active, i] - 2.0 * gxi + q[active] + ea * dd
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where((dd > 0) & (den > 0), ((grad * xa).sum(axis=1) - grad[ar, i]) / den, 0.0)
        s = np.clip(s, 0.0, 1.0)
        xn = xa * (1.0 - s)[:, None]
        xn[ar, i] += s
        x[active] = xn
        Gx[active] = (1.0 - s)[:, None] * Gxa + s[:, None] * Gb[active, :, i]
        q[active] = (1 - s) ** 2 * q[active] + 2 * s * (1 - s) * gxi + s * s * diag[active, i]
        xx[active] = (1 - s) ** 2 * xx[active] + 2 * s * (1 - s) * xi + s * s
        cx[active] = (1 - s) * cx[active] + s * c[active, i]
        vals = (ea * xx[active] + q[active] - 2 * cx[active] + bb[active]) / rows[active]
        n_iter[active] = t
        keep = (t < 2) | (prev[active] - vals > min_dec2[active])
        prev[active] = vals
        active = active[keep]
