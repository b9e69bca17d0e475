"""Selection-on-observables diagnostics: propensity overlap, covariate balance, nuisance fit.

Plain functions on numpy arrays shared by the DML, IPW and matching estimators. Each returns
a :class:`~causal_kit.result.Diagnostic` and the flat table its plot needs:

* :func:`propensity_overlap`: histogram of the estimated propensity by arm, the share of
  rows outside ``[trim, 1 - trim]`` and how many propensities were trimmed;
* :func:`weighted_balance`: standardised mean differences before and after weighting;
* :func:`nuisance_quality`: out-of-fold R-squared of the outcome model and AUC (binary) or
  R-squared (continuous) of the treatment model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..result import Diagnostic

__all__ = ["propensity_overlap", "weighted_balance", "nuisance_quality", "auc", "r_squared"]


def auc(d: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for the binary label ``d`` (Mann-Whitney form)."""
    from scipy.stats import rankdata

    d = np.asarray(d).astype(bool)
    n1, n0 = int(d.sum()), int((~d).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[d].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def r_squared(y: np.ndarray, pred: np.ndarray) -> float:
    """Out-of-sample R-squared: ``1 - SSE / SST`` around the sample mean."""
    sst = float(np.sum((y - y.mean()) ** 2))
    return float(1 - np.sum((y - pred) ** 2) / sst) if sst > 0 else float("nan")


def propensity_overlap(
    m: np.ndarray, d: np.ndarray, trim: float, n_bins: int = 20, trimmed: bool = True
) -> tuple[Diagnostic, pd.DataFrame]:
    """Overlap check on the estimated propensity ``m`` (before trimming).

    Status: pass when at most 1% of rows fall outside ``[trim, 1 - trim]``, warn up to 10%,
    fail above. Outside rows are trimmed (their propensity is clipped), never dropped, and
    the count is stated in the message (``trimmed=False`` for methods that do not trim).

    Examples
    --------
    >>> import numpy as np
    >>> diag, table = propensity_overlap(np.array([0.2, 0.5, 0.995]), np.array([0, 1, 1]), 0.01)
    >>> diag.status, int(table["treated"].sum())
    ('fail', 2)
    """
    d = np.asarray(d).astype(bool)
    lo, hi = trim, 1 - trim
    outside = (m < lo) | (m > hi)
    share = float(outside.mean())
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(m, edges[1:-1]), 0, n_bins - 1)
    table = pd.DataFrame(
        {
            "bin_low": edges[:-1],
            "bin_high": edges[1:],
            "treated": np.bincount(idx[d], minlength=n_bins),
            "control": np.bincount(idx[~d], minlength=n_bins),
        }
    )
    status = "pass" if share <= 0.01 else ("warn" if share <= 0.10 else "fail")
    message = (
        f"{int(outside.sum())} of {len(m)} rows ({share:.1%}) have an estimated propensity outside "
        f"[{lo:g}, {hi:g}] (treated range {m[d].min():.3f}-{m[d].max():.3f}, control range "
        f"{m[~d].min():.3f}-{m[~d].max():.3f})"
        + ("; their propensities were trimmed to the bounds, not dropped." if trimmed else ".")
    )
    if status != "pass":
        message += " Restrict the sample to the region of common support or report the ATT."
    return (
        Diagnostic("overlap", status, message, statistic=share, threshold=0.01, assumption="overlap"),
        table,
    )


def _smd(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> float:
    t, c = d, ~d
    m1 = np.average(x[t], weights=w[t])
    m0 = np.average(x[c], weights=w[c])
    pooled = np.sqrt((x[t].var() + x[c].var()) / 2)  # unweighted SDs: a fixed yardstick
    return float((m1 - m0) / pooled) if pooled > 0 else 0.0


def weighted_balance(
    X: np.ndarray, names: Sequence[str], d: np.ndarray, weights: np.ndarray, label: str = "weighting"
) -> tuple[Diagnostic, pd.DataFrame]:
    """Standardised mean differences of every covariate, raw and after ``weights``.

    The SMD is the difference in (weighted) means over the unweighted pooled SD. Status:
    pass when the largest absolute weighted SMD is below 0.1, warn below 0.25, fail above.
    """
    d = np.asarray(d).astype(bool)
    ones = np.ones(len(d))
    raw = [_smd(X[:, j], d, ones) for j in range(X.shape[1])]
    adj = [_smd(X[:, j], d, weights) for j in range(X.shape[1])]
    table = pd.DataFrame({"feature": list(names), "smd_raw": raw, "smd_weighted": adj})
    worst = int(np.argmax(np.abs(adj)))
    stat = float(abs(adj[worst]))
    status = "pass" if stat < 0.1 else ("warn" if stat < 0.25 else "fail")
    message = (
        f"largest absolute standardised mean difference after {label} is {stat:.3f} "
        f"({names[worst]!r}; raw {abs(raw[worst]):.3f})."
    )
    message += (
        " Covariates are balanced." if status == "pass"
        else " Improve the propensity model (more flexible learner, interactions) or check overlap."
    )
    return (
        Diagnostic("balance", status, message, statistic=stat, threshold=0.1, assumption="balance"),
        table,
    )


def nuisance_quality(
    y: np.ndarray, y_pred: np.ndarray, d: np.ndarray, d_pred: np.ndarray, binary: bool
) -> tuple[Diagnostic, Diagnostic, pd.DataFrame]:
    """Out-of-fold fit of the outcome and treatment models.

    The outcome model warns when its out-of-fold R-squared is negative (worse than the
    mean). The propensity model warns when its AUC exceeds 0.9 (treatment nearly
    determined by the covariates: thin overlap); a continuous-treatment model warns when its
    R-squared exceeds 0.95 (little independent variation left to identify the effect).
    """
    r2y = r_squared(y, y_pred)
    dy = Diagnostic(
        "outcome_model_fit",
        "warn" if not r2y >= 0 else "pass",
        f"the outcome model's out-of-fold R-squared is {r2y:.3f}"
        + ("; it predicts worse than the mean: choose another learner_y." if not r2y >= 0 else "."),
        statistic=r2y,
        threshold=0.0,
        assumption="fit",
    )
    if binary:
        stat, name, bad = auc(d, d_pred), "AUC", 0.9
        warn = stat > bad
        tail = (
            "; treatment is nearly predictable from the covariates, so overlap is thin."
            if warn else "; values near 0.5 mean assignment looks close to random given the covariates."
        )
    else:
        stat, name, bad = r_squared(d, d_pred), "R-squared", 0.95
        warn = stat > bad
        tail = (
            "; little independent treatment variation is left, so the estimate is fragile."
            if warn else "."
        )
    dd = Diagnostic(
        "treatment_model_fit",
        "warn" if warn else "pass",
        f"the treatment model's out-of-fold {name} is {stat:.3f}{tail}",
        statistic=stat,
        threshold=bad,
        assumption="fit",
    )
    table = pd.DataFrame(
        {"model": ["outcome", "treatment"], "metric": ["R-squared", name], "value": [r2y, stat]}
    )
    return dy, dd, table
