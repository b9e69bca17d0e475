"""Refutation checks in the style of DoWhy: placebo treatment, random common cause, data subset.

DoWhy's refuters (``placebo_treatment_refuter``, ``random_common_cause``,
``data_subset_refuter``) re-run an estimator on perturbed data. We implement the same three
perturbations here and re-run the *caller's own* estimator (a function of ``X, y, d, w``),
because routing through DoWhy's model/identification machinery would re-fit its own
estimators and be far slower at the data sizes DML is used for; the judgement rules follow
DoWhy's intent but use the refit's own standard error instead of many simulations:

* placebo treatment: the treatment is permuted; the estimate should be indistinguishable
  from zero (two-sided z-test at ``alpha``), or, when the caller can score permutations
  without refitting, about ``alpha`` of many permutations should be significant;
* random common cause: an independent N(0, 1) covariate is added; the estimate should move
  by less than one original standard error;
* data subset: a random ``fraction`` of rows is kept; the difference to the full-sample
  estimate is compared with its null standard deviation ``se * sqrt(1 / fraction - 1)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from ..result import Diagnostic

__all__ = ["run_refuters", "EstimateFn"]

#: ``fn(X, y, d, w, clusters) -> (estimate, se)``
EstimateFn = Callable[[np.ndarray, np.ndarray, np.ndarray, "np.ndarray | None", "np.ndarray | None"], tuple]


def run_refuters(
    fn: EstimateFn,
    X: np.ndarray,
    y: np.ndarray,
    d: np.ndarray,
    w: np.ndarray | None,
    clusters: np.ndarray | None,
    theta: float,
    se: float,
    seed: int,
    alpha: float = 0.05,
    fraction: float = 0.8,
    placebo_fn: Callable[[np.ndarray], tuple] | None = None,
    n_placebo: int = 50,
) -> tuple[list[Diagnostic], pd.DataFrame]:
    """Run the three refutations; return one Diagnostic each and a summary table.

    ``placebo_fn(d_permuted) -> (estimate, se)`` may replace the refit for the placebo
    treatment when the caller can score it without refitting; it is then run on
    ``n_placebo`` permutations and the check is that at most ``alpha`` plus three binomial
    standard errors of them are significant (in the table, ``p_value`` holds that share).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2)); d = rng.normal(size=500); y = 2 * d + X[:, 0] + rng.normal(size=500)
    >>> def ols(X, y, d, w, c):
    ...     A = np.column_stack([np.ones(len(y)), d, X]); b, *_ = np.linalg.lstsq(A, y, rcond=None)
    ...     r = y - A @ b; cov = np.linalg.inv(A.T @ A) * (r @ r) / (len(y) - A.shape[1])
    ...     return b[1], float(np.sqrt(cov[1, 1]))
    >>> diags, table = run_refuters(ols, X, y, d, None, None, *ols(X, y, d, None, None), seed=2)
    >>> [x.status for x in diags]
    ['pass', 'pass', 'pass']
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    rows = []
    diags = []

    # placebo treatment
    if placebo_fn is None:
        perm = rng.permutation(n)
        t_p, s_p = fn(X, y, d[perm], w, clusters)
        p_p = float(2 * stats.norm.sf(abs(t_p / s_p))) if s_p > 0 else float("nan")
        ok = p_p >= alpha
        diags.append(
            Diagnostic(
                "refute_placebo_treatment",
                "pass" if ok else "warn",
                f"with a randomly permuted treatment the estimate is {t_p:.4g} (SE {s_p:.4g}, p = {p_p:.3f})"
                + ("; as expected it is indistinguishable from zero." if ok
                   else "; a placebo should give no effect: look for leakage or a misspecified model."),
                statistic=float(t_p),
                p_value=p_p,
                threshold=alpha,
                assumption="specification",
            )
        )
        rows.append(("placebo_treatment", t_p, s_p, 0.0, p_p))
    else:
        # cheap placebo: many permutations, checking that the test rejects at about rate alpha
        draws = np.array([placebo_fn(d[rng.permutation(n)]) for _ in range(n_placebo)], dtype=float)
        pvals = 2 * stats.norm.sf(np.abs(draws[:, 0] / draws[:, 1]))
        share = float(np.mean(pvals < alpha))
        limit = alpha + 3 * np.sqrt(alpha * (1 - alpha) / n_placebo)
        ok = share <= limit
        diags.append(
            Diagnostic(
                "refute_placebo_treatment",
                "pass" if ok else "warn",
                f"{share:.0%} of {n_placebo} randomly permuted treatments gave a significant placebo effect at "
                f"alpha = {alpha:g} (mean placebo estimate {draws[:, 0].mean():.4g})"
                + ("; the test is calibrated under no effect." if ok
                   else f", more than the {limit:.0%} allowed: standard errors are too small "
                   "(heavy tails or clustering not declared in spec.cluster)."),
                statistic=share,
                threshold=float(limit),
                assumption="specification",
            )
        )
        rows.append(("placebo_treatment", float(draws[:, 0].mean()), float(draws[:, 1].mean()), 0.0, share))

    # random common cause
    Xr = np.column_stack([X, rng.normal(size=n)])
    t_r, s_r = fn(Xr, y, d, w, clusters)
    shift = abs(t_r - theta) / se if se > 0 else float("nan")
    ok = shift < 1.0
    diags.append(
        Diagnostic(
            "refute_random_common_cause",
            "pass" if ok else "warn",
            f"adding an independent random covariate moves the estimate to {t_r:.4g}, "
            f"{shift:.2f} original SEs away"
            + ("; the estimate is stable." if ok else "; the estimate is unstable to irrelevant covariates: "
               "use more folds or repetitions (n_rep)."),
            statistic=float(shift),
            threshold=1.0,
            assumption="specification",
        )
    )
    rows.append(("random_common_cause", t_r, s_r, theta, float("nan")))

    # data subset
    keep = rng.random(n) < fraction
    t_s, s_s = fn(X[keep], y[keep], d[keep], None if w is None else w[keep],
                  None if clusters is None else clusters[keep])
    sd0 = se * np.sqrt(1 / fraction - 1)
    p_s = float(2 * stats.norm.sf(abs(t_s - theta) / sd0)) if sd0 > 0 else float("nan")
    ok = p_s >= alpha
    diags.append(
        Diagnostic(
            "refute_data_subset",
            "pass" if ok else "warn",
            f"on a random {fraction:.0%} subset the estimate is {t_s:.4g} (p = {p_s:.3f} for no change)"
            + ("; the estimate is stable." if ok else "; the estimate depends on a few rows: check outliers."),
            statistic=float(t_s),
            p_value=p_s,
            threshold=alpha,
            assumption="specification",
        )
    )
    rows.append(("data_subset", t_s, s_s, theta, p_s))
    table = pd.DataFrame(rows, columns=["refuter", "new_estimate", "new_se", "expected", "p_value"])
    table.insert(1, "original_estimate", theta)
    return diags, table
