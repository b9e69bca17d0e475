"""Effect persistence and decay: fit decay curves to an effect path and project its value.

:func:`fit_decay` takes any per-period effect path with its uncertainty (an event study, a
surrogate-index projection table, or a frame of ``period, estimate, se``) and fits

* ``exponential``: ``c + a exp(-lambda t)`` (half-life ``ln 2 / lambda``),
* ``hyperbolic``: ``c + a / (1 + lambda t)`` (half-life ``1 / lambda``),
* ``linear``: ``a max(0, 1 - t / T)`` (linear to zero at ``T``; half-life ``T / 2``, long-run level 0),
* ``constant``: ``c`` (no decay),

by generalised least squares with the path's covariance (the diagonal of the SEs when no
covariance is given). The model with the lowest AIC (or hold-out error) is chosen; its
half-life, long-run level and the cumulative effect to a horizon get delta-method intervals
(the half-life's on the log scale, so it stays positive). With ``exposure`` and
``value_per_unit`` the cumulative effect becomes an annualised business value, and with a cost
(``report.cost`` of the spec, or ``cost=``) a return on investment.

The result is an ordinary :class:`~causal_kit.result.EffectEstimate` (method ``decay``): the
headline is the cumulative effect per unit to the horizon; the tables hold the model
comparison, the fitted path and the value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._data import fingerprint
from .._typing import DecayModel, check_option
from ..errors import ConvergenceError, DataError, SpecError
from ..inference.basic import normal_ci
from ..result import Diagnostic, EffectEstimate, make_lineage

__all__ = ["fit_decay", "decay_curve", "MODELS"]

MODELS: tuple[str, ...] = ("exponential", "hyperbolic", "linear", "constant")
_N_PARAMS = {"exponential": 3, "hyperbolic": 3, "linear": 2, "constant": 1}
_PERIOD_COLUMNS = ("period", "horizon", "event_time", "time")


def decay_curve(model: str, t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """The effect at times ``t`` under ``model`` with parameters ``theta`` (rates on the log scale).

    Examples
    --------
    >>> import numpy as np
    >>> decay_curve("exponential", np.array([0.0, 2.0]), np.array([1.0, np.log(np.log(2) / 2), 0.0]))
    array([1. , 0.5])
    """
    if model == "exponential":
        return theta[2] + theta[0] * np.exp(-np.exp(theta[1]) * t)
    if model == "hyperbolic":
        return theta[2] + theta[0] / (1.0 + np.exp(theta[1]) * t)
    if model == "linear":
        return theta[0] * np.clip(1.0 - t / np.exp(theta[1]), 0.0, None)
    return np.full(len(t), theta[0])


def _jacobian(model: str, t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    if model == "exponential":
        lam = np.exp(theta[1])
        e = np.exp(-lam * t)
        return np.column_stack([e, -theta[0] * t * lam * e, np.ones_like(t)])
    if model == "hyperbolic":
        lam = np.exp(theta[1])
        d = 1.0 + lam * t
        return np.column_stack([1.0 / d, -theta[0] * t * lam / d**2, np.ones_like(t)])
    if model == "linear":
        T = np.exp(theta[1])
        inside = t < T
        return np.column_stack([np.where(inside, 1.0 - t / T, 0.0), np.where(inside, theta[0] * t / T, 0.0)])
    return np.ones((len(t), 1))


def _half_life(model: str, log_rate: float) -> float:
    rate = math.exp(min(log_rate, 700.0))
    return {"exponential": math.log(2) / rate, "hyperbolic": 1.0 / rate, "linear": rate / 2.0}[model]


def _starts(model: str, t: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    span = max(float(np.ptp(t)), 1e-8)
    a0 = float(y[np.argmin(t)])
    last = float(y[np.argmax(t)])
    if model == "constant":
        return [np.array([float(np.mean(y))])]
    if model == "linear":
        return [np.array([a0, math.log(f * span + float(t.max()))]) for f in (0.5, 1.0, 3.0)]
    return [np.array([a0 - c, math.log(f / span), c]) for f in (0.3, 1.0, 4.0) for c in (0.0, last)]


def _fit_one(model: str, t: np.ndarray, y: np.ndarray, L_inv: np.ndarray) -> dict[str, Any] | None:
    """GLS fit of one model; ``L_inv`` whitens the residuals (inverse Cholesky factor of the covariance)."""
    from scipy.optimize import least_squares

    best = None
    for start in _starts(model, t, y):
        sol = least_squares(lambda th: L_inv @ (y - decay_curve(model, t, th)), start,
                            jac=lambda th: -L_inv @ _jacobian(model, t, th), method="lm", xtol=1e-12, ftol=1e-12)
        if best is None or sol.cost < best.cost:
            best = sol
    if model != "constant" and abs(best.x[1] - math.log(max(float(np.ptp(t)), 1e-8))) > 12:
        return None  # the rate ran off (no decay, or an instant drop, within the data): a degenerate curve
    J = L_inv @ _jacobian(model, t, best.x)
    try:
        cov = np.linalg.inv(J.T @ J)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) < 0):
        return None
    return {"theta": best.x, "cov": cov, "chi2": float(2 * best.cost), "converged": bool(best.success)}


def _path_from(path: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A (period, estimate, se) frame and the context (alpha, outcome, exposure, spec) of ``path``."""
    ctx: dict[str, Any] = {}
    if isinstance(path, EffectEstimate):
        ctx = {"alpha": path.alpha, "lineage": path.lineage, "outcome": path.outcome, "exposure": path.exposure,
               "spec": path.lineage.spec if path.lineage else {}, "source": path.method}
        if "projections" in path.tables:
            frame = path.tables["projections"].rename(columns={"horizon": "period"})
            cov_cols = [c for c in frame.columns if str(c).startswith("cov_")]
            if cov_cols:  # the surrogate index's joint covariance of its projections
                ctx["cov"] = frame[cov_cols].to_numpy(float)
                ctx["cov_order"] = np.argsort(frame["period"].to_numpy(float), kind="stable")
        elif "event_study" in path.tables:
            es = path.tables["event_study"]
            keep = es["event_time"] >= 0
            if "reference" in es.columns:
                keep &= ~es["reference"].astype(bool)
            frame = es.loc[keep].rename(columns={"event_time": "period"})
        else:
            raise DataError(
                f"the {path.method!r} result has no per-period effect table ('projections' or 'event_study'); "
                "pass a frame with columns period, estimate, se instead."
            )
    elif isinstance(path, pd.DataFrame):
        name = next((c for c in _PERIOD_COLUMNS if c in path.columns), None)
        if name is None or "estimate" not in path.columns or "se" not in path.columns:
            raise DataError(
                f"the effect path needs columns 'period' (or {', '.join(_PERIOD_COLUMNS[1:])}), 'estimate' and 'se'; "
                f"it has {list(path.columns)}."
            )
        frame = path.rename(columns={name: "period"})
    else:
        raise DataError(f"fit_decay takes an EffectEstimate or a DataFrame; got {type(path).__name__}.")
    frame = frame.loc[:, ["period", "estimate", "se"]].astype(float).sort_values("period").reset_index(drop=True)
    bad = ~np.isfinite(frame.to_numpy()).all(axis=1) | (frame["se"] <= 0)
    if bad.any():
        raise DataError(f"the effect path has {int(bad.sum())} periods with a missing estimate or a non-positive SE "
                        f"(periods {frame.loc[bad, 'period'].tolist()[:5]}); drop them first.")
    return frame, ctx


