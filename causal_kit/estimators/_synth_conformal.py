"""Conformal inference (Chernozhukov, Wüthrich & Zhu 2021) as synthetic control's interval.

``SyntheticControl(inference="conformal")`` keeps its point estimate and replaces the
placebo-based interval with the conformal one: the p-value of "no effect in any post-period"
from moving-block permutations of the residuals of a simplex-weighted fit on all periods, the
interval of a constant effect by test inversion, and a per-period table of pointwise
intervals (:mod:`causal_kit.inference.conformal`). Several treated units are read as their
average; on level panels whose units differ in size each donor is rescaled to the treated
units' average pre-period level.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import IdentificationError, SpecError
from ..inference.conformal import (
    conformal_pvalue,
    constant_effect_pvalues,
    invert_constant_effect,
    pointwise_pvalues,
    residuals,
)


def conformal_readout(Y: np.ndarray, scales: np.ndarray, cohort_res: list[dict[str, Any]], donors: np.ndarray,
                      times: np.ndarray, tau: float, alpha: float) -> dict[str, Any]:
    """Conformal p-value, constant-effect interval and pointwise table for one adoption period."""
    if len(cohort_res) != 1:
        raise SpecError(
            f"inference='conformal' needs one adoption period; the treated units adopt in {len(cohort_res)} "
            "different periods. Read each cohort out separately, or use the default inference."
        )
    c = cohort_res[0]
    g, rows = int(c["g"]), np.asarray(c["rows"])
    T = Y.shape[1]
    if T * alpha < 1:
        raise IdentificationError(
            f"conformal inference permutes blocks of periods: with {T} periods its smallest p-value is 1/{T}, "
            f"above alpha={alpha}, so it can never reject. It needs at least {math.ceil(1 / alpha)} periods; "
            "use the default inference.")
    y1 = Y[rows].mean(axis=0)
    scaled = not np.all(scales == 1.0)
    D = Y[donors] / scales[donors, None] * scales[rows].mean() if scaled else Y[donors]
    Y0 = D.T
    p = conformal_pvalue(y1, Y0, g, 0.0)
    at_tau = y1.copy()
    at_tau[g:] -= tau
    spread = float(np.std(residuals(at_tau, Y0)[:g]))
    lo, hi = invert_constant_effect(lambda th: constant_effect_pvalues(y1, Y0, g, th), tau, spread, alpha)
    if math.isnan(lo) or math.isnan(hi):
        raise IdentificationError(
            "the conformal test of SyntheticControl rejects every constant effect: the residuals of the "
            "simplex fit on all periods are not alike over time (e.g. a trend or a break the donors cannot "
            "follow), so no constant effect describes the post-period. Use the default inference, or read the "
            "per-period intervals of conformal_pointwise (causal_kit.inference.conformal).")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise IdentificationError(
            "the conformal interval of SyntheticControl is unbounded here (the test keeps constant effects "
            f"up to {10 * 3 ** 5:.0f} times the pre-period residual SD away); use the default inference or add "
            "pre-periods.")
    se = (hi - lo) / (2 * float(stats.norm.ppf(1 - alpha / 2)))
    gap = c["gaps"].mean(axis=0)
    low_t, high_t = [], []
    for t in range(T - g):
        a, b = invert_constant_effect(lambda th, t=t: pointwise_pvalues(y1, Y0, g, t, th), float(gap[g + t]),
                                      spread, alpha, n_grid=41, n_refine=3)
        low_t.append(a)
        high_t.append(b)
    table = pd.DataFrame({"time": times[g:], "effect": gap[g:], "ci_low": low_t, "ci_high": high_t})
    how = (f"conformal inference (Chernozhukov, Wüthrich & Zhu 2021): simplex weights refitted on all {T} periods "
           "under each hypothesised effect; p-value of no effect in any post-period from the "
           f"{T} moving-block permutations of the residuals (L1 statistic); CI = every constant effect that test "
           "does not reject (test inversion on a refined grid); SE = CI width / (2 z), the SE the interval "
           "implies; per-period intervals in tables['conformal_intervals']"
           + ("; donors rescaled to the treated units' average pre-period level" if scaled else ""))
    return {"se": float(se), "ci": (float(lo), float(hi)), "p_value": float(p), "inference": how,
            "table": table}
