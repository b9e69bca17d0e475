"""Mixture sequential probability ratio test (mSPRT) for means and proportions.

The mSPRT (Robbins 1970; Johari, Pekelis and Walsh, "Always valid inference: continuous
monitoring of A/B tests", Operations Research 2022) mixes the likelihood ratio of a normal
effect estimate over a normal prior ``N(null, tau^2)`` on the effect. With an estimate whose
variance at this look is ``V``, the mixture likelihood ratio is::

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 (estimate - null)^2 / (2 V (V + tau^2)))

By Ville's inequality ``Lambda`` exceeds ``1 / alpha`` at any look with probability at most
``alpha`` under the null, so ``p = min(1, 1 / Lambda)`` is an always-valid p-value and inverting
the test gives an always-valid interval. ``tau`` (on the effect's own scale) is the effect
size the test is most sensitive to: set it near the smallest effect worth detecting.

For proportions ``V`` is the plug-in Bernoulli variance ``p1 (1 - p1) / n1 + p0 (1 - p0) / n0``
(the form used by Optimizely's Stats Engine); for means it is the Welch variance (or any
asymptotically normal estimator's, e.g. CUPED's). The closed form is written with numpy so it
vectorises over looks and simulated runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import SpecError

__all__ = ["msprt", "msprt_proportions"]


def _check_tau(tau: Any) -> Any:
    value = np.asarray(tau, dtype=float) if not isinstance(tau, bool) else np.asarray(np.nan)
    if value.size == 0 or not np.all(np.isfinite(value) & (value > 0)):
        raise SpecError(f"The 'mixture_sd' (tau) parameter of the mSPRT must be a float > 0. Got {tau!r} instead.")
    return float(value) if value.ndim == 0 else value


def msprt(estimate: Any, variance: Any, tau: float, alpha: float = 0.05, *,
          null: float = 0.0) -> tuple[Any, Any, Any]:
    """Always-valid interval and p-value of the normal-mixture SPRT at this look.

    Parameters
    ----------
    estimate : float or array
        Effect estimate at this look (difference in means or proportions).
    variance : float or array
        Its variance at this look (``se**2``).
    tau : float or array
        Standard deviation of the normal mixture over effects, in the effect's units.
    alpha : float
        Error level: the interval covers the effect at every look with probability >= 1 - alpha.
    null : float
        Effect under the null hypothesis.

    Returns
    -------
    low, high, p_value

    Examples
    --------
    >>> low, high, p = msprt(0.3, 0.01, tau=0.2)
    >>> round(low, 4), round(high, 4), round(p, 4)
    (-0.0082, 0.6082, 0.0611)
    """
    tau = _check_tau(tau)
    V = np.asarray(variance, dtype=float)
    t2 = tau**2
    est = np.asarray(estimate, dtype=float)
    informative = np.isfinite(V) & (V > 0)
    V = np.where(informative, V, 1.0)  # placeholder; uninformative looks get p = 1 below
    log_lr = 0.5 * np.log(V / (V + t2)) + t2 * (est - null) ** 2 / (2.0 * V * (V + t2))
    p = np.where(informative, np.minimum(1.0, np.exp(-log_lr)), 1.0)
    half = np.sqrt(2.0 * V * (V + t2) / t2 * (np.log(1.0 / alpha) + 0.5 * np.log((V + t2) / V)))
    half = np.where(informative, half, np.inf)
    low, high = est - half, est + half
    if np.ndim(p) == 0:
        return float(low), float(high), float(p)
    return low, high, p


def msprt_proportions(x1: Any, n1: Any, x0: Any, n0: Any, tau: float, alpha: float = 0.05, *,
                      null: float = 0.0) -> tuple[Any, Any, Any, Any]:
    """mSPRT for a difference in proportions ``x1 / n1 - x0 / n0`` with the plug-in variance.

    Returns
    -------
    estimate, low, high, p_value

    Examples
    --------
    >>> est, low, high, p = msprt_proportions(560, 5000, 500, 5000, tau=0.02)
    >>> round(est, 4), round(p, 4)
    (0.012, 0.5992)
    """
    n1 = np.asarray(n1, dtype=float)
    n0 = np.asarray(n0, dtype=float)
    p1, p0 = np.asarray(x1, dtype=float) / n1, np.asarray(x0, dtype=float) / n0
    V = p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0
    # a look where both arms are all 0 or all 1 carries no evidence: keep p at 1
    V = np.where(V > 0, V, np.inf)
    est = p1 - p0
    low, high, p = msprt(est, V, tau, alpha, null=null)
    if np.ndim(p) == 0:
        return float(est), float(low), float(high), float(p)
    return est, low, high, p
