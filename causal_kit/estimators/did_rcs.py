"""Difference-in-differences on repeated cross-sections (``spec.panel: false``).

Each period brings a new sample (stores, customers, houses), so no unit is followed and there
are no unit fixed effects. The estimate is the OLS coefficient on ``group x post`` in

    y = a + b * group + period indicators + tau * (group x post) + covariates + e,

which with two periods is the textbook 2x2 (the difference of the two groups' changes in
means). ``group`` comes from ``spec.treatment`` (a 0/1 group flag) with ``spec.treatment_start``,
or from ``spec.cohort`` (one adoption date). Standard errors are HC1 (heteroskedasticity-robust)
or, with ``spec.cluster`` (e.g. the state or store chain that defines the group), CRV1
clustered with the ``G/(G-1) (n-1)/(n-k)`` factor; t intervals with ``n - k`` or ``G - 1``
degrees of freedom (Stata ``regress, vce(robust|cluster)``, statsmodels ``OLS`` HC1 / cluster).
Period indicators are absorbed by subtracting period means (Frisch-Waugh-Lovell), which gives
the same coefficient and sandwich as the full regression and keeps 1M rows well under a second.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._data import prepare
from ..errors import DataError, IdentificationError, SpecError
from ..result import Diagnostic, EffectEstimate, make_lineage
from ._did_common import fast_t_ci

__all__ = ["fit_repeated_cross_sections"]


def fit_repeated_cross_sections(data: Any, spec: Any, *, alpha: float, seed: int) -> EffectEstimate:
    """The 2x2 DiD on repeated cross-sections; see the module docstring.

    Examples
    --------
    >>> import causal_kit as ck
    >>> df = ck.datasets.load("mpdta").query("year in (2003, 2004)")
    >>> df = df.assign(group=(df["first.treat"] == 2004).astype(int))
    >>> df = df[(df["first.treat"] == 0) | (df["group"] == 1)].drop(columns="countyreal")
    >>> spec = ck.ExperimentSpec(name="rcs", design="did", outcome="lemp", time="year",
    ...                          treatment="group", treatment_start=2004, panel=False)
    >>> res = fit_repeated_cross_sections(df, spec, alpha=0.05, seed=0)
    >>> round(res.estimate, 6)
    -0.010503
    """
    if spec.weights is not None:
        raise SpecError(f"DiD on repeated cross-sections does not support observation weights yet "
                        f"(spec.weights={spec.weights!r}); remove spec.weights.")
    prepared = prepare(data, spec)
    frame = prepared.frame
    _check_not_a_panel(frame, spec)
    t_idx, times = pd.factorize(frame[spec.time], sort=True)
    times = np.asarray(times)
    if len(times) < 2:
        raise IdentificationError(f"column {spec.time!r} (spec.time) has a single period ({times[0]!r}); a "
                                  "difference-in-differences needs a period before and one after the start.")
    group, start = _group_and_start(frame, spec, times)
    post = t_idx >= start
    if not post.any() or post.all():
        raise IdentificationError(f"every row of {spec.time!r} falls {'after' if post.all() else 'before'} the "
                                  f"treatment start {times[start]!r}; a pre- and a post-period are both needed.")
    for g, name in ((1, "treated"), (0, "comparison")):
        for p, when in ((False, "before"), (True, "after")):
            if not ((group == g) & (post == p)).any():
                raise IdentificationError(f"no {name}-group row {when} the treatment start {times[start]!r}; the "
                                          "2x2 needs both groups in both periods.")
    covs = list(spec.covariates)
    y = frame[spec.outcome].to_numpy(dtype=float)
    X = np.column_stack([(group * post).astype(float), group.astype(float)]
                        + [frame[c].to_numpy(dtype=float) for c in covs])
    names = ["group_x_post", "group"] + covs
    # period indicators absorbed by period-mean subtraction (FWL): same coefficients and sandwich
    counts = np.bincount(t_idx)
    Z = np.column_stack([y, X])
    means = np.column_stack([np.bincount(t_idx, weights=Z[:, j]) for j in range(Z.shape[1])])
    Z -= (means / counts[:, None])[t_idx]
    yt, Xt = Z[:, 0], Z[:, 1:]
    n, p = Xt.shape
    k = p + len(times)  # period indicators incl. the intercept
    xtx = Xt.T @ Xt
    if np.linalg.matrix_rank(xtx) < p:
        raise DataError(f"the regressors {names} are collinear once period indicators are included (e.g. a "
                        "covariate that only varies by period or by group x period); drop it from spec.covariates.")
    bread = np.linalg.inv(xtx)
    beta = bread @ (Xt.T @ yt)
    resid = yt - Xt @ beta
    if spec.cluster is not None:
        codes, labels = pd.factorize(frame[spec.cluster], sort=True)
        n_cl = len(labels)
        if n_cl < 2:
            raise SpecError(f"column {spec.cluster!r} (spec.cluster) has a single cluster; cluster-robust "
                            "inference needs at least 2. Remove spec.cluster for robust (HC1) SEs.")
        xe = Xt * resid[:, None]
        scores = np.column_stack([np.bincount(codes, weights=xe[:, j], minlength=n_cl) for j in range(p)])
        meat = scores.T @ scores
        factor = n_cl / (n_cl - 1) * (n - 1) / (n - k)
        df_resid = float(n_cl - 1)
        how = f"CRV1 clustered by {spec.cluster!r} ({n_cl} clusters), t({n_cl - 1}) intervals"
    else:
        meat = (Xt * (resid ** 2)[:, None]).T @ Xt
        factor = n / (n - k)
        df_resid = float(n - k)
        how = f"HC1 heteroskedasticity-robust, t({n - k}) intervals"
    vcov = factor * bread @ meat @ bread
    est, se = float(beta[0]), float(np.sqrt(vcov[0, 0]))
    ci, pv = fast_t_ci(est, se, alpha, df=df_resid)
    cell = 2 * group + post
    n_cell = np.bincount(cell, minlength=4)
    table = pd.DataFrame({"group": ["comparison", "comparison", "treated", "treated"], "post": [False, True] * 2,
                          "mean": np.bincount(cell, weights=y, minlength=4) / n_cell, "n_rows": n_cell})
    coef = pd.DataFrame({"term": names, "estimate": beta, "se": np.sqrt(np.diag(vcov))})
    means_pre_treated = float(y[(group == 1) & post].mean()) - est
    return EffectEstimate(
        method="did", design=spec.design, estimand="ATT (treated group, post-periods; repeated cross-sections)",
        estimate=est, se=se, ci=(float(ci[0]), float(ci[1])), p_value=float(pv), alpha=alpha, n_obs=n,
        n_units=None, n_dropped=prepared.n_dropped, dropped_reasons=prepared.dropped_reasons,
        diagnostics=(_not_testable(),), tables={"cell_means": table, "coefficients": coef},
        lineage=make_lineage(spec, prepared.fingerprint, seed), df_resid=df_resid,
        inference=f"OLS group x post interaction with period indicators; {how}",
        outcome=spec.outcome or "", baseline=means_pre_treated, exposure=float(((group == 1) & post).sum()),
        details={"panel": False, "n_periods": len(times), "treatment_start": times[start],
                 "n_treated_rows": int((group == 1).sum()), "n_comparison_rows": int((group == 0).sum())},
        label="Difference-in-differences (repeated cross-sections)",
    )


def _check_not_a_panel(frame: pd.DataFrame, spec: Any) -> None:
    """With ``panel: false`` a unit column must not follow units over periods."""
    if spec.unit is None:
        return
    periods = frame.groupby(spec.unit, sort=False)[spec.time].nunique()
    repeated = periods[periods > 1]
    if len(repeated):
        raise DataError(
            f"spec.panel is false (repeated cross-sections) but column {spec.unit!r} (spec.unit) repeats across "
            f"periods for {len(repeated)} of {len(periods)} units (e.g. {repeated.index[:3].tolist()}). Which is it? "
            "If the same units are followed over time, set panel: true; if each period is a new sample, remove "
            "spec.unit (or give each row its own id).")


def _group_and_start(frame: pd.DataFrame, spec: Any, times: np.ndarray) -> tuple[np.ndarray, int]:
    """Treated-group flag per row and the index of the first treated period."""
    if spec.cohort is not None:
        from .._panel import is_never_treated

        cohort = frame[spec.cohort]
        never = is_never_treated(cohort).to_numpy()
        starts = pd.unique(cohort[~never])
        if len(starts) != 1:
            raise IdentificationError(
                f"column {spec.cohort!r} (spec.cohort) has {len(starts)} adoption dates "
                f"({sorted(starts.tolist())[:4]}); the repeated cross-section DiD needs one. Split the data by "
                "cohort (the staggered repeated cross-section estimator is not available yet).")
        k = int(np.searchsorted(times, pd.Series(starts).astype(times.dtype).iloc[0]))
        return (~never).astype(int), k
    if spec.treatment_start is None:
        raise SpecError(
            "repeated cross-sections need the treated group of every row, before and after the start: give "
            "spec.treatment as the 0/1 group flag with spec.treatment_start, or spec.cohort. A per-period "
            "treated indicator cannot tell which pre-period rows belong to the treated group.")
    g = frame[spec.treatment].to_numpy(dtype=float)
    try:
        k = int(np.searchsorted(times, pd.Series([spec.treatment_start]).astype(times.dtype).iloc[0]))
    except (TypeError, ValueError):
        raise DataError(f"spec.treatment_start={spec.treatment_start!r} cannot be compared with column "
                        f"{spec.time!r} (dtype {times.dtype}); give it in the same type.") from None
    return (g == 1).astype(int), k


def _not_testable() -> Diagnostic:
    return Diagnostic(
        "pre_trends", "not_applicable",
        "With repeated cross-sections and one pre-period the parallel-trends assumption cannot be tested here; "
        "compare the groups' means over earlier periods (an event study) if the data have them.",
        assumption="parallel_trends")
