"""Wild cluster bootstrap for one regression coefficient (few clusters, e.g. geo tests).

Cluster-robust standard errors over-reject when there are few clusters. The wild cluster
bootstrap (Cameron, Gelbach & Miller 2008) restores size: residuals are flipped by one random
weight per cluster (Rademacher, or Webb's six-point weights when clusters are very few) and
the CRV1 t-statistic is recomputed on every draw.

The computation uses the Frisch-Waugh-Lovell form: with ``x`` the coefficient's regressor
and ``u`` the residuals, both already residualised on every other regressor and fixed effect,
each draw needs only per-cluster sums, so all draws are one ``(B, G)`` matrix product. The
p-value imposes the null (WCR, "restricted"); the interval inverts that same test (all beta0
whose null-imposed bootstrap p-value exceeds alpha, found by bisection), so the p-value and
the interval never contradict each other. With ``2**G <= n_boot`` Rademacher draws, all
sign patterns are enumerated instead of sampled.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from .cluster import cluster_scores, ssc_factor

__all__ = ["WildBootstrapResult", "wild_cluster_bootstrap", "draw_weights"]

_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


@dataclass(frozen=True)
class WildBootstrapResult:
    """Outcome of :func:`wild_cluster_bootstrap`."""

    t_stat: float
    p_value: float
    ci: tuple[float, float]
    n_boot: int
    weights: str
    enumerated: bool


def draw_weights(n_clusters: int, n_boot: int, kind: str, seed: int) -> tuple[np.ndarray, bool]:
    """``(B, G)`` bootstrap weights and whether the Rademacher set was fully enumerated."""
    if kind == "rademacher" and 2**n_clusters <= n_boot:
        grid = np.array(list(product((-1.0, 1.0), repeat=n_clusters)))
        return grid, True
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(n_boot, n_clusters)), False
    return rng.choice(_WEBB, size=(n_boot, n_clusters)), False


def wild_cluster_bootstrap(
    x: np.ndarray,
    u_restricted: np.ndarray,
    u_unrestricted: np.ndarray,
    beta: float,
    cluster_codes: np.ndarray,
    *,
    k: int,
    n_boot: int = 9999,
    weights: str = "rademacher",
    alpha: float = 0.05,
    seed: int = 0,
) -> WildBootstrapResult:
    """Wild cluster bootstrap-t for ``H0: beta = 0``.

    Parameters
    ----------
    x : (n,) array
        The regressor of interest, residualised on all other regressors and fixed effects.
    u_restricted : (n,) array
        Residuals of the outcome regressed on everything except ``x`` (the null imposed).
    u_unrestricted : (n,) array
        Residuals of the full regression.
    beta : float
        The estimated coefficient.
    cluster_codes : (n,) int array
        Cluster index ``0..G-1``.
    k : int
        Parameter count for the CRV1 small-sample factor.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(8), 20); x = rng.normal(size=160); u = rng.normal(size=160)
    >>> res = wild_cluster_bootstrap(x, u, u, 0.0, g, k=1, n_boot=999)
    >>> res.enumerated, 0 <= res.p_value <= 1
    (True, True)
    """
    codes = np.asarray(cluster_codes)
    n_clusters = int(codes.max()) + 1
    q = float(x @ x)
    c = ssc_factor(len(x), k, n_clusters)
    # per-cluster sums: sum x*u and sum x^2 (the latter enters the residual update)
    xu_r = cluster_scores(x * u_restricted, codes, n_clusters)[:, 0]
    xu_u = cluster_scores(x * u_unrestricted, codes, n_clusters)[:, 0]
    xx = cluster_scores(x * x, codes, n_clusters)[:, 0]
    se_hat = np.sqrt(c * np.sum(xu_u**2)) / q
    t_obs = beta / se_hat if se_hat > 0 else np.nan
    w, enumerated = draw_weights(n_clusters, n_boot, weights, seed)

    def t_draws(xu: np.ndarray) -> np.ndarray:
        b_star = (w @ xu) / q  # (B,) coefficient deviation of each draw
        score = w * xu[None, :] - b_star[:, None] * xx[None, :]
        se_star = np.sqrt(c * np.sum(score**2, axis=1)) / q
        with np.errstate(divide="ignore", invalid="ignore"):
            return b_star / se_star

    def p_value_at(beta0: float) -> float:
        # H0: beta = beta0. With x residualised (FWL), the restricted residuals are u_r - beta0 * x.
        t_star = t_draws(xu_r - beta0 * xx)
        return float(np.mean(np.abs(t_star) >= abs((beta - beta0) / se_hat) - 1e-12))

    p = p_value_at(0.0)
    # The CI inverts the same restricted bootstrap test, so the CI and the p-value always agree.
    ci = (_invert(p_value_at, beta, -se_hat, alpha), _invert(p_value_at, beta, se_hat, alpha))
    return WildBootstrapResult(
        t_stat=float(t_obs), p_value=p, ci=ci, n_boot=len(w), weights=weights, enumerated=enumerated
    )


def _invert(p_value_at, beta: float, step: float, alpha: float, max_se: float = 200.0) -> float:
    """Boundary of ``{beta0: p(beta0) > alpha}`` on the side of ``sign(step)``, by bisection.

    Returns +-inf when the test never rejects within ``max_se`` standard errors.
    """
    inside, outside = beta, None
    distance = 1.0
    while distance <= max_se:
        trial = beta + distance * step
        if p_value_at(trial) <= alpha:
            outside = trial
            break
        inside = trial
        distance *= 2.0
    if outside is None:
        return float(np.copysign(np.inf, step))
    for _ in range(40):
        mid = 0.5 * (inside + outside)
        if p_value_at(mid) > alpha:
            inside = mid
        else:
            outside = mid
        if abs(outside - inside) <= 1e-6 * abs(step):
            break
    return float(0.5 * (inside + outside))
