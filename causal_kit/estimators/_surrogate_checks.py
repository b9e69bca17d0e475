"""Diagnostics and tables of the surrogate index: surrogacy, comparability, fit, validation.

Used by :mod:`causal_kit.estimators.surrogate`. Each function returns a flat table or
:class:`~causal_kit.result.Diagnostic` values grouped under the assumptions ``surrogacy``,
``comparability``, ``fit`` and ``sensitivity``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConvergenceError
from ..inference.basic import normal_ci
from ..result import Diagnostic
from . import _surrogate_core as core

AUC_MAX_ROWS = 20_000  # rows per side for the sample classifier (seeded subsample above this)
SMD_WARN, SMD_FAIL = 0.1, 0.25
AUC_WARN, AUC_FAIL = 0.6, 0.75


def surrogate_effects(stats: core.ExperimentStats, surrogates: list[str]) -> pd.DataFrame:
    """Effect of the treatment on each surrogate and on their mean (the naive short-term reading)."""
    q = len(surrogates)
    vectors = {s: np.eye(len(stats.d))[1 + j] for j, s in enumerate(surrogates)}
    vectors["mean of the surrogates"] = np.r_[0.0, np.full(q, 1.0 / q), np.zeros(len(stats.d) - 1 - q)]
    rows = []
    for name, e in vectors.items():  # each surrogate is a column of the design: tau = d'e, var = e'Me
        rows.append({"surrogate": name, "effect": float(stats.d @ e), "se": math.sqrt(e @ stats.m_robust @ e),
                     "se_classical": math.sqrt(e @ stats.m_classical @ e)})
    return pd.DataFrame(rows)


def validation_table(exp: pd.DataFrame, y_col: str, index: np.ndarray, fit: dict[str, Any], d: Any,
                     alpha: float) -> pd.DataFrame:
    """Experimental vs surrogate estimate on the rows where the experiment has the long-term outcome."""
    m = exp[y_col].notna().to_numpy()
    cv = core.contrast(d.t[m], None if d.X is None else d.X[m])
    y = exp[y_col].to_numpy(float)[m]
    s = index[m]
    grad = d.W_e[m][:, fit["idx"]].T @ cv.a
    v_obs = core.index_variance(grad, fit["W_o"], fit["WtW_inv"], fit["resid"], d.clusters_obs)
    clusters = None if d.clusters_exp is None else d.clusters_exp[m]
    out = []
    for name, v, extra in (("experimental (long-term outcome observed)", y, 0.0),
                           ("surrogate index, same rows", s, v_obs),
                           ("difference (index minus experimental)", s - y, v_obs)):
        var = core.contrast_variance(cv, v, clusters)
        est = float(cv.a @ v)
        se = math.sqrt(var["robust"] + extra)
        (lo, hi), p = normal_ci(est, se, alpha)
        out.append({"quantity": name, "estimate": est, "se": se, "se_classical": math.sqrt(var["classical"]),
                    "ci_low": lo, "ci_high": hi, "p_value": p, "n": int(m.sum())})
    return pd.DataFrame(out)


def bias_bounds(exp: pd.DataFrame, spec: Any, d: Any, ks: tuple[float, ...], validation: bool) -> pd.DataFrame:
    """The paper's bound on the bias from a surrogacy violation explaining a share k of the variance.

    ``sqrt(Var(Y) k (1 - R2_T~S)(1 - R2_Y~S) / Var(T))``: ``Var(T)`` and ``R2_T~S`` in the
    experiment; ``Var(Y)`` and ``R2_Y~S`` on the validation cohort when the experiment has the
    long-term outcome, else in the observational sample.
    """
    st = d.stats
    tf = d.t.astype(float)
    sst = float(np.sum((tf - tf.mean()) ** 2))
    ssr = float(tf @ tf - st.wtt @ np.linalg.solve(st.wtw, st.wtt))
    r2_t = 1.0 - ssr / sst
    if validation:
        m = exp[spec.long_term_outcome].notna().to_numpy()
        W, y, where = d.W_e[m], exp[spec.long_term_outcome].to_numpy(float)[m], "validation cohort"
    else:
        W, y, where = d.W_o, d.y_obs, "observational sample"
    _, _, resid = core.ols(W, y)
    r2_y = 1.0 - float(resid @ resid) / float(np.sum((y - y.mean()) ** 2))
    var_y, var_t = float(np.var(y)), sst / len(tf)
    return pd.DataFrame([{"k": float(k), "bound": math.sqrt(var_y * k * (1 - r2_t) * (1 - r2_y) / var_t),
                          "r2_treatment_on_surrogates": r2_t, "r2_outcome_on_surrogates": r2_y,
                          "var_outcome": var_y, "var_treatment": var_t, "outcome_sample": where} for k in ks])


def bias_diagnostics(bounds: pd.DataFrame, estimate: float) -> list[Diagnostic]:
    out = []
    for row in bounds.itertuples():
        pct = f"{100 * row.k:g}%"
        ok = row.bound < abs(estimate)
        msg = (f"A surrogacy violation explaining {pct} of the long-term outcome's residual variance could bias the "
               f"estimate by up to {row.bound:.3g}; " + (
                   "the effect's sign survives such a violation." if ok else
                   f"that exceeds the estimate ({estimate:.3g}), so the conclusion rests on surrogacy holding closely: "
                   "add surrogates measured later, or validate on a cohort with the long-term outcome."))
        out.append(Diagnostic(f"surrogacy_bias_bound_{pct.rstrip('%')}pct", "pass" if ok else "warn", msg,
                              statistic=float(row.bound), threshold=abs(float(estimate)), assumption="surrogacy"))
    return out


def validation_diagnostic(val: pd.DataFrame | None) -> Diagnostic:
    if val is None:
        return Diagnostic("surrogate_validation", "not_applicable",
                          "No validation cohort: the experiment has no long-term outcome yet; re-check the "
                          "projection when the first cohort's long-term outcome arrives.", assumption="surrogacy")
    diff = val.iloc[2]
    ok = diff.ci_low <= 0 <= diff.ci_high
    msg = (f"On the {int(diff.n)} experiment rows with the long-term outcome, the index differs from the experimental "
           f"estimate by {diff.estimate:.3g} (CI {diff.ci_low:.3g} to {diff.ci_high:.3g}); " + (
               "the surrogate projection is consistent with the outcome itself." if ok else
               "the index misses part of the effect: surrogacy fails here, so trust the experimental estimate and "
               "look for the path the surrogates do not capture."))
    return Diagnostic("surrogate_validation", "pass" if ok else "fail", msg, statistic=float(diff.estimate),
                      p_value=float(diff.p_value), assumption="surrogacy")


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    n1 = labels.sum()
    n0 = len(labels) - n1
    return float((ranks[labels == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def comparability(exp: pd.DataFrame, obs: pd.DataFrame, spec: Any, cols: list[str],
                  seed: int) -> tuple[pd.DataFrame, list[Diagnostic]]:
    """Standardised differences, a sample classifier's AUC, support and treated observational rows."""
    diags = []
    arm = 0
    tcol = spec.treatment
    if tcol in obs.columns:
        n_treated = int((obs[tcol] == 1).sum())
        if n_treated == len(obs):
            arm = 1
        if n_treated:
            diags.append(Diagnostic(
                "observational_treated", "warn",
                f"{n_treated} of {len(obs)} observational rows have {tcol} = 1: the index then learns the surrogate-"
                "outcome link under treatment, which is valid only if surrogacy holds (the paper's validation design). "
                "If those rows are not meant to be there, drop them from the observational sample.",
                statistic=float(n_treated), assumption="comparability"))
        else:
            diags.append(Diagnostic("observational_treated", "pass",
                                    f"No observational row has {tcol} = 1.", statistic=0.0, assumption="comparability"))
    ref = exp.loc[exp[tcol] == arm]
    label = "treated" if arm else "control"
    rows = []
    for col in cols:
        a, b = ref[col].to_numpy(float), obs[col].to_numpy(float)
        pooled = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        smd = (b.mean() - a.mean()) / pooled if pooled > 0 else 0.0
        rows.append({"variable": col, f"mean_experiment_{label}": a.mean(), "mean_observational": b.mean(),
                     "smd": smd})
    table = pd.DataFrame(rows)
    worst = float(table["smd"].abs().max())
    status = "pass" if worst < SMD_WARN else "warn" if worst < SMD_FAIL else "fail"
    who = table.loc[table["smd"].abs().idxmax(), "variable"]
    diags.append(Diagnostic(
        "comparability_smd", status,
        f"The largest standardised difference between the experiment's {label} arm and the observational sample is "
        f"{worst:.3g} ({who}); " + ("the samples look alike." if status == "pass" else
                                     "the samples differ: reweight or restrict the observational sample to "
                                     "rows like the experiment's before trusting the index."),
        statistic=worst, threshold=SMD_WARN, assumption="comparability"))
    diags.append(_auc_diagnostic(ref, obs, cols, seed, label))
    diags.append(_support_diagnostic(exp, obs, spec))
    return table, diags


