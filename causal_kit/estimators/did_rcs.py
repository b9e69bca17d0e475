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

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._data import prepare
from ..errors import DataError, IdentificationError, SpecError
from ..result import Diagnostic, EffectEstimate, make_lineage
from ._did_common import fast_t_ci

__all__ = ["fit_repeated_cross_sections", "fit_rcs_event_study"]


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
    rcs = _load(data, spec)
    group, post, y = rcs.group, rcs.post, rcs.y
    covs = list(spec.covariates)
    X = np.column_stack([(group * post).astype(float), group.astype(float)]
                        + [rcs.frame[c].to_numpy(dtype=float) for c in covs])
    names = ["group_x_post", "group"] + covs
    beta, vcov, df_resid, how = _ols(rcs, X, names, spec)
    est, se = float(beta[0]), float(np.sqrt(vcov[0, 0]))
    ci, pv = fast_t_ci(est, se, alpha, df=df_resid)
    cell = 2 * group + post
    n_cell = np.bincount(cell, minlength=4)
    table = pd.DataFrame({"group": ["comparison", "comparison", "treated", "treated"], "post": [False, True] * 2,
                          "mean": np.bincount(cell, weights=y, minlength=4) / n_cell, "n_rows": n_cell})
    coef = pd.DataFrame({"term": names, "estimate": beta, "se": np.sqrt(np.diag(vcov))})
    return EffectEstimate(
        method="did", design=spec.design, estimand="ATT (treated group, post-periods; repeated cross-sections)",
        estimate=est, se=se, ci=(float(ci[0]), float(ci[1])), p_value=float(pv), alpha=alpha, n_obs=len(y),
        n_units=None, n_dropped=rcs.prepared.n_dropped, dropped_reasons=rcs.prepared.dropped_reasons,
        diagnostics=(_not_testable(),), tables={"cell_means": table, "coefficients": coef},
        lineage=make_lineage(spec, rcs.prepared.fingerprint, seed), df_resid=df_resid,
        inference=f"OLS group x post interaction with period indicators; {how}",
        outcome=spec.outcome or "", baseline=float(y[(group == 1) & post].mean()) - est,
        exposure=float(((group == 1) & post).sum()),
        details={"panel": False, "n_periods": len(rcs.times), "treatment_start": rcs.times[rcs.start],
                 "n_treated_rows": int((group == 1).sum()), "n_comparison_rows": int((group == 0).sum())},
        label="Difference-in-differences (repeated cross-sections)",
    )


def fit_rcs_event_study(data: Any, spec: Any, *, reference: int, alpha: float, seed: int) -> EffectEstimate:
    """Event study on repeated cross-sections: group x period-since-start indicators.

    ``y = a + b * group + period indicators + sum_{e != reference} tau_e * group * 1{t - start = e}
    (+ covariates)``; the headline is the average of the post-start ``tau_e`` (``e >= 0``), with the
    same HC1 / CRV1 sandwich as :func:`fit_repeated_cross_sections`.

    Examples
    --------
    >>> import causal_kit as ck
    >>> df = ck.datasets.load("mpdta").query("`first.treat` in (0, 2006)").drop(columns="countyreal")
    >>> spec = ck.ExperimentSpec(name="rcs-es", design="event_study", outcome="lemp", time="year",
    ...                          cohort="first.treat", panel=False)
    >>> res = fit_rcs_event_study(df, spec, reference=-1, alpha=0.05, seed=0)
    >>> res.tables["event_study"]["event_time"].tolist()
    [-3, -2, -1, 0, 1]
    """
    from ..diagnostics.pretrend_power import pretrend_power_diagnostic
    from ._did_common import sup_t_critical, wald_pretrend

    rcs = _load(data, spec)
    group, y = rcs.group, rcs.y
    rel = rcs.t_idx - rcs.start
    times = np.unique(rel)
    if reference not in times:
        raise SpecError(f"The 'reference' parameter of EventStudy ({reference}) is not an event time of the data "
                        f"({times.tolist()}); choose one of them (usually -1).")
    events = times[times != reference]
    covs = list(spec.covariates)
    X = np.column_stack([(group * (rel == e)).astype(float) for e in events] + [group.astype(float)]
                        + [rcs.frame[c].to_numpy(dtype=float) for c in covs])
    names = [f"group_x_event_{e}" for e in events] + ["group"] + covs
    beta, vcov, df_resid, how = _ols(rcs, X, names, spec)
    k = len(events)
    b, V = beta[:k], vcov[:k, :k]
    post = events >= 0
    w = post / post.sum()
    est, se = float(w @ b), float(np.sqrt(w @ V @ w))
    ci, pv = fast_t_ci(est, se, alpha, df=df_resid)
    s = np.sqrt(np.diag(V))
    crit = sup_t_critical(V, alpha, seed)
    rows = []
    for j, e in enumerate(events):
        (lo, hi), p = fast_t_ci(float(b[j]), float(s[j]), alpha, df=df_resid)
        rows.append({"event_time": int(e), "estimate": float(b[j]), "se": float(s[j]), "ci_low": lo, "ci_high": hi,
                     "band_low": float(b[j] - crit * s[j]), "band_high": float(b[j] + crit * s[j]), "p_value": p,
                     "reference": False, "kind": "post" if e >= 0 else "lead"})
    rows.append({"event_time": int(reference), "estimate": 0.0, "se": 0.0, "ci_low": 0.0, "ci_high": 0.0,
                 "band_low": 0.0, "band_high": 0.0, "p_value": float("nan"), "reference": True, "kind": "reference"})
    es = pd.DataFrame(rows).sort_values("event_time").reset_index(drop=True)
    lead = events < reference
    diags = [wald_pretrend(b[lead], V[np.ix_(lead, lead)], alpha, "group x event-time coefficients", df=df_resid)]
    if lead.any() and reference == -1:
        diags.append(pretrend_power_diagnostic(V, events, estimate=est, alpha=alpha, seed=seed))
    return EffectEstimate(
        method="event_study", design=spec.design,
        estimand="ATT (average of post-treatment event-time effects; repeated cross-sections)",
        estimate=est, se=se, ci=(float(ci[0]), float(ci[1])), p_value=float(pv), alpha=alpha, n_obs=len(y),
        n_units=None, n_dropped=rcs.prepared.n_dropped, dropped_reasons=rcs.prepared.dropped_reasons,
        diagnostics=tuple(diags), tables={"event_study": es},
        lineage=make_lineage(spec, rcs.prepared.fingerprint, seed), df_resid=df_resid,
        inference=f"OLS group x event-time indicators with period indicators; {how}; sup-t bands (seed {seed})",
        outcome=spec.outcome or "", baseline=float(y[(group == 1) & (rel >= 0)].mean()) - est,
        details={"panel": False, "n_periods": len(rcs.times), "treatment_start": rcs.times[rcs.start],
                 "event_times": events.tolist(), "event_vcov": V.tolist(), "sup_t_critical": crit},
        label="Event study (repeated cross-sections)",
    )


