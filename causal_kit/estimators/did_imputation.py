"""Borusyak, Jaravel & Spiess (2024) imputation estimator for staggered adoption.

Unit and period fixed effects are fitted on the untreated observations only (never-treated
units and the not-yet-treated periods of later cohorts). Each treated observation's
untreated outcome is imputed from them, ``tau_it = Y_it - alpha_i - lambda_t``, and the
effects are averaged: over all treated observations (the headline ATT) and by periods since
treatment (the event study). Standard errors are the paper's conservative cluster-robust
variance (Theorem 3): the estimator is a linear combination ``sum v_it Y_it``; untreated
cells enter with their first-stage residuals and treated cells with ``tau_it`` minus the
``v``-weighted average effect of their cohort x period cell. The pre-trend test (the
paper's Test 1) adds leads of treatment to the untreated-sample regression and tests them
jointly with a cluster-robust Wald F test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._typing import check_fraction
from ..errors import SpecError
from ..result import EffectEstimate, make_lineage
from ._did_common import (
    PanelData,
    fast_t_ci,
    load_panel,
    sup_t_critical,
    wald_pretrend,
    with_trends,
)
from ._imputation_core import (
    cluster_sums,
    fe_solve,
    first_stage,
    group_means,
    label_counts,
    lead_regression,
    relative_time,
    unit_to_clusters,
)

__all__ = ["ImputationDiD", "check_int_option", "bjs_variance", "bjs_indicator_variance"]


def check_int_option(value: Any, name: str, owner: str, minimum: int) -> None:
    """Raise SpecError unless ``value`` is None or an int >= ``minimum``."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise SpecError(f"The {name!r} parameter of {owner} must be None or an int >= {minimum}. "
                        f"Got {value!r} instead.")


class ImputationDiD:
    """Imputation difference-in-differences (Borusyak, Jaravel & Spiess 2024).

    Parameters
    ----------
    horizon_max : int, optional
        Largest number of periods since treatment in the event study (default: all). The
        headline ATT always averages every treated observation.
    pretrend_leads : int, optional
        Number of leads in the pre-trend test, counted back from two periods before
        treatment (the period just before is the normalisation). Default: all available.
    seed : int, optional
        Seed of the sup-t band draws; defaults to ``spec.seed``.
    alpha : float, optional
        Overrides ``spec.alpha``.

    Notes
    -----
    Uses every untreated observation as a control, so there is no control-group option.
    Covariates are not supported yet (a named error says so). The variance is conservative
    when effects are heterogeneous within cohort x period cells; confidence intervals use the
    normal distribution, as the paper and R ``didimputation`` do.

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="mpdta", design="staggered_did", outcome="lemp",
    ...                          unit="countyreal", time="year", cohort="first.treat")
    >>> from causal_kit.estimators.did_imputation import ImputationDiD
    >>> res = ImputationDiD().fit(ck.datasets.load("mpdta"), spec)
    >>> round(res.estimate, 6), round(res.se, 6)
    (-0.04771, 0.013222)
    """

    def __init__(self, *, horizon_max: int | None = None, pretrend_leads: int | None = None,
                 seed: int | None = None, alpha: float | None = None) -> None:
        self.horizon_max = horizon_max
        self.pretrend_leads = pretrend_leads
        self.seed = seed
        self.alpha = alpha

    def fit(self, data: Any, spec: Any) -> EffectEstimate:
        """Impute untreated outcomes and aggregate the effects; see the class docstring."""
        owner = "ImputationDiD"
        alpha, seed = check_common(self, owner, spec)
        check_int_option(self.horizon_max, "horizon_max", owner, 0)
        check_int_option(self.pretrend_leads, "pretrend_leads", owner, 1)
        pdat = load_staggered(data, spec, owner)
        panel, observed = pdat.panel, pdat.observed
        n, t = panel.Y.shape
        fs = first_stage(panel.Y, observed, panel.D, owner)
        rel = relative_time(panel.first_treated, t)
        horizons = np.unique(rel[fs.treated])
        if self.horizon_max is not None:
            horizons = horizons[horizons <= self.horizon_max]
        pos = np.searchsorted(horizons, rel)
        hit = fs.treated & (pos < len(horizons)) & (horizons[np.minimum(pos, len(horizons) - 1)] == rel)
        labels = np.where(hit, pos, -1)
        tau = np.where(fs.treated, fs.resid, 0.0)
        est, V = bjs_indicator_variance(labels, len(horizons), tau, fs, rel, panel.first_treated, pdat)
        se = np.sqrt(np.diag(V))
        crit = sup_t_critical(V[1:, 1:], alpha, seed)
        rows = [_row(int(h), est[j], se[j], alpha, crit, "post") for j, h in enumerate(horizons, start=1)]
        pre_diag, lead_rows = pretrend_test(pdat, fs, rel, self.pretrend_leads, alpha, seed)
        rows += lead_rows + [_reference_row()]
        es = pd.DataFrame(rows).sort_values("event_time").reset_index(drop=True)
        g = pdat.n_clusters
        ci, p = fast_t_ci(float(est[0]), float(se[0]), alpha, df=None)
        y_treated = float(panel.Y[fs.treated].mean())
        return EffectEstimate(
            method="did_imputation", design=spec.design,
            estimand="ATT (average over all treated unit-periods)",
            estimate=float(est[0]), se=float(se[0]), ci=(float(ci[0]), float(ci[1])), p_value=float(p), alpha=alpha,
            n_obs=int(observed.sum()), n_units=n, n_dropped=pdat.prepared.n_dropped,
            dropped_reasons=pdat.prepared.dropped_reasons, diagnostics=(pre_diag,),
            tables=with_trends({"event_study": es}, panel),
            lineage=make_lineage(spec, pdat.prepared.fingerprint, seed),
            inference=(f"Borusyak-Jaravel-Spiess conservative cluster-robust variance clustered by "
                       f"{pdat.cluster_col!r} ({g} clusters), cohort x period averages; normal CIs; "
                       f"sup-t bands (seed {seed}); controls: all untreated observations"),
            outcome=spec.outcome or "", baseline=y_treated - float(est[0]), exposure=float(fs.treated.sum()),
            details={"n_clusters": g, "sup_t_critical": crit, "n_untreated_obs": int(fs.untreated.sum()),
                     "n_treated_obs": int(fs.treated.sum())},
            label="Imputation DiD (Borusyak-Jaravel-Spiess)",
        )


