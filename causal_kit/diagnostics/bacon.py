"""Goodman-Bacon (2021) decomposition of the two-way fixed-effects DiD estimate.

With staggered adoption the TWFE coefficient is a weighted average of every 2x2 DiD between
timing groups: treated vs never treated, earlier vs later treated (the later group as
control, before it is treated) and later vs earlier treated (the *earlier, already treated*
group as control: a "forbidden" comparison that is biased when effects change over time).
No maintained Python package computes it for our panel type, so it is written here from the
closed-form weights in Goodman-Bacon (2021, eqs. 10a-10g).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..result import Diagnostic

__all__ = ["bacon_decomposition", "bacon_diagnostic"]


def bacon_decomposition(Y: np.ndarray, first_treated: np.ndarray, times: np.ndarray | None = None) -> pd.DataFrame:
    """Decompose the TWFE DiD coefficient on a balanced panel without covariates.

    Parameters
    ----------
    Y : (N, T) array
        Outcome, balanced (no NaN).
    first_treated : (N,) int array
        Index of each unit's first treated period, -1 for never treated.
    times : (T,) array, optional
        Period labels used to name the groups.

    Returns
    -------
    DataFrame
        One row per 2x2 comparison: ``type`` (treated_vs_never, earlier_vs_later,
        later_vs_earlier), ``treated``, ``control``, ``estimate``, ``weight``. The weighted
        sum of ``estimate`` equals the TWFE coefficient.

    Examples
    --------
    >>> import numpy as np
    >>> from causal_kit import datasets
    >>> d = datasets.load("mpdta").sort_values(["countyreal", "year"])
    >>> Y = d["lemp"].to_numpy().reshape(500, 5)
    >>> g = d["first.treat"].to_numpy().reshape(500, 5)[:, 0]
    >>> first = np.where(g == 0, -1, g - 2003)
    >>> table = bacon_decomposition(Y, first, np.arange(2003, 2008))
    >>> round(float((table.estimate * table.weight).sum()), 6)
    -0.036549
    """
    Y = np.asarray(Y, dtype=float)
    n, t = Y.shape
    times = np.arange(t) if times is None else np.asarray(times)
    cohorts = np.unique(first_treated[first_treated >= 0])
    share = {int(k): float(np.mean(first_treated == k)) for k in cohorts}
    means = {int(k): Y[first_treated == k].mean(axis=0) for k in cohorts}
    dbar = {int(k): (t - k) / t for k in cohorts}
    has_never = bool((first_treated < 0).any())
    n_u = float(np.mean(first_treated < 0))
    y_u = Y[first_treated < 0].mean(axis=0) if has_never else None

    D = (first_treated[:, None] >= 0) & (np.arange(t)[None, :] >= first_treated[:, None])
    Dd = D - D.mean(axis=1, keepdims=True) - D.mean(axis=0, keepdims=True) + D.mean()
    var_d = float(np.mean(Dd**2))

    def did(yt: np.ndarray, yc: np.ndarray, lo: int, k: int, hi: int) -> float:
        # 2x2 DiD on periods [lo, hi): pre = [lo, k), post = [k, hi)
        return float((yt[k:hi].mean() - yt[lo:k].mean()) - (yc[k:hi].mean() - yc[lo:k].mean()))

    rows = []
    for k in map(int, cohorts):
        if has_never:
            nk, dk = share[k], dbar[k]
            nku = nk / (nk + n_u)
            w = (nk + n_u) ** 2 * nku * (1 - nku) * dk * (1 - dk) / var_d
            rows.append(("treated_vs_never", times[k], "never treated", did(means[k], y_u, 0, k, t), w))
        for j in map(int, cohorts):
            if j <= k:
                continue
            nk, nj, dk, dj = share[k], share[j], dbar[k], dbar[j]
            nkj = nk / (nk + nj)
            w_early = ((nk + nj) * (1 - dj)) ** 2 * nkj * (1 - nkj) * (dk - dj) / (1 - dj) * (1 - dk) / (1 - dj) / var_d
            w_late = ((nk + nj) * dk) ** 2 * nkj * (1 - nkj) * (dj / dk) * (dk - dj) / dk / var_d
            rows.append(("earlier_vs_later", times[k], f"cohort {times[j]}", did(means[k], means[j], 0, k, j), w_early))
            rows.append(("later_vs_earlier", times[j], f"cohort {times[k]}", did(means[j], means[k], k, j, t), w_late))
    out = pd.DataFrame(rows, columns=["type", "treated", "control", "estimate", "weight"])
    out["treated"] = [f"cohort {v}" for v in out["treated"]]
    return out


def bacon_diagnostic(table: pd.DataFrame, threshold: float = 0.10) -> Diagnostic:
    """Warn when later-vs-earlier ("forbidden") comparisons carry more than ``threshold`` weight.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"type": ["treated_vs_never", "later_vs_earlier"], "estimate": [1.0, 0.5],
    ...                   "weight": [0.7, 0.3]})
    >>> bacon_diagnostic(t).status
    'warn'
    """
    forbidden = table["type"] == "later_vs_earlier"
    w = float(table.loc[forbidden, "weight"].sum())
    if not forbidden.any():
        return Diagnostic(
            "bacon_forbidden_weight", "pass",
            "No later-vs-earlier comparisons: the TWFE estimate uses only clean controls.",
            statistic=0.0, threshold=threshold, assumption="specification",
        )
    bad = w > threshold
    est = float((table.loc[forbidden, "estimate"] * table.loc[forbidden, "weight"]).sum() / max(w, 1e-300))
    msg = (
        f"{w:.0%} of the TWFE weight comes from comparisons that use already-treated units as "
        f"controls (their average 2x2 estimate is {est:.4g}); "
        + ("prefer Callaway-Sant'Anna or Sun-Abraham, which avoid them." if bad
           else "this share is small, so TWFE is unlikely to be distorted by it.")
    )
    return Diagnostic(
        "bacon_forbidden_weight", "warn" if bad else "pass", msg,
        statistic=w, threshold=threshold, assumption="specification",
    )