@dataclass(frozen=True)
class _RCS:
    prepared: Any
    frame: pd.DataFrame
    t_idx: np.ndarray
    times: np.ndarray
    group: np.ndarray
    start: int
    post: np.ndarray
    y: np.ndarray


def _load(data: Any, spec: Any) -> _RCS:
    """Validate and copy the rows; resolve the treated group, the start and the post flag."""
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
                                  f"treatment start {times[min(start, len(times) - 1)]!r}; a pre- and a post-period "
                                  "are both needed.")
    for g, name in ((1, "treated"), (0, "comparison")):
        for p, when in ((False, "before"), (True, "after")):
            if not ((group == g) & (post == p)).any():
                raise IdentificationError(f"no {name}-group row {when} the treatment start {times[start]!r}; the "
                                          "2x2 needs both groups in both periods.")
    return _RCS(prepared, frame, t_idx, times, group, start, post, frame[spec.outcome].to_numpy(dtype=float))


def _ols(rcs: _RCS, X: np.ndarray, names: list[str], spec: Any) -> tuple[np.ndarray, np.ndarray, float, str]:
    """OLS of y on X with period indicators (absorbed), and its HC1 or CRV1 covariance."""
    t_idx, n_t = rcs.t_idx, len(rcs.times)
    counts = np.bincount(t_idx, minlength=n_t)
    Z = np.column_stack([rcs.y, X])
    means = np.column_stack([np.bincount(t_idx, weights=Z[:, j], minlength=n_t) for j in range(Z.shape[1])])
    Z -= (means / counts[:, None])[t_idx]
    yt, Xt = Z[:, 0], Z[:, 1:]
    n, p = Xt.shape
    k = p + n_t  # period indicators incl. the intercept
    xtx = Xt.T @ Xt
    if np.linalg.matrix_rank(xtx) < p:
        raise DataError(f"the regressors {names} are collinear once period indicators are included (e.g. a "
                        "covariate that only varies by period or by group x period); drop it from spec.covariates.")
    bread = np.linalg.inv(xtx)
    beta = bread @ (Xt.T @ yt)
    resid = yt - Xt @ beta
    if spec.cluster is not None:
        codes, labels = pd.factorize(rcs.frame[spec.cluster], sort=True)
        n_cl = len(labels)
        if n_cl < 2:
            raise SpecError(f"column {spec.cluster!r} (spec.cluster) has a single cluster; cluster-robust "
                            "inference needs at least 2. Remove spec.cluster for robust (HC1) SEs.")
        xe = Xt * resid[:, None]
        scores = np.column_stack([np.bincount(codes, weights=xe[:, j], minlength=n_cl) for j in range(p)])
        meat = scores.T @ scores
        factor = n_cl / (n_cl - 1) * (n - 1) / (n - k)
        return beta, factor * bread @ meat @ bread, float(n_cl - 1), (
            f"CRV1 clustered by {spec.cluster!r} ({n_cl} clusters), t({n_cl - 1}) intervals")
    meat = (Xt * (resid ** 2)[:, None]).T @ Xt
    return beta, n / (n - k) * bread @ meat @ bread, float(n - k), f"HC1 heteroskedasticity-robust, t({n - k}) intervals"


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
