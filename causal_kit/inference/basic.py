"""Wald-type confidence intervals and p-values from an estimate and its standard error."""

from __future__ import annotations

import math

# scipy.special, not scipy.stats: the same distribution functions, and importing
# scipy.stats costs seconds on a first call in a fresh process
from scipy.special import ndtr, ndtri, stdtr, stdtrit

__all__ = ["normal_ci", "t_ci", "wald_test"]


def normal_ci(estimate: float, se: float, alpha: float = 0.05) -> tuple[tuple[float, float], float]:
    """Normal-approximation CI and two-sided p-value: ``((low, high), p)``."""
    return t_ci(estimate, se, alpha, df=None)


def t_ci(
    estimate: float, se: float, alpha: float = 0.05, df: float | None = None
) -> tuple[tuple[float, float], float]:
    """t-based CI and two-sided p-value (normal when ``df`` is None or infinite)."""
    normal = df is None or not math.isfinite(df)
    q = float(ndtri(1 - alpha / 2) if normal else stdtrit(df, 1 - alpha / 2))
    if not se > 0 or not math.isfinite(se):
        return (math.nan, math.nan), math.nan
    z = abs(estimate / se)
    p = float(2 * (ndtr(-z) if normal else stdtr(df, -z)))
    return (estimate - q * se, estimate + q * se), p


def wald_test(estimate: float, se: float, df: float | None = None) -> float:
    """Two-sided p-value of ``estimate / se``."""
    return t_ci(estimate, se, 0.05, df)[1]
