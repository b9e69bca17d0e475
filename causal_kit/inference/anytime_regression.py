"""Anytime-valid t-test for one linear-regression coefficient (regression-adjusted A/B tests).

Lindon, Ham, Tingley and Bojinov, "Anytime-valid linear models and regression adjusted causal
inference in randomized experiments" (2024), give a Bayes factor for ``H0: beta_j = 0`` in a
Gaussian linear model that depends on the usual OLS t-statistic only::

    r = phi / (phi + z2),    z2 = sigma_hat^2 / se_j^2 = 1 / [(X'X)^-1]_jj
    BF = sqrt(r) * ((1 + t^2 / nu) / (1 + r t^2 / nu)) ** ((nu + 1) / 2)

with ``nu = n - p - 1`` and ``phi`` the prior scale. ``BF`` is an e-process, so ``p = min(1,
1 / BF)`` is valid at any look, and inverting it gives a confidence sequence of half-width::

    se_j * sqrt(nu * (1 - (r alpha^2)^(1/(nu+1))) / ((r alpha^2)^(1/(nu+1)) - r))

Covariates (e.g. the pre-period metric) enter the regression, so the adjustment happens
inside the sequence. The conventions (``sigma_hat^2 = SSE / (n - p)``, ``nu = n - p - 1``)
follow the authors' ``savvi`` package. Everything is computed from the cross-product
moments ``X'X``, ``X'y`` and ``y'y``: one pass over the data, and batched over leading axes so
that simulations of many looks and runs are vectorised.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError, SpecError

__all__ = ["anytime_valid_coefficient", "anytime_valid_ols"]


def anytime_valid_coefficient(xtx: Any, xty: Any, yty: Any, n: Any, column: int, alpha: float = 0.05, *,
                              phi: float = 1.0) -> tuple[Any, Any, Any, Any, Any]:
    """Estimate, SE, always-valid interval and p-value of coefficient ``column`` from moments.

    Parameters
    ----------
    xtx : (..., p, p) array
        ``X'X`` (the design includes the intercept column).
    xty : (..., p) array
        ``X'y``.
    yty : (...) array
        ``y'y``.
    n : int or array
        Rows.
    column : int
        Which coefficient is tested (e.g. 1 for the treatment in ``[1, t, x]``).
    alpha : float
        Error level of the confidence sequence.
    phi : float
        Prior scale ``phi`` of the Bayes factor (default 1, as in ``savvi``).

    Returns
    -------
    estimate, se, low, high, p_value

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(400), rng.integers(0, 2, 400)])
    >>> y = 0.5 * X[:, 1] + rng.normal(size=400)
    >>> est, se, low, high, p = anytime_valid_coefficient(X.T @ X, X.T @ y, y @ y, 400, 1)
    >>> bool(low < est < high), bool(p < 0.05)
    (True, True)
    """
    if not 0 < alpha < 1:
        raise SpecError(f"The 'alpha' parameter must be a float in (0, 1). Got {alpha!r} instead.")
    if not phi > 0:
        raise SpecError(f"The 'phi' (prior scale) parameter must be > 0. Got {phi!r} instead.")
    xtx = np.asarray(xtx, dtype=float)
    xty = np.asarray(xty, dtype=float)
    p = xtx.shape[-1]
    n = np.asarray(n, dtype=float)
    if np.any(n - p - 1 <= 0):
        raise DataError(f"the anytime-valid regression needs more than {p + 1} rows; got {int(np.min(n))}.")
    inv = np.linalg.inv(xtx)
    beta = (inv @ xty[..., None])[..., 0]
    sse = np.asarray(yty, dtype=float) - (beta * xty).sum(-1)
    sigma2 = sse / (n - p)
    inv_jj = inv[..., column, column]
    se = np.sqrt(inv_jj * sigma2)
    est = beta[..., column]
    nu = n - p - 1
    z2 = 1.0 / inv_jj
    r = phi / (phi + z2)
    t2 = (est / se) ** 2
    log_bf = 0.5 * np.log(r) + 0.5 * (nu + 1) * (np.log1p(t2 / nu) - np.log1p(r * t2 / nu))
    p_value = np.minimum(1.0, np.exp(-log_bf))
    q = (r * alpha**2) ** (1.0 / (nu + 1))
    half = se * np.sqrt(nu * (1 - q) / np.maximum(q - r, 1e-300))
    out = (est, se, est - half, est + half, p_value)
    if np.ndim(est) == 0:
        return tuple(float(v) for v in out)  # type: ignore[return-value]
    return out


def anytime_valid_ols(y: np.ndarray, X: np.ndarray, column: int, alpha: float = 0.05, *,
                      phi: float = 1.0) -> tuple[float, float, float, float, float]:
    """:func:`anytime_valid_coefficient` on data: ``y`` (n,) and the design ``X`` (n, p) with intercept.

    Examples
    --------
    >>> import causal_kit as ck
    >>> df = ck.datasets.load("ab_cuped_sim")
    >>> X = np.column_stack([np.ones(len(df)), df["treat"], df["pre"]])
    >>> est, se, low, high, p = anytime_valid_ols(df["y"].to_numpy(), X, 1)
    >>> round(est, 4), round(p, 4)
    (0.256, 0.0058)
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise DataError(f"y must have one value per row of X; got {y.shape} and {X.shape}.")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise DataError(f"the regression design has rank {np.linalg.matrix_rank(X)} < {X.shape[1]} columns; "
                        "drop collinear covariates.")
    return anytime_valid_coefficient(X.T @ X, X.T @ y, y @ y, X.shape[0], column, alpha, phi=phi)
