"""Oaxaca-Blinder decomposition of a gap in mean outcomes: twofold and threefold, with SEs.

Groups A (``after``) and B (``before``) each get an OLS fit ``y = X b`` (with a constant).
The gap ``mean(y_A) - mean(y_B)`` splits into

* threefold (from group B's viewpoint, Jann 2008 eq. 3): endowments ``(xA - xB)' bB``,
  coefficients ``xB' (bA - bB)`` and interaction ``(xA - xB)' (bA - bB)``;
* twofold with reference coefficients ``b*``: explained ``(xA - xB)' b*`` and unexplained
  ``xA' (bA - b*) + xB' (b* - bB)``. ``b*`` is ``"pooled"`` (pooled fit with a group dummy,
  Jann 2008 / Fortin 2008), ``"neumark"`` (pooled fit without it), ``"cotton"``
  (group-size weights), ``"reimers"`` (one half each), ``"a"`` or ``"b"``.

Standard errors: the delta method of Jann (2008), treating both the covariate means and the
coefficients as random. We compute it from per-observation influence functions, so the
covariances Jann's formulas need (means with coefficients, the pooled fit with the group
fits) come out of one sum; coefficient variances are then heteroskedasticity-robust (HC0)
rather than the classical ones. Or a bootstrap that resamples within each group (seeded).
Per-covariate contributions are in the ``detail`` table; the unexplained part's split by
covariate depends on how categorical covariates are coded (Jann 2008, sec. 2.3). With the
``pooled`` reference the explained part's ``detail`` rows are Gelbach's (2016) decomposition of
how adding the covariates moves the coefficient on the group dummy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ._aggregate import resolve_periods
from ._errors import check_columns
from .result import Decomposition

__all__ = ["oaxaca_blinder"]

_REFERENCES = ("pooled", "neumark", "cotton", "reimers", "a", "b")


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and per-row influence (n x k) of OLS; raises when X'X is singular."""
    xtx = x.T @ x
    if np.linalg.matrix_rank(xtx) < x.shape[1]:
        raise DataError("oaxaca_blinder: the covariates are collinear (or constant) within a group, so the "
                        "regression is not identified. Drop or merge the redundant covariates.")
    inv = np.linalg.inv(xtx)
    beta = inv @ (x.T @ y)
    return beta, (x * (y - x @ beta)[:, None]) @ inv


def _pieces(xa: np.ndarray, ya: np.ndarray, xb: np.ndarray, yb: np.ndarray, reference: str,
            influence: bool) -> dict[str, np.ndarray]:
    na, nb = len(ya), len(yb)
    ba, ifa = _ols(xa, ya)
    bb, ifb = _ols(xb, yb)
    out = {"xa": xa.mean(0), "xb": xb.mean(0), "ba": ba, "bb": bb}
    n, k = na + nb, xa.shape[1]
    if influence:  # stacked over all n rows: A rows first, then B rows
        zeros_a, zeros_b = np.zeros((nb, k)), np.zeros((na, k))
        out["i_xa"] = np.vstack([(xa - out["xa"]) / na, zeros_a])
        out["i_xb"] = np.vstack([zeros_b, (xb - out["xb"]) / nb])
        out["i_ba"] = np.vstack([ifa, zeros_a])
        out["i_bb"] = np.vstack([zeros_b, ifb])
    if reference in ("pooled", "neumark"):
        x = np.vstack([xa, xb])
        if reference == "pooled":
            x = np.column_stack([x, np.r_[np.ones(na), np.zeros(nb)]])
        br, ifr = _ols(x, np.r_[ya, yb])
        out["br"] = br[:k]
        if influence:
            out["i_br"] = ifr[:, :k]
    else:
        wa = {"cotton": na / n, "reimers": 0.5, "a": 1.0, "b": 0.0}[reference]
        out["br"] = wa * ba + (1 - wa) * bb
        if influence:
            out["i_br"] = wa * out["i_ba"] + (1 - wa) * out["i_bb"]
    return out