def _auc_diagnostic(ref: pd.DataFrame, obs: pd.DataFrame, cols: list[str], seed: int, label: str) -> Diagnostic:
    from ._crossfit import logit_fit_predict

    rng = np.random.default_rng(seed + 1)
    parts = []
    for df in (ref, obs):
        X = df[cols].to_numpy(float)
        if len(X) > AUC_MAX_ROWS:
            X = X[rng.choice(len(X), AUC_MAX_ROWS, replace=False)]
        parts.append(X)
    X = np.vstack(parts)
    lab = np.r_[np.zeros(len(parts[0])), np.ones(len(parts[1]))]
    folds = rng.permutation(np.arange(len(X)) % 2)
    score = np.empty(len(X))
    try:
        for k in (0, 1):
            m = folds == k
            score[m] = logit_fit_predict(X[~m], lab[~m], X[m])
    except (ConvergenceError, np.linalg.LinAlgError):
        return Diagnostic("comparability_auc", "not_applicable",
                          "The sample classifier did not converge (separated or collinear surrogates); "
                          "read the standardised differences instead.", assumption="comparability")
    auc = _auc(score, lab)
    status = "pass" if auc < AUC_WARN else "warn" if auc < AUC_FAIL else "fail"
    return Diagnostic(
        "comparability_auc", status,
        f"A logistic classifier tells the observational rows from the experiment's {label} arm with out-of-fold AUC "
        f"{auc:.3f} (0.5 = indistinguishable); " + ("the samples are comparable on the surrogates." if status == "pass"
                                                     else "the samples differ, so the index may not transfer."),
        statistic=auc, threshold=AUC_WARN, assumption="comparability")


