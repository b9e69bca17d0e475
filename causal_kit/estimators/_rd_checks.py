"""Diagnostics and plot tables for the RD estimator.

Density (manipulation) test, covariate balance at the cutoff, placebo cutoffs, bandwidth
sensitivity, donut-hole robustness, first-stage strength for fuzzy designs and a mass-point
check, plus the binned-scatter, fitted-polynomial and histogram tables the plots draw from.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .._data import to_pandas
from ..diagnostics.rd_density import density_test
from ..errors import DataError
from ..result import Diagnostic

__all__ = ["rd_diagnostics", "plot_tables"]

_WEAK_F = 10.0
_COLS = ["label", "value", "estimate", "se", "ci_low", "ci_high", "p_value", "h", "n_h", "note"]


def _sub_fit(x: np.ndarray, y: np.ndarray, c: float, arrays: dict, mask: np.ndarray, opts: dict,
             alpha: float, **over: Any) -> dict | str:
    """A sharp RD of ``y`` on ``x`` at ``c`` over ``mask``; a reason string if it cannot be fit."""
    from .rdd import rd_estimate

    kw = {k: v for k, v in opts.items() if k not in ("h", "b")}
    kw.update(over)
    cl = None if arrays["cl"] is None else arrays["cl"][mask]
    w = None if arrays["w"] is None else arrays["w"][mask]
    xm = x[mask]
    if not (xm.size and xm.min() < c < xm.max()):
        return "cutoff outside the data"
    try:
        return rd_estimate(xm, y[mask], c, cluster=cl, weights=w, alpha=alpha, **kw)
    except DataError as exc:  # too few observations near a placebo cutoff: report, do not fail
        return str(exc)


def _row(label: str, value: float, fit: dict | str) -> dict[str, Any]:
    if isinstance(fit, str):
        return dict(label=label, value=value, estimate=math.nan, se=math.nan, ci_low=math.nan, ci_high=math.nan,
                    p_value=math.nan, h=math.nan, n_h=0, note=fit)
    rb = fit["rows"][2]
    return dict(label=label, value=value, estimate=fit["tau_cl"], se=fit["se_rb"], ci_low=rb["ci_low"],
                ci_high=rb["ci_high"], p_value=rb["p_value"], h=fit["h"][0], n_h=int(sum(fit["n_h"])), note="")


def plot_tables(x: np.ndarray, y: np.ndarray, c: float, fit: dict, n_bins: int) -> dict[str, pd.DataFrame]:
    """Binned means, the fitted polynomials within h, and a histogram of the running variable."""
    rows = []
    for side, m in (("left", x < c), ("right", x >= c)):
        xs, ys = x[m], y[m]
        edges = np.linspace(xs.min(), xs.max(), n_bins + 1) if side == "left" else np.linspace(c, xs.max(), n_bins + 1)
        if side == "left":
            edges[-1] = c
        idx = np.clip(np.searchsorted(edges, xs, side="right") - 1, 0, n_bins - 1)
        cnt = np.bincount(idx, minlength=n_bins)
        sy = np.bincount(idx, weights=ys, minlength=n_bins)
        sx = np.bincount(idx, weights=xs, minlength=n_bins)
        ok = cnt > 0
        for i in np.flatnonzero(ok):
            rows.append(dict(side=side, x=sx[i] / cnt[i], y=sy[i] / cnt[i], n=int(cnt[i])))
    binned = pd.DataFrame(rows)
    fits = []
    for side, beta, hh, sign in (("left", fit["beta_p_l"], fit["h"][0], -1.0), ("right", fit["beta_p_r"], fit["h"][1], 1.0)):
        grid = np.linspace(0.0, sign * hh, 60)
        yhat = np.polyval(np.asarray(beta)[::-1], grid)
        fits.extend(dict(side=side, x=c + g, y=v) for g, v in zip(grid, yhat))
    n_hist = max(10, min(60, int(np.sqrt(len(x)))))
    lo, hi = x.min(), x.max()
    width = max(c - lo, hi - c) / (n_hist / 2)
    # Equal-width bins with an edge at the cutoff; counted by integer division (no sort).
    k_lo = int(np.ceil((c - lo) / width))
    k_hi = max(int(np.ceil((hi - c) / width)), 1)
    edges = c + width * np.arange(-k_lo, k_hi + 1)
    idx = np.clip(np.floor((x - edges[0]) / width).astype(np.int64), 0, len(edges) - 2)
    counts = np.bincount(idx, minlength=len(edges) - 1)
    hist = pd.DataFrame(dict(left_edge=edges[:-1], right_edge=edges[1:], count=counts,
                             density=counts / (len(x) * np.diff(edges))))
    return {"binned": binned, "fit": pd.DataFrame(fits), "histogram": hist}


def rd_diagnostics(est: Any, data: Any, df: pd.DataFrame, spec: Any, x: np.ndarray, arrays: dict,
                   keep: np.ndarray, fit: dict, opts: dict, mass_warn: str | None) -> tuple[list, dict]:
    """All RD diagnostics (when ``est.diagnostics``) and the tables the plots need."""
    c, alpha = float(spec.cutoff), spec.alpha
    y = arrays["y"]
    tables = plot_tables(x[keep], y[keep], c, fit, est.n_bins)
    diags: list[Diagnostic] = []
    fuzzy = spec.fuzzy is not None
    diags.append(Diagnostic(
        "mass_points", "warn" if mass_warn else "pass",
        mass_warn or f"{spec.running!r} has enough distinct values near the cutoff for local-polynomial RD.",
        assumption="specification"))
    if fuzzy and not fit["se_t_cl"] > 0:
        diags.append(Diagnostic(
            "first_stage", "pass" if fit["tau_t_cl"] != 0 else "fail",
            (f"{spec.fuzzy!r} jumps by exactly {fit['tau_t_cl']:.3g} at the cutoff with no sampling variation "
             "(deterministic compliance); the first stage is not weak." if fit["tau_t_cl"] != 0 else
             f"{spec.fuzzy!r} does not change at the cutoff: the fuzzy RD is not identified."),
            assumption="instrument_strength"))
    elif fuzzy:
        f_stat = fit["first_stage_t"] ** 2
        weak = not (f_stat >= _WEAK_F)
        diags.append(Diagnostic(
            "first_stage", "warn" if weak else "pass",
            (f"The jump in {spec.fuzzy!r} at the cutoff is {fit['tau_t_cl']:.3g} (F = {f_stat:.1f}); "
             + ("the first stage is weak (F < 10): the fuzzy RD estimate and its CI are unreliable."
                if weak else "the first stage is strong (F >= 10).")),
            statistic=float(f_stat), threshold=_WEAK_F, assumption="instrument_strength"))
    else:
        diags.append(Diagnostic("first_stage", "not_applicable",
                                "Sharp design: treatment switches on at the cutoff, there is no first stage.",
                                assumption="instrument_strength"))
    if not est.diagnostics:
        msg = "Skipped (diagnostics=False); re-fit with diagnostics=True to run it."
        for name, assumption in (("density_test", "manipulation"), ("covariate_balance", "balance"),
                                 ("placebo_cutoffs", "specification"), ("bandwidth_sensitivity", "sensitivity"),
                                 ("donut", "sensitivity")):
            diags.append(Diagnostic(name, "not_applicable", msg, assumption=assumption))
        return diags, tables
    # --- density (manipulation) test
    try:
        dt = density_test(x, c)
        status = "pass" if dt.p_value >= alpha else "fail"
        diags.append(Diagnostic(
            "density_test", status,
            (f"Density of {spec.running!r} left/right of the cutoff: {dt.f_left:.4g} vs {dt.f_right:.4g} "
             f"(Cattaneo-Jansson-Ma T = {dt.statistic:.2f}); "
             + ("no evidence of sorting around the cutoff." if status == "pass"
                else "units may manipulate the running variable: the RD estimate may be biased.")),
            statistic=dt.statistic, p_value=dt.p_value, threshold=alpha, assumption="manipulation"))
        tables["density"] = pd.DataFrame([dict(side="left", f=dt.f_left, se=dt.se_left, h=dt.h_left, n_h=dt.n_h_left),
                                          dict(side="right", f=dt.f_right, se=dt.se_right, h=dt.h_right,
                                               n_h=dt.n_h_right)])
    except DataError as exc:
        diags.append(Diagnostic("density_test", "not_applicable", f"Density test not run: {exc}",
                                assumption="manipulation"))
    base = {k: v for k, v in opts.items()}
    # --- covariate balance
    names = list(est.balance_covariates) if est.balance_covariates is not None else list(spec.covariates)
    if names:
        raw = to_pandas(data)
        missing = [n for n in names if n not in raw.columns]
        if missing:
            raise DataError(f"balance_covariates {missing} are not columns of the data; "
                            f"the data has {len(raw.columns)} columns.")
        rows = []
        for name in names:
            col = pd.to_numeric(raw.loc[df.index, name], errors="coerce").to_numpy(dtype=float)[arrays["order"]]
            mask = keep & ~np.isnan(col)
            rows.append(_row(name, c, _sub_fit(x, col, c, arrays, mask, base, alpha)))
        bal = pd.DataFrame(rows, columns=_COLS).rename(columns={"label": "covariate"}).drop(columns="value")
        tables["balance"] = bal
        pv, thr, bad = _bonferroni(bal, "covariate", alpha)
        diags.append(Diagnostic(
            "covariate_balance", "warn" if bad else ("pass" if len(pv) else "not_applicable"),
            (f"Covariates jump at the cutoff: {', '.join(bad)} (robust p < {thr:.3g}, Bonferroni); "
             "units just above and below differ, so the RD may be confounded." if bad else
             f"No covariate among {len(pv)} jumps at the cutoff (all robust p >= {thr:.3g}, Bonferroni)."),
            statistic=float(pv.min()) if len(pv) else None, p_value=float(pv.min()) if len(pv) else None,
            threshold=thr, assumption="balance"))
    else:
        diags.append(Diagnostic("covariate_balance", "not_applicable",
                                "No covariates given: add spec.covariates or balance_covariates to test balance.",
                                assumption="balance"))
    # --- placebo cutoffs (each side's own data only)
    cuts = est.placebo_cutoffs
    if cuts is None:
        xl, xr = x[keep & (x < c)], x[keep & (x >= c)]
        cuts = [float(np.median(xl)), float(np.median(xr))]
    rows = []
    for pc in cuts:
        mask = keep & ((x < c) if pc < c else (x >= c))
        rows.append(_row("placebo", float(pc), _sub_fit(x, y, float(pc), arrays, mask, base, alpha)))
    plc = pd.DataFrame(rows, columns=_COLS).drop(columns="label").rename(columns={"value": "cutoff"})
    tables["placebo"] = plc
    pv, thr, bad = _bonferroni(plc, "cutoff", alpha)
    diags.append(Diagnostic(
        "placebo_cutoffs", "warn" if bad else ("pass" if len(pv) else "not_applicable"),
        (f"The outcome also jumps at placebo cutoffs {', '.join(f'{b:.4g}' for b in bad)}: the discontinuity "
         "may not be specific to the real cutoff." if bad else
         f"No jump at {len(pv)} placebo cutoff(s) (robust p >= {thr:.3g}, Bonferroni)."),
        p_value=float(pv.min()) if len(pv) else None, threshold=thr, assumption="specification"))
    # --- bandwidth sensitivity (h and b scaled together)
    lo, hi = fit["rows"][2]["ci_low"], fit["rows"][2]["ci_high"]
    t_full = arrays["t"]
    rows = []
    for mult in est.sensitivity_multipliers:
        h = (fit["h"][0] * mult, fit["h"][1] * mult)
        b = (fit["b"][0] * mult, fit["b"][1] * mult)
        sub = _sub_fit_full(x, arrays, keep, base, alpha, c, h=h, b=b, t=t_full)
        rows.append(_row("h multiple", float(mult), sub))
    sens = pd.DataFrame(rows, columns=_COLS).drop(columns="label").rename(columns={"value": "multiplier"})
    tables["sensitivity"] = sens
    outside = sens.loc[(sens["estimate"] < lo) | (sens["estimate"] > hi), "multiplier"].tolist()
    if not len(sens):
        diags.append(Diagnostic("bandwidth_sensitivity", "not_applicable",
                                "No bandwidth multiples given (sensitivity_multipliers is empty).",
                                assumption="sensitivity"))
    else:
        diags.append(Diagnostic(
        "bandwidth_sensitivity", "warn" if outside else "pass",
        (f"Estimates at {', '.join(f'{m:g}' for m in outside)} x h fall outside the robust CI: the result depends "
         "on the bandwidth." if outside else
         f"Estimates from {min(est.sensitivity_multipliers):g}x to {max(est.sensitivity_multipliers):g}x the "
         "bandwidth all lie within the robust CI."),
        statistic=float(len(outside)), threshold=0.0, assumption="sensitivity"))
    # --- donut hole
    radii = est.donut_radii if est.donut_radii is not None else tuple(r * fit["h"][0] for r in (0.05, 0.1, 0.2))
    rows = []
    for r in radii:
        mask = keep & (np.abs(x - c) >= r)
        sub = _sub_fit_full(x, arrays, mask, base, alpha, c, t=t_full)
        rows.append(_row("donut", float(r), sub))
    don = pd.DataFrame(rows, columns=_COLS).drop(columns="label").rename(columns={"value": "radius"})
    tables["donut"] = don
    outside = don.loc[(don["estimate"] < lo) | (don["estimate"] > hi), "radius"].tolist()
    if not len(don):
        diags.append(Diagnostic("donut", "not_applicable", "No donut radii given (donut_radii is empty).",
                                assumption="sensitivity"))
    else:
        diags.append(Diagnostic(
        "donut", "warn" if outside else "pass",
        (f"Dropping observations within {', '.join(f'{r:.3g}' for r in outside)} of the cutoff moves the estimate "
         "outside the robust CI: the result leans on the units closest to the cutoff." if outside else
         f"Dropping observations within {', '.join(f'{r:.3g}' for r in radii)} of the cutoff leaves the estimate "
         "inside the robust CI."),
        statistic=float(len(outside)), threshold=0.0, assumption="sensitivity"))
    return diags, tables


def _sub_fit_full(x: np.ndarray, arrays: dict, mask: np.ndarray, base: dict, alpha: float, c: float,
                  t: np.ndarray | None = None, **over: Any) -> dict | str:
    """Re-fit the main specification (fuzzy and covariates included) on ``mask``."""
    from .rdd import rd_estimate

    kw = {k: v for k, v in base.items() if k not in ("h", "b")}
    kw.update(over)
    sel = lambda a: None if a is None else a[mask]  # noqa: E731
    try:
        return rd_estimate(x[mask], arrays["y"][mask], c, t=sel(t), z=sel(arrays["z"]), cluster=sel(arrays["cl"]),
                           weights=sel(arrays["w"]), alpha=alpha, **kw)
    except DataError as exc:  # e.g. a wide donut leaves too few points: report in the table
        return str(exc)


def _bonferroni(table: pd.DataFrame, label: str, alpha: float) -> tuple[pd.Series, float, list]:
    """Non-missing p-values, the Bonferroni threshold, and the labels of the rows below it."""
    pv = table["p_value"].dropna()
    thr = alpha / max(len(pv), 1)
    return pv, thr, table.loc[table["p_value"] < thr, label].tolist()