def _components(p: dict[str, np.ndarray], kind: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """Per-covariate components and (when influences are present) their per-row influences."""
    dx, db = p["xa"] - p["xb"], p["ba"] - p["bb"]
    has_if = "i_xa" in p
    i_dx = p["i_xa"] - p["i_xb"] if has_if else None
    i_db = p["i_ba"] - p["i_bb"] if has_if else None
    if kind == "threefold":
        comp = {"endowments": dx * p["bb"], "coefficients": p["xb"] * db, "interaction": dx * db}
        infl = None if not has_if else {
            "endowments": i_dx * p["bb"] + dx * p["i_bb"],
            "coefficients": p["i_xb"] * db + p["xb"] * i_db,
            "interaction": i_dx * db + dx * i_db}
    else:
        br = p["br"]
        comp = {"explained": dx * br, "unexplained": p["xa"] * (p["ba"] - br) + p["xb"] * (br - p["bb"])}
        infl = None if not has_if else {
            "explained": i_dx * br + dx * p["i_br"],
            "unexplained": (p["i_xa"] * (p["ba"] - br) + p["xa"] * (p["i_ba"] - p["i_br"])
                            + p["i_xb"] * (br - p["bb"]) + p["xb"] * (p["i_br"] - p["i_bb"]))}
    return comp, infl


def oaxaca_blinder(data: pd.DataFrame, *, outcome: str, group: str, covariates: Sequence[str],
                   before: object = None, after: object = None, kind: str = "twofold",
                   reference: str = "pooled", se: str = "delta", n_boot: int = 499, alpha: float = 0.05,
                   seed: int | None = 0) -> Decomposition:
    """Oaxaca-Blinder decomposition of ``mean(outcome | after) - mean(outcome | before)``.

    Parameters
    ----------
    data : DataFrame
        One row per unit, not modified.
    outcome : str
        Outcome column.
    group : str
        Column with the two groups or periods.
    covariates : sequence of str
        Numeric covariates (dummy-code categories first); a constant is added.
    before, after : optional
        Labels of group B (``before``) and group A (``after``); default sorted order.
    kind : {"twofold", "threefold"}, default "twofold"
    reference : {"pooled", "neumark", "cotton", "reimers", "a", "b"}, default "pooled"
        Reference coefficients of the twofold split.
    se : {"delta", "bootstrap"}, default "delta"
    n_boot : int, default 499
        Bootstrap replications (resampling rows within each group).
    alpha : float, default 0.05
    seed : int or None, default 0

    Returns
    -------
    Decomposition
        Components (``explained``/``unexplained`` or ``endowments``/``coefficients``/
        ``interaction``) with SE and normal interval; tables ``detail`` (per covariate) and
        ``coefficients`` (both groups' and the reference fit).

    Examples
    --------
    >>> from causal_kit.explain import oaxaca_blinder, simulate_deliveries
    >>> df = simulate_deliveries(2000, seed=0).assign(rural=lambda d: (d.route_type == "rural") * 1.0)
    >>> d = oaxaca_blinder(df, outcome="cost", group="week", covariates=["rural", "weight_kg"])
    >>> round(d.residual(), 10)
    0.0
    """
    from scipy.stats import norm

    if kind not in ("twofold", "threefold"):
        raise SpecError(f"The 'kind' parameter of oaxaca_blinder must be 'twofold' or 'threefold'. Got {kind!r}.")
    if reference not in _REFERENCES:
        raise SpecError(f"The 'reference' parameter of oaxaca_blinder must be one of {_REFERENCES}. Got {reference!r}.")
    if se not in ("delta", "bootstrap"):
        raise SpecError(f"The 'se' parameter of oaxaca_blinder must be 'delta' or 'bootstrap'. Got {se!r} instead.")
    if not 0 < alpha < 1:
        raise SpecError(f"The 'alpha' parameter of oaxaca_blinder must be a float in (0, 1). Got {alpha!r} instead.")
    covs = [covariates] if isinstance(covariates, str) else list(covariates)
    check_columns(data, [outcome, group, *covs], role="oaxaca_blinder")
    for c in [outcome, *covs]:
        if not pd.api.types.is_numeric_dtype(data[c]):
            raise DataError(f"column {c!r} must be numeric for oaxaca_blinder; it is {data[c].dtype}. "
                            "Dummy-code categories (pandas.get_dummies) first.")
    b_lab, a_lab = resolve_periods(data[group], before, after, group)
    frames = []
    for lab in (a_lab, b_lab):
        part = data.loc[data[group] == lab, [outcome, *covs]].to_numpy(dtype=float)
        bad = int((~np.isfinite(part)).any(axis=1).sum())
        if bad:
            raise DataError(f"oaxaca_blinder: {bad} row(s) of group {lab} have a missing or infinite outcome or "
                            "covariate. Fill or drop them first.")
        if len(part) <= len(covs) + 1:
            raise DataError(f"oaxaca_blinder: group {lab} has {len(part)} rows for {len(covs) + 1} coefficients; "
                            "it needs more rows than coefficients.")
        frames.append(part)
    (ya, xa), (yb, xb) = [(f[:, 0], np.column_stack([f[:, 1:], np.ones(len(f))])) for f in frames]
    names = [*covs, "_cons"]
    p = _pieces(xa, ya, xb, yb, reference, influence=se == "delta")
    comp, infl = _components(p, kind)
    labels = list(comp)
    values = np.array([comp[c].sum() for c in labels])
    detail_se = {}
    if se == "delta":
        ses = np.array([np.sqrt(np.sum(infl[c].sum(axis=1) ** 2)) for c in labels])
        detail_se = {c: np.sqrt(np.sum(infl[c] ** 2, axis=0)) for c in labels}
    else:
        rng = np.random.default_rng(seed)
        reps = np.empty((n_boot, len(labels)))
        for r in range(n_boot):
            ia, ib = rng.integers(0, len(ya), len(ya)), rng.integers(0, len(yb), len(yb))
            try:
                pr = _pieces(xa[ia], ya[ia], xb[ib], yb[ib], reference, influence=False)
            except DataError:
                reps[r] = np.nan
                continue
            cr, _ = _components(pr, kind)
            reps[r] = [cr[c].sum() for c in labels]
        ok = np.isfinite(reps).all(axis=1)
        if ok.sum() < 0.9 * n_boot:
            raise DataError(f"oaxaca_blinder: {n_boot - int(ok.sum())} of {n_boot} bootstrap samples had collinear "
                            "covariates; use se='delta' or drop rare dummies.")
        ses = reps[ok].std(axis=0, ddof=1)
    z = norm.ppf(1 - alpha / 2)
    comps = pd.DataFrame({"component": labels, "value": values, "se": ses, "ci_low": values - z * ses,
                          "ci_high": values + z * ses})
    detail = pd.DataFrame({"covariate": names, "mean_before": p["xb"], "mean_after": p["xa"],
                           **{c: comp[c] for c in labels}})
    for c, s in detail_se.items():
        detail[f"{c}_se"] = s
    coefs = pd.DataFrame({"covariate": names, "coef_before": p["bb"], "coef_after": p["ba"]})
    if kind == "twofold":
        coefs["coef_reference"] = p["br"]
    notes = ("Explained and unexplained parts are regression accounting: the unexplained part collects every "
             "difference the covariates do not capture, not a causal effect.",
             f"Standard errors: {'delta method (Jann 2008) with influence-function covariances (HC0)' if se == 'delta' else f'bootstrap, {n_boot} resamples within groups (seed {seed})'}.")
    return Decomposition(f"oaxaca_{kind}", outcome, str(b_lab), str(a_lab), float(yb.mean()), float(ya.mean()),
                         comps, {"detail": detail, "coefficients": coefs}, notes, alpha=alpha, seed=seed)