def _report_value(ctx: dict[str, Any], cost: float | None) -> tuple[str | None, float | None, bool]:
    report = (ctx.get("spec") or {}).get("report") or {}
    return report.get("currency"), cost if cost is not None else report.get("cost"), bool(report.get("outcome_is_currency"))


def _holdout_error(model: str, t: np.ndarray, y: np.ndarray, V: np.ndarray, n_hold: int) -> float:
    """Whitened squared error of the last ``n_hold`` periods predicted from the others."""
    fit_n = len(t) - n_hold
    if fit_n <= _N_PARAMS[model]:
        return math.nan
    L = np.linalg.cholesky(V[:fit_n, :fit_n])
    fit = _fit_one(model, t[:fit_n], y[:fit_n], np.linalg.inv(L))
    if fit is None:
        return math.nan
    err = y[fit_n:] - decay_curve(model, t[fit_n:], fit["theta"])
    return float(err @ np.linalg.solve(V[fit_n:, fit_n:], err))


def fit_decay(
    path: Any, *, cov: np.ndarray | None = None, horizon: float | None = None, step: float = 1.0,
    start: float | None = None, models: Sequence[str] = MODELS, select: str = "aic",
    periods_per_year: float | None = None, exposure: float | None = None, value_per_unit: float | None = None,
    cost: float | None = None, alpha: float | None = None, period_label: str = "period",
) -> EffectEstimate:
    """Fit decay models to an effect path, choose one, and project the cumulative effect and its value.

    Parameters
    ----------
    path : EffectEstimate or DataFrame
        A result with a ``projections`` (surrogate index at several horizons) or ``event_study``
        table (post-treatment event times), or a frame with ``period``, ``estimate``, ``se``.
    cov : array, optional
        Covariance of the path's estimates (in period order). Default: the joint covariance a
        surrogate-index result stores with its projections, else ``diag(se**2)``.
    horizon : float, optional
        Last period of the projection (default: the last observed period).
    step, start : float
        Periods summed for the cumulative effect: ``start, start + step, ..., horizon``
        (``start`` defaults to the first observed period).
    models : sequence of {"exponential", "hyperbolic", "linear", "constant"}
    select : {"aic", "holdout"}
        Lowest AIC (``chi2 + 2 k``), or lowest error predicting the last quarter of the path
        from the rest.
    periods_per_year : float, optional
        E.g. 52 for weeks, 4 for quarters: adds the annualised effect.
    exposure, value_per_unit : float, optional
        Units the per-unit effect applies to (default: the result's ``exposure``) and the money
        value of one outcome unit (default 1 when ``report.outcome_is_currency``): adds the value.
    cost : float, optional
        Cost of the change (default ``report.cost`` of the result's spec): adds the ROI.
    alpha : float, optional
        Default: the result's alpha, else 0.05.

    Returns
    -------
    EffectEstimate
        ``method="decay"``; headline: cumulative effect per unit to ``horizon``; tables
        ``decay_models``, ``decay_path``, ``decay_value`` and ``long_term``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from causal_kit.estimators.decay import fit_decay
    >>> t = np.arange(12.0)
    >>> path = pd.DataFrame({"period": t, "estimate": 0.2 + np.exp(-np.log(2) / 3 * t), "se": 0.05})
    >>> res = fit_decay(path, models=["exponential"], horizon=52)
    >>> round(res.details["half_life"], 3)
    3.0
    """
    for m in models:
        check_option(m, DecayModel, "models", "fit_decay")
    if select not in ("aic", "holdout"):
        raise SpecError(f"The 'select' parameter of fit_decay must be one of 'aic', 'holdout'. Got {select!r} instead.")
    frame, ctx = _path_from(path)
    alpha = alpha if alpha is not None else ctx.get("alpha", 0.05)
    t, y, se = (frame[c].to_numpy() for c in ("period", "estimate", "se"))
    k = len(t)
    if cov is None and "cov" in ctx:
        order = ctx["cov_order"]
        cov = ctx["cov"][np.ix_(order, order)]
    V = np.diag(se**2) if cov is None else np.asarray(cov, dtype=float)
    if V.shape != (k, k):
        raise DataError(f"cov must be {k} x {k} (one row per period of the path); got shape {V.shape}.")
    try:
        L_inv = np.linalg.inv(np.linalg.cholesky(V))
    except np.linalg.LinAlgError:
        raise DataError("cov is not positive definite; pass the path's covariance matrix (or none).") from None
    usable = [m for m in models if k > _N_PARAMS[m]]
    if not usable:
        raise DataError(f"the effect path has {k} periods; a decay model needs more periods than parameters "
                        f"({', '.join(f'{m}: {_N_PARAMS[m]}' for m in models)}). Add periods.")
    horizon = float(t.max()) if horizon is None else float(horizon)
    start = float(t.min()) if start is None else float(start)
    if horizon < start or step <= 0:
        raise SpecError(f"fit_decay needs horizon >= start and step > 0; got horizon={horizon}, start={start}, step={step}.")
    grid = np.arange(start, horizon + step / 2, step)
    z = float(normal_ci(0.0, 1.0, alpha)[0][1])
    n_hold = max(1, k // 4)
    fits, rows = {}, []
    for m in usable:
        fit = _fit_one(m, t, y, L_inv)
        if fit is None:
            continue
        fits[m] = fit
        th, C = fit["theta"], fit["cov"]
        g = _jacobian(m, grid, th).sum(axis=0)
        cum, cum_se = float(decay_curve(m, grid, th).sum()), float(math.sqrt(g @ C @ g))
        row = {"model": m, "n_params": _N_PARAMS[m], "chi2": fit["chi2"], "aic": fit["chi2"] + 2 * _N_PARAMS[m],
               "holdout_error": _holdout_error(m, t, y, V, n_hold) if select == "holdout" else math.nan,
               "cumulative": cum, "cumulative_low": cum - z * cum_se, "cumulative_high": cum + z * cum_se,
               "half_life": math.inf, "half_life_low": math.inf, "half_life_high": math.inf,
               "long_run": th[-1] if m != "linear" else 0.0, "long_run_se": math.sqrt(C[-1, -1]) if m != "linear" else 0.0,
               "converged": fit["converged"]}
        if m != "constant":
            s = math.sqrt(C[1, 1])
            hl = [_half_life(m, th[1] + sign * z * s) for sign in (0.0, 1.0, -1.0)]
            row.update(half_life=hl[0], half_life_low=min(hl[1:]), half_life_high=max(hl[1:]))
        if m == "constant":
            row["long_run"], row["long_run_se"] = th[0], math.sqrt(C[0, 0])
        rows.append(row)
    if not rows:
        raise ConvergenceError("no decay model could be fitted to the effect path (singular information matrix); "
                               "check that the path has periods with distinct values and finite SEs.")
    table = pd.DataFrame(rows)
    key = "aic" if select == "aic" or table["holdout_error"].isna().all() else "holdout_error"
    chosen = str(table.loc[table[key].idxmin(), "model"])
    table["chosen"] = table["model"] == chosen
    table["long_run_low"] = table["long_run"] - z * table["long_run_se"]
    table["long_run_high"] = table["long_run"] + z * table["long_run_se"]
    best = table.set_index("model").loc[chosen]
    th, C = fits[chosen]["theta"], fits[chosen]["cov"]
    estimate = float(best["cumulative"])
    se_cum = (float(best["cumulative_high"]) - estimate) / z
    ci, p = normal_ci(estimate, se_cum, alpha)

    full = np.union1d(grid, t)
    J = _jacobian(chosen, full, th)
    fit_se = np.sqrt(np.einsum("ij,jk,ik->i", J, C, J))
    fitted = decay_curve(chosen, full, th)
    obs = pd.Series(y, index=t)
    obs_se = pd.Series(se, index=t)
    decay_path = pd.DataFrame({"period": full, "observed": obs.reindex(full).to_numpy(),
                               "observed_se": obs_se.reindex(full).to_numpy(), "fitted": fitted,
                               "fit_low": fitted - z * fit_se, "fit_high": fitted + z * fit_se,
                               "in_sample": np.isin(full, t)})
    currency, cost, is_money = _report_value(ctx, cost)
    exposure = exposure if exposure is not None else ctx.get("exposure")
    value_per_unit = value_per_unit if value_per_unit is not None else (1.0 if is_money else None)
    value_rows = [("cumulative effect per unit", estimate, ci[0], ci[1], "outcome units")]
    years = len(grid) * step / periods_per_year if periods_per_year else None
    if years:
        value_rows.append(("annualised effect per unit", estimate / years, ci[0] / years, ci[1] / years, "outcome units per year"))
    if exposure is not None:
        value_rows.append(("cumulative effect, all exposed units", estimate * exposure, ci[0] * exposure, ci[1] * exposure, "outcome units"))
    if exposure is not None and value_per_unit is not None:
        scale = exposure * value_per_unit
        value_rows.append(("cumulative value", estimate * scale, ci[0] * scale, ci[1] * scale, currency or "money"))
        if years:
            value_rows.append(("annualised value", estimate * scale / years, ci[0] * scale / years, ci[1] * scale / years,
                               f"{currency or 'money'} per year"))
        if cost:
            value_rows.append(("return on cost (value / cost - 1)", estimate * scale / cost - 1, ci[0] * scale / cost - 1,
                               ci[1] * scale / cost - 1, "ratio"))
    value = pd.DataFrame(value_rows, columns=["quantity", "estimate", "ci_low", "ci_high", "unit"])
    long_term = pd.DataFrame([
        {"stage": "short-term: first observed effect", "horizon": float(t[0]), "estimate": float(y[0]),
         "ci_low": float(y[0] - z * se[0]), "ci_high": float(y[0] + z * se[0])},
        {"stage": f"long-run level ({chosen})", "horizon": math.nan, "estimate": float(best["long_run"]),
         "ci_low": float(best["long_run_low"]), "ci_high": float(best["long_run_high"])},
        *[{"stage": r[0], "horizon": horizon, "estimate": r[1], "ci_low": r[2], "ci_high": r[3]} for r in value_rows],
    ])
    diagnostics = _diagnostics(table, chosen, fits[chosen]["chi2"], k, horizon, t, key)
    details = {"model": chosen, "half_life": float(best["half_life"]), "half_life_ci": [float(best["half_life_low"]),
               float(best["half_life_high"])], "long_run": float(best["long_run"]), "horizon": horizon, "step": step,
               "start": start, "selection": key, "period_label": period_label, "source": ctx.get("source", "path"),
               "models_not_fitted": [m for m in models if m not in fits]}
    if cost:
        details["cost"] = float(cost)
    return EffectEstimate(
        method="decay", design=(ctx.get("spec") or {}).get("design", ""),
        estimand=f"cumulative effect per unit, {period_label}s {start:g} to {horizon:g} ({chosen} decay)",
        estimate=estimate, se=se_cum, ci=ci, p_value=p, alpha=alpha, n_obs=k, outcome=ctx.get("outcome", ""),
        diagnostics=diagnostics, tables={"decay_models": table, "decay_path": decay_path, "decay_value": value,
                                         "long_term": long_term},
        lineage=ctx.get("lineage") or make_lineage(None, fingerprint(frame), None),
        inference="GLS fit with the path's covariance; delta-method intervals", exposure=exposure,
        details=details, label=f"Decay projection ({chosen})",
    )


def _diagnostics(table: pd.DataFrame, chosen: str, chi2: float, k: int, horizon: float, t: np.ndarray,
                 key: str) -> tuple[Diagnostic, ...]:
    from scipy import stats

    df = k - int(table.set_index("model").loc[chosen, "n_params"])
    p = float(stats.chi2.sf(chi2, df)) if df > 0 else math.nan
    fit = Diagnostic(
        "decay_fit", "pass" if not p < 0.05 else "warn",
        f"The {chosen} curve fits the path with chi-square {chi2:.3g} on {df} df (p = {p:.3g}); " + (
            "the deviations are within the estimates' noise." if not p < 0.05 else
            "the path deviates from the curve by more than its noise: read the projection with care."),
        statistic=chi2, p_value=p, threshold=0.05, assumption="fit")
    ranked = table.sort_values(key)
    if len(ranked) > 1:
        gap = float(ranked[key].iloc[1] - ranked[key].iloc[0])
        lo, hi = float(table["cumulative"].min()), float(table["cumulative"].max())
        ok = gap >= 2.0 if key == "aic" else gap > 0
        choice = Diagnostic(
            "decay_model_choice", "pass" if ok else "warn",
            f"The {chosen} model beats the runner-up ({ranked['model'].iloc[1]}) by {gap:.3g} {key.replace('_', ' ')}; "
            f"across models the cumulative effect ranges from {lo:.3g} to {hi:.3g}" + (
                "." if ok else ": the data hardly tell the curves apart, so report the range."),
            statistic=gap, threshold=2.0, assumption="specification")
    else:
        choice = Diagnostic("decay_model_choice", "not_applicable", "Only one decay model was fitted.",
                            assumption="specification")
    ratio = (horizon - t.min()) / max(float(np.ptp(t)), 1e-12)
    extra = Diagnostic(
        "decay_extrapolation", "pass" if ratio <= 2 else "warn",
        f"The horizon reaches {ratio:.2g} times the observed span of the path; " + (
            "the projection stays close to the data." if ratio <= 2 else
            "most of the projection is extrapolated from the curve's shape: revisit it as more periods arrive."),
        statistic=float(ratio), threshold=2.0, assumption="sensitivity")
    return (fit, choice, extra)