def check_common(est: Any, owner: str, spec: Any) -> tuple[float, int]:
    """Validate ``seed``/``alpha`` options and resolve them against the spec."""
    if est.seed is not None and (isinstance(est.seed, bool) or not isinstance(est.seed, int) or est.seed < 0):
        raise SpecError(f"The 'seed' parameter of {owner} must be None or an int >= 0. Got {est.seed!r} instead.")
    if est.alpha is not None:
        check_fraction(est.alpha, "alpha", owner)
    alpha = spec.alpha if est.alpha is None else float(est.alpha)
    return alpha, spec.seed if est.seed is None else est.seed


def load_staggered(data: Any, spec: Any, owner: str) -> PanelData:
    """Load the panel, refusing covariates (not supported by these estimators yet)."""
    if spec.covariates:
        raise SpecError(
            f"{owner} does not support covariates yet (spec.covariates={list(spec.covariates)!r}); remove "
            "them, or use staggered_did (Callaway-Sant'Anna) for conditional parallel trends."
        )
    return load_panel(data, spec, owner, covariates=False)


def bjs_indicator_variance(labels: np.ndarray, k: int, tau: np.ndarray, fs: Any, rel: np.ndarray,
                           first: np.ndarray, pdat: PanelData) -> tuple[np.ndarray, np.ndarray]:
    """Estimates and BJS variance of the overall ATT and ``k`` horizon averages (labels ``(N, T)``).

    Every weight vector here is constant within a cohort x period cell, so the ``v``-weighted
    cell averages of Theorem 3 are plain cell means of ``tau`` and are shared by all columns;
    with clusters nested in units the scores are accumulated per unit without forming
    ``(N, T, k)`` arrays. Other clusterings use :func:`bjs_variance`.
    """
    n1 = fs.treated.sum()
    per_u, per_t = label_counts(labels, k)
    counts = per_u.sum(axis=0)
    tau_u, _ = label_counts(labels, k, tau)
    est = np.r_[tau[fs.treated].sum() / n1, tau_u.sum(axis=0) / counts]
    if pdat.unit_clusters is None:
        W = np.concatenate([(fs.treated / n1)[..., None],
                            (labels[..., None] == np.arange(k)[None, None, :]) / counts], axis=2)
        return est, bjs_variance(W, tau, fs, rel, first, pdat)
    rhs_u = np.column_stack([fs.treated.sum(axis=1) / n1, per_u / counts])
    rhs_t = np.column_stack([fs.treated.sum(axis=0) / n1, per_t / counts])
    a, lam = fe_solve(fs.untreated, rhs_u, rhs_t)
    t_idx = np.broadcast_to(np.arange(rel.shape[1])[None, :], rel.shape)
    _, groups = np.unique((first[:, None] * rel.shape[1] + t_idx)[fs.treated], return_inverse=True)
    cell_mean = np.bincount(groups, weights=tau[fs.treated]) / np.bincount(groups)
    eps = np.zeros_like(tau)
    eps[fs.treated] = tau[fs.treated] - cell_mean[groups]
    treated_part = np.column_stack([eps.sum(axis=1) / n1, label_counts(labels, k, eps)[0] / counts])
    e1 = np.where(fs.untreated, fs.resid, 0.0)
    score = treated_part - (e1.sum(axis=1)[:, None] * a + e1 @ lam)
    psi = unit_to_clusters(score, pdat.unit_clusters, pdat.n_clusters)
    return est, psi.T @ psi


