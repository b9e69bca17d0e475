"""Sensitivity of a selection-on-observables estimate to an unobserved confounder.

Implements the omitted-variable-bias bounds of Chernozhukov, Cinelli, Newey, Sharma and
Syrgkanis (2022, "Long story short"), in the parametrisation DoubleML uses: a confounder
that explains a share ``cf_y`` of the outcome's residual variation and for which the Riesz
representer gains a share ``cf_d`` can move the estimate by at most

    |bias| <= |rho| * sqrt(cf_y * cf_d / (1 - cf_d)) * sqrt(sigma2 * nu2),

where ``sigma2`` is the mean squared outcome residual and ``nu2`` the mean squared Riesz
representer. The *robustness value* is the common ``cf_y = cf_d`` that would move the
estimate to zero (``rv``) or move the edge of the confidence interval to zero
(``rv_alpha``; this version ignores the sampling noise of the bound itself).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from ..result import Diagnostic

__all__ = ["ovb_bias", "robustness_value", "ovb_sensitivity"]


def ovb_bias(cf_y: float | np.ndarray, cf_d: float | np.ndarray, sigma2: float, nu2: float, rho: float = 1.0):
    """Largest absolute bias from a confounder of strength ``(cf_y, cf_d)``."""
    cf_d = np.asarray(cf_d, dtype=float)
    return np.abs(rho) * np.sqrt(np.asarray(cf_y) * cf_d / (1 - cf_d) * sigma2 * nu2)


def robustness_value(theta: float, se: float, sigma2: float, nu2: float, alpha: float = 0.05) -> tuple[float, float]:
    """Robustness values ``(rv, rv_alpha)`` in [0, 1].

    ``rv`` solves ``r^2 / (1 - r) = theta^2 / (sigma2 nu2)``; ``rv_alpha`` replaces
    ``|theta|`` by the distance from zero of the nearer CI bound (0 when the CI covers zero).

    Examples
    --------
    >>> rv, rv_a = robustness_value(2.0, 0.5, sigma2=4.0, nu2=1.0)
    >>> round(rv, 4), rv_a < rv
    (0.618, True)
    """
    S = math.sqrt(max(sigma2 * nu2, 0.0))
    z = float(stats.norm.ppf(1 - alpha / 2))

    def solve(target: float) -> float:
        if target <= 0 or S == 0:
            return 0.0
        a = (target / S) ** 2
        return float((-a + math.sqrt(a * a + 4 * a)) / 2)

    return solve(abs(theta)), solve(abs(theta) - z * se)


def ovb_sensitivity(
    theta: float,
    se: float,
    sigma2: float,
    nu2: float,
    alpha: float = 0.05,
    grid: tuple[float, ...] = (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3),
) -> tuple[Diagnostic, pd.DataFrame, dict[str, float]]:
    """Diagnostic, bounds table (``cf_y = cf_d`` over ``grid``) and the robustness values.

    Status: pass when a confounder would need ``cf_y = cf_d >= 0.05`` to push the CI to zero
    (``rv_alpha >= 0.05``), warn otherwise (including when the CI already covers zero).
    """
    rv, rv_a = robustness_value(theta, se, sigma2, nu2, alpha)
    z = float(stats.norm.ppf(1 - alpha / 2))
    g = np.asarray(grid)
    bias = ovb_bias(g, g, sigma2, nu2)
    table = pd.DataFrame(
        {
            "cf": g,
            "bias_bound": bias,
            "theta_lower": theta - bias,
            "theta_upper": theta + bias,
            "ci_lower": theta - bias - z * se,
            "ci_upper": theta + bias + z * se,
        }
    )
    status = "pass" if rv_a >= 0.05 else "warn"
    message = (
        f"an unobserved confounder explaining {rv:.1%} of the residual variation of both the outcome "
        f"and the treatment would move the estimate to zero, and {rv_a:.1%} would make it "
        "insignificant"
    )
    message += (
        "; compare these shares with the strongest observed covariates before trusting the sign."
        if status == "pass" else "; the conclusion is fragile to modest hidden confounding."
    )
    diag = Diagnostic(
        "omitted_variable_bias", status, message, statistic=rv_a, threshold=0.05, assumption="sensitivity"
    )
    return diag, table, {"robustness_value": rv, "robustness_value_alpha": rv_a, "sigma2": sigma2, "nu2": nu2}
