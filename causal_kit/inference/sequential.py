"""Asymptotic confidence sequences and always-valid p-values for a difference in means.

A confidence sequence (CS) is a sequence of intervals that covers the true effect at every
look simultaneously with probability at least ``1 - alpha``, so a readout may be looked at
as often as one likes and stopped whenever it excludes zero. This module implements the
asymptotic CS of Waudby-Smith, Arnold, Wu, Wang and Ramdas, "Time-uniform central limit
theory and asymptotic confidence sequences" (Annals of Statistics, 2024; arXiv:2103.06476,
eq. 9 for the interval, eq. 155 for the p-value, eq. 161 for the tuning ``rho``).

For an estimator built from ``n`` units (both arms together) with standard error ``se``, the
per-unit variance is ``s2 = se**2 * n`` and the CS half-width is::

    sqrt(s2) * sqrt(2 (n rho^2 + 1) / (n^2 rho^2) * log(sqrt(n rho^2 + 1) / alpha))

``rho`` sets the sample size at which the CS is tightest. It is either given directly or
derived from the planned sample size ``planned_n`` with ``rho = sqrt((-2 log alpha + log(-2
log alpha + 1)) / planned_n)``, the same parameterisation as GrowthBook's
``sequential_tuning_parameter``. The estimate and standard error may come from any
asymptotically normal estimator: the plain difference in means, the CUPED / regression-
adjusted difference (covariate adjustment inside the sequence, which narrows it exactly as it
narrows the fixed-horizon interval) or the delta-method relative lift.

The maths is a closed form, written here with numpy so that it vectorises over many looks
and many simulated experiments at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import SpecError

__all__ = ["cs_rho", "cs_halfwidth", "confidence_sequence", "always_valid_p_value"]


def cs_rho(planned_n: float, alpha: float = 0.05) -> float:
    """Tuning ``rho`` that makes the confidence sequence tightest at ``planned_n`` units.

    Parameters
    ----------
    planned_n : float
        Total number of units (both arms) at which the sequence should be tightest.
    alpha : float
        Error level of the sequence.

    Examples
    --------
    >>> round(cs_rho(5000, 0.05), 6)
    0.03984
    """
    if not planned_n > 0:
        raise SpecError(f"The 'planned_n' parameter of the confidence sequence must be > 0. Got {planned_n!r} instead.")
    if not 0 < alpha < 1:
        raise SpecError(f"The 'alpha' parameter of the confidence sequence must be a float in (0, 1). Got {alpha!r} instead.")
    minus_2_log_alpha = -2.0 * np.log(alpha)
    return float(np.sqrt((minus_2_log_alpha + np.log(minus_2_log_alpha + 1.0)) / planned_n))


def _rho(alpha: float, planned_n: float | None, rho: float | None) -> float:
    if rho is not None and planned_n is not None:
        raise SpecError("Give the confidence sequence either 'rho' or 'planned_n', not both.")
    if rho is not None:
        if not rho > 0:
            raise SpecError(f"The 'rho' parameter of the confidence sequence must be > 0. Got {rho!r} instead.")
        return float(rho)
    if planned_n is None:
        raise SpecError("The confidence sequence needs its tuning: 'planned_n' (units at which it is tightest) or 'rho'.")
    return cs_rho(planned_n, alpha)


def cs_halfwidth(se: Any, n: Any, alpha: float = 0.05, *, planned_n: float | None = None,
                 rho: float | None = None) -> Any:
    """Half-width of the asymptotic confidence sequence at ``n`` units with standard error ``se``.

    Vectorised: ``se`` and ``n`` may be arrays of any broadcastable shape (looks x runs).

    Examples
    --------
    >>> round(cs_halfwidth(0.1, 10_000, 0.05, planned_n=10_000), 4)
    0.3035
    """
    r2 = _rho(alpha, planned_n, rho) ** 2
    n = np.asarray(n, dtype=float)
    s2 = np.asarray(se, dtype=float) ** 2 * n
    nr2p1 = n * r2 + 1.0
    width = np.sqrt(s2) * np.sqrt(2.0 * nr2p1 / (n**2 * r2) * np.log(np.sqrt(nr2p1) / alpha))
    return float(width) if np.ndim(width) == 0 else width


def confidence_sequence(estimate: Any, se: Any, n: Any, alpha: float = 0.05, *,
                        planned_n: float | None = None, rho: float | None = None) -> tuple[Any, Any]:
    """The always-valid ``1 - alpha`` interval ``(low, high)`` at the current look.

    Parameters
    ----------
    estimate, se : float or array
        Effect estimate and its (fixed-horizon) standard error at this look.
    n : int or array
        Units in the comparison at this look (both arms together).
    alpha : float
        The interval covers the effect at every look at once with probability >= 1 - alpha.
    planned_n, rho : float
        The tuning: either the total units at which the sequence is tightest, or ``rho``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="t", design="ab", outcome="y", treatment="treat")
    >>> fixed = ck.estimate(ck.datasets.load("ab_cuped_sim"), spec)
    >>> low, high = confidence_sequence(fixed.estimate, fixed.se, fixed.n_obs, planned_n=10_000)
    >>> bool(low < fixed.ci[0] and high > fixed.ci[1])
    True
    """
    half = cs_halfwidth(se, n, alpha, planned_n=planned_n, rho=rho)
    est = np.asarray(estimate, dtype=float) if np.ndim(estimate) else float(estimate)
    return est - half, est + half


def always_valid_p_value(estimate: Any, se: Any, n: Any, *, rho: float, null: float = 0.0) -> Any:
    """Always-valid p-value for ``effect == null`` at this look (Waudby-Smith et al., eq. 155).

    It is ``1 / E`` for the mixture e-value ``E``, capped at 1; ``p <= alpha`` exactly when the
    confidence sequence with the same ``rho`` excludes ``null``. Across looks report the running
    minimum, which stays valid.

    Examples
    --------
    >>> p = always_valid_p_value(0.3, 0.1, 10_000, rho=cs_rho(10_000))
    >>> round(p, 4)
    0.0549
    """
    n = np.asarray(n, dtype=float)
    var = np.asarray(se, dtype=float) ** 2
    st2 = (np.asarray(estimate, dtype=float) - null) ** 2 * n / var
    nr2p1 = n * rho**2 + 1.0
    log_e = rho**2 * st2 / (2.0 * nr2p1) - 0.5 * np.log(nr2p1)
    p = np.minimum(1.0, np.exp(-log_e))
    return float(p) if np.ndim(p) == 0 else p