def bjs_variance(W: np.ndarray, tau: np.ndarray, fs: Any, rel: np.ndarray, first: np.ndarray,
                 pdat: PanelData) -> np.ndarray:
    """Conservative variance of ``sum W_it tau_it`` for each weight column (BJS Theorem 3)."""
    a, lam = fe_solve(fs.untreated, W.sum(axis=1), W.sum(axis=0))
    # v_it: the weight of Y_it in the estimator; untreated cells carry minus their projection
    v = np.where(fs.treated[..., None], W, 0.0) - np.where(fs.untreated[..., None], a[:, None, :] + lam[None], 0.0)
    t_idx = np.broadcast_to(np.arange(rel.shape[1])[None, :], rel.shape)
    cohort_period = first[:, None] * rel.shape[1] + t_idx
    codes, groups = np.unique(cohort_period[fs.treated], return_inverse=True)
    tau_t = tau[fs.treated]
    bar = group_means(tau_t, v[fs.treated], groups, len(codes))
    eps = np.zeros_like(v)
    eps[fs.untreated] = fs.resid[fs.untreated][:, None]
    eps[fs.treated] = tau_t[:, None] - bar[groups]
    psi = cluster_sums(v * eps, pdat.cluster, pdat.unit_clusters, pdat.n_clusters)
    return psi.T @ psi


def pretrend_test(pdat: PanelData, fs: Any, rel: np.ndarray, leads: int | None, alpha: float,
                  seed: int) -> tuple[Any, list[dict[str, Any]]]:
    """BJS Test 1: leads of treatment in the untreated-sample regression, jointly zero."""
    from ..result import Diagnostic

    pre = np.unique(rel[fs.untreated & (rel < -1) & (rel > np.iinfo(np.int32).min)])[::-1]
    if leads is not None:
        pre = pre[:leads]
    if len(pre) == 0:
        return Diagnostic("pre_trends", "not_applicable",
                          "No treated unit is observed two or more periods before treatment, so the "
                          "imputation pre-trend test cannot run; add earlier periods.",
                          assumption="parallel_trends"), []
    regs = np.stack([(fs.untreated & (rel == h)).astype(float) for h in pre], axis=2)
    beta, vcov = lead_regression(pdat.panel.Y, fs.untreated, regs, pdat.cluster, pdat.unit_clusters is not None)
    g = pdat.n_clusters
    diag = wald_pretrend(beta, vcov, alpha, "leads of treatment (untreated-sample regression)", df=g - 1)
    crit = sup_t_critical(vcov, alpha, seed)
    rows = [_row(int(h), beta[j], np.sqrt(vcov[j, j]), alpha, crit, "lead") for j, h in enumerate(pre)]
    return diag, rows


def _row(e: int, b: float, s: float, alpha: float, crit: float, kind: str) -> dict[str, Any]:
    (lo, hi), p = fast_t_ci(float(b), float(s), alpha, df=None)
    return {"event_time": e, "estimate": float(b), "se": float(s), "ci_low": lo, "ci_high": hi,
            "band_low": float(b - crit * s), "band_high": float(b + crit * s), "p_value": p,
            "reference": False, "kind": kind}


def _reference_row() -> dict[str, Any]:
    return {"event_time": -1, "estimate": 0.0, "se": 0.0, "ci_low": 0.0, "ci_high": 0.0, "band_low": 0.0,
            "band_high": 0.0, "p_value": float("nan"), "reference": True, "kind": "reference"}