def _support_diagnostic(exp: pd.DataFrame, obs: pd.DataFrame, spec: Any) -> Diagnostic:
    outside = np.zeros(len(exp), dtype=bool)
    for col in spec.surrogates:
        e = exp[col].to_numpy(float)
        outside |= (e < obs[col].min()) | (e > obs[col].max())
    share = float(outside.mean())
    return Diagnostic(
        "surrogate_support", "pass" if share == 0 else "warn",
        f"{100 * share:.2f}% of experiment rows have a surrogate outside the observational sample's range; " + (
            "the index never extrapolates." if share == 0 else
            "the index extrapolates for them: widen the historical sample or trim those rows."),
        statistic=share, threshold=0.0, assumption="comparability")


def fit_diagnostic(oof_r2: float, n_folds: int) -> Diagnostic:
    ok = oof_r2 >= 0.1
    return Diagnostic(
        "surrogate_model_r2", "pass" if ok else "warn",
        f"The surrogates explain {100 * oof_r2:.1f}% of the long-term outcome's variance out of fold ({n_folds} folds); "
        + ("the index carries real signal." if ok else
           "the index is weak: add surrogates closer to the long-term outcome."),
        statistic=oof_r2, threshold=0.1, assumption="fit")


def path_diagnostic(path: pd.DataFrame) -> Diagnostic:
    if len(path) < 2:
        return Diagnostic("surrogate_path", "not_applicable",
                          "One surrogate: there is no path of estimates as surrogates are added.", assumption="sensitivity")
    last, prev = path.iloc[-1], path.iloc[-2]
    move = float(last.estimate - prev.estimate)
    ok = abs(move) < last.se
    return Diagnostic(
        "surrogate_path", "pass" if ok else "warn",
        f"Adding the last surrogate ({last.last_surrogate}) moves the estimate by {move:.3g} (SE {last.se:.3g}); " + (
            "the estimate has settled." if ok else
            "it is still moving, so surrogates measured later would likely change it: extend the surrogate window."),
        statistic=move, threshold=float(last.se), assumption="sensitivity")


def long_term_summary(tables: dict[str, pd.DataFrame], estimate: float, ci: tuple[float, float],
                      alpha: float) -> pd.DataFrame:
    """Short-term effect, projected long-term effect(s) and the experimental check, in one table."""
    naive = tables["surrogate_effects"].iloc[-1]
    (lo, hi), _ = normal_ci(float(naive.effect), float(naive.se), alpha)
    rows = [{"stage": "short-term: effect on the mean of the surrogates", "horizon": np.nan,
             "estimate": float(naive.effect), "ci_low": lo, "ci_high": hi},
            {"stage": "long-term: surrogate index", "horizon": np.nan, "estimate": estimate,
             "ci_low": ci[0], "ci_high": ci[1]}]
    if "projections" in tables:
        for r in tables["projections"].itertuples():
            rows.append({"stage": f"long-term: surrogate index, horizon {r.label}", "horizon": r.horizon,
                         "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high})
    if "validation" in tables:
        v = tables["validation"].iloc[0]
        rows.append({"stage": "long-term: experimental (validation cohort)", "horizon": np.nan,
                     "estimate": v.estimate, "ci_low": v.ci_low, "ci_high": v.ci_high})
    return pd.DataFrame(rows)
