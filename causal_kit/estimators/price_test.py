"""Price-test readout: own-price elasticity, effects per price arm and the profit-maximising price.

Rows are products (``spec.unit``) by periods (``spec.time``) with the units sold
(``spec.outcome``) at the price charged (``spec.treatment``). Prices vary across products
(product-level randomisation, with pre-test rows at the base price) or within products over
time (switching). The elasticity ``beta`` is the slope of

    log units_it = beta * log price_it + product_i + period_t + error_it,

with standard errors clustered by product (``spec.cluster`` or ``spec.unit``) and t(G - 1)
intervals. Under constant elasticity every other quantity is a monotone function of
``beta``: the change in units, revenue and margin at each tested price relative to the
product's reference (modal) price, the profit curve over the tested range and the
profit-maximising price within it. Their intervals are the images of the elasticity interval
(exact under the model, where the delta method would be a linearisation).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._data import prepare, rows_preview
from ..errors import DataError, IdentificationError, SpecError
from ..result import Diagnostic, EffectEstimate, make_lineage
from ..spec import ExperimentSpec
from ._price_core import best_relative_price, loglog_elasticity, profit_curve

__all__ = ["PriceTest"]


class PriceTest:
    """Log-log price elasticity with product and period fixed effects, and the profit it implies.

    Parameters
    ----------
    unit_cost : float, optional
        Cost of one unit, the same for every product. Margin = (price - unit_cost) x units.
    cost_share : float, optional
        Unit cost as a share of each product's reference price (use instead of ``unit_cost``
        when products differ in price). Without either, margin equals revenue and the
        recommended price maximises revenue.
    reference : {"first", "median", "modal"}
        Each product's reference price, against which arms and effects are stated: its price in
        its first period (the status quo before a product-level test; the default), the median
        of its distinct prices (symmetric arms switched over time), or its most frequent price.
    n_grid : int
        Points of the profit curve over the tested range.
    dml : bool
        Also estimate the elasticity by double machine learning (partially linear model on the
        product- and period-demeaned log units and log price, with ``spec.covariates`` as
        controls, cross-fitted gradient boosting, clustered by product) as a robustness check:
        ``details["dml_elasticity"]`` and the ``dml_agreement`` diagnostic.

    Notes
    -----
    Arms are the tested prices relative to each product's reference price, rounded to 1%. Tables: ``arms`` (one row per arm:
    observed units and the modelled change in units, revenue and margin per product-period with
    intervals), ``profit_curve`` (totals per period at each relative price with bands) and
    ``products``. ``details`` holds the recommended relative price and, when every product
    has the same reference price, the recommended price itself, with intervals.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.datasets import simulate_price_test
    >>> data = simulate_price_test(n_products=60, n_periods=8, elasticity=-1.8, seed=3)
    >>> spec = ck.ExperimentSpec(name="price", design="price_test", outcome="units", treatment="price",
    ...                          unit="product", time="week")
    >>> res = ck.estimate(data, spec)
    >>> res.ci[0] < -1.8 < res.ci[1]
    True
    """

    def __init__(self, *, unit_cost: float | None = None, cost_share: float | None = None,
                 reference: str = "first", n_grid: int = 101, dml: bool = False) -> None:
        self.unit_cost = unit_cost
        self.dml = dml
        self.cost_share = cost_share
        self.reference = reference
        self.n_grid = n_grid

    def _check_options(self) -> None:
        if self.unit_cost is not None and self.cost_share is not None:
            raise SpecError("PriceTest takes 'unit_cost' or 'cost_share', not both.")
        if self.unit_cost is not None and not (np.isfinite(self.unit_cost) and self.unit_cost >= 0):
            raise SpecError(f"The 'unit_cost' parameter of PriceTest must be a float >= 0. Got {self.unit_cost!r} instead.")
        if self.cost_share is not None and not (0 <= self.cost_share < 1):
            raise SpecError(f"The 'cost_share' parameter of PriceTest must be a float in [0, 1). "
                            f"Got {self.cost_share!r} instead.")
        if self.reference not in ("first", "median", "modal"):
            raise SpecError(f"The 'reference' parameter of PriceTest must be one of 'first', 'median', 'modal'. "
                            f"Got {self.reference!r} instead.")
        if not (isinstance(self.n_grid, int) and self.n_grid >= 3):
            raise SpecError(f"The 'n_grid' parameter of PriceTest must be an int >= 3. Got {self.n_grid!r} instead.")

    def fit(self, data: pd.DataFrame, spec: ExperimentSpec) -> EffectEstimate:
        """Estimate the elasticity and the price-arm effects; see the class docstring."""
        self._check_options()
        if spec.design != "price_test" and spec.treatment is None:
            raise SpecError("PriceTest needs spec.treatment (the price column).")
        prepared = prepare(data, spec)
        frame = prepared.frame
        units_col, price_col, prod_col, time_col = spec.outcome, spec.treatment, spec.unit, spec.time
        for role, col in (("outcome", units_col), ("treatment", price_col)):
            if not pd.api.types.is_numeric_dtype(frame[col]):
                raise DataError(f"column {col!r} (spec.{role}) must be numeric; it has dtype {frame[col].dtype}.")
        price = frame[price_col].to_numpy(float)
        units = frame[units_col].to_numpy(float)
        bad = ~(price > 0)
        if bad.any():
            raise DataError(f"column {price_col!r} (spec.treatment) has {int(bad.sum())} prices <= 0 "
                            f"({rows_preview(frame.index[bad])}); prices must be positive.")
        if len(np.unique(price)) < 2:
            raise DataError(f"column {price_col!r} (spec.treatment) holds a single price arm ({price[0]!r}); "
                            "a price test needs at least two prices.")
        bad = ~(units > 0)
        if bad.any():
            raise DataError(
                f"column {units_col!r} (spec.outcome) has {int(bad.sum())} rows with units <= 0 "
                f"({rows_preview(frame.index[bad])}); the log-log elasticity needs positive sales in every "
                "product-period. Aggregate to longer periods (spec.aggregate) or leave out products that rarely sell."
            )
        dup = frame.duplicated([prod_col, time_col], keep=False)
        if dup.any():
            raise DataError(f"{int(dup.sum())} rows repeat a ({prod_col}, {time_col}) pair "
                            f"({rows_preview(frame.index[dup])}); give one row per product and period.")
        prod_codes, prod_ids = pd.factorize(frame[prod_col], sort=True)
        time_codes, _ = pd.factorize(frame[time_col], sort=True)
        clus_col = spec.cluster or prod_col
        clus_codes, _ = pd.factorize(frame[clus_col], sort=True)
        varies = pd.Series(price).groupby(prod_codes).nunique().to_numpy() > 1
        if not varies.any():
            raise IdentificationError(
                "no product's price changes over the test, so product fixed effects absorb every price difference; "
                "include pre-test periods at the base price, or switch prices within products over time."
            )
        if clus_codes.max() + 1 < 2:
            raise DataError(f"column {clus_col!r} has a single cluster; clustered inference needs at least 2.")
        fit = loglog_elasticity(np.log(units), np.log(price), prod_codes, time_codes, clus_codes)
        from scipy.stats import t as t_dist

        beta, se, df = float(fit["beta"]), float(fit["se"]), int(fit["df"])
        crit = float(t_dist.ppf(1 - spec.alpha / 2, df))
        ci = (beta - crit * se, beta + crit * se)
        p_value = float(2 * t_dist.sf(abs(beta / se), df)) if se > 0 else float("nan")

        ref = _reference_prices(price, prod_codes, time_codes, self.reference)
        rel = price / ref[prod_codes]
        arm = np.round(rel, 2)
        # units at the reference price, per product-period (constant elasticity)
        base_units = pd.Series(units * rel ** (-beta)).groupby(prod_codes).mean().to_numpy()
        cost = self._costs(ref)
        common_ref = bool(np.allclose(ref, ref[0]))
        lo_r, hi_r = float(arm.min()), float(arm.max())
        betas = np.array([beta, ci[0], ci[1]])
        arms = _arm_table(arm, units, betas, base_units, ref, cost, common_ref)
        grid = np.linspace(lo_r, hi_r, self.n_grid)
        curve = profit_curve(grid, betas, base_units, ref, cost)
        curve_table = pd.DataFrame({"relative_price": grid})
        if common_ref:
            curve_table["price"] = grid * ref[0]
        for key in ("units", "revenue", "profit"):
            curve_table[key] = curve[key][0]
            curve_table[f"{key}_lo"] = curve[key][1:].min(axis=0)
            curve_table[f"{key}_hi"] = curve[key][1:].max(axis=0)
        best = best_relative_price(betas, lo_r, hi_r, base_units, ref, cost)
        rec, rec_lo, rec_hi = float(best[0]), float(best[1:].min()), float(best[1:].max())
        at_ref = profit_curve(np.array([1.0, rec]), betas, base_units, ref, cost)["profit"]
        gains = at_ref[:, 1] / at_ref[:, 0] - 1  # profit at the recommended vs the reference price
        boundary = bool(np.isclose(rec, lo_r) or np.isclose(rec, hi_r))
        details = {
            "elasticity_df": df, "n_products": int(len(prod_ids)), "n_clusters": int(fit["n_clusters"]),
            "share_products_with_price_change": float(varies.mean()),
            "recommended_relative_price": rec, "recommended_relative_price_ci": (rec_lo, rec_hi),
            "recommended_at_boundary": boundary, "tested_relative_range": (lo_r, hi_r),
            "profit_gain_at_recommended": float(gains[0]),
            "profit_gain_at_recommended_ci": (float(gains[1:].min()), float(gains[1:].max())),
            "unit_cost": self.unit_cost, "cost_share": self.cost_share,
            "margin_basis": "revenue" if self.unit_cost is None and self.cost_share is None else "margin",
        }
        if common_ref:
            details.update(reference_price=float(ref[0]), recommended_price=rec * float(ref[0]),
                           recommended_price_ci=(rec_lo * float(ref[0]), rec_hi * float(ref[0])))
        products = pd.DataFrame({"product": prod_ids, "reference_price": ref, "base_units": base_units,
                                 "unit_cost": cost, "price_varies": varies})
        diagnostics = _diagnostics(beta, ci, varies, int(fit["n_clusters"]), boundary, rec, lo_r, hi_r)
        if self.dml:
            dml_res = _dml_elasticity(spec, frame, np.log(units), np.log(price), prod_codes, time_codes,
                                      clus_codes)
            details.update(dml_elasticity=dml_res["estimate"], dml_elasticity_se=dml_res["se"],
                           dml_elasticity_ci=dml_res["ci"])
            overlap = dml_res["ci"][0] <= ci[1] and ci[0] <= dml_res["ci"][1]
            diagnostics = diagnostics + (Diagnostic(
                "dml_agreement", "pass" if overlap else "warn",
                f"Double ML with the covariates as controls gives {dml_res['estimate']:.3g} "
                f"({dml_res['ci'][0]:.3g} to {dml_res['ci'][1]:.3g}); "
                + ("its interval overlaps the fixed-effects one." if overlap else
                   "the intervals do not overlap: price changes may track the covariates; prefer the DML number "
                   "and check how prices were set."),
                statistic=dml_res["estimate"], assumption="specification"),)
        return EffectEstimate(
            method="price_test", estimand="own-price elasticity", estimate=beta, se=se, ci=ci, p_value=p_value,
            alpha=spec.alpha, n_obs=prepared.n_input - prepared.n_dropped, outcome=units_col or "",
            design=spec.design, n_units=int(len(prod_ids)), n_dropped=prepared.n_dropped,
            dropped_reasons=prepared.dropped_reasons, diagnostics=diagnostics,
            tables={"arms": arms, "profit_curve": curve_table, "products": products},
            lineage=make_lineage(spec, prepared.fingerprint), inference=f"CRV1 by {clus_col}, t({df})",
            df_resid=float(df), details=details, label="Price test (log-log elasticity)",
        )

    def _costs(self, ref: np.ndarray) -> np.ndarray:
        if self.unit_cost is not None:
            return np.full_like(ref, float(self.unit_cost))
        if self.cost_share is not None:
            return ref * float(self.cost_share)
        return np.zeros_like(ref)


def _dml_elasticity(spec: ExperimentSpec, frame: pd.DataFrame, log_units: np.ndarray,
                    log_price: np.ndarray, prod: np.ndarray, time: np.ndarray, clus: np.ndarray) -> dict[str, Any]:
    """Double ML elasticity with fixed effects: partial log units and log price out of the covariates
    with cross-fitted gradient boosting (folds by product), then the fixed-effects slope of the
    residuals with CRV1 by product (a partially linear model y = beta d + g(x) + product + period).

    Written here rather than through the ``dml`` estimator because the nuisances must be fitted on
    the raw covariates and the fixed effects removed afterwards; demeaning first would turn a
    nonlinear g(x_it) into a mix of other periods' covariates that no learner can undo.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import GroupKFold

    from ._price_core import loglog_elasticity

    if not spec.covariates:
        raise SpecError("PriceTest(dml=True) needs spec.covariates: the controls the DML robustness check adjusts for.")
    x = frame[list(spec.covariates)].to_numpy(dtype=float)  # prepare() validated and copied the covariates
    if not np.isfinite(x).all():
        raise DataError(f"spec.covariates hold {int((~np.isfinite(x)).sum())} missing or infinite values.")
    n_groups = int(prod.max()) + 1
    folds = GroupKFold(n_splits=min(5, n_groups))
    res_y, res_d = np.empty_like(log_units), np.empty_like(log_price)
    for train, test in folds.split(x, groups=prod):
        for target, out in ((log_units, res_y), (log_price, res_d)):
            model = HistGradientBoostingRegressor(max_iter=200, random_state=spec.seed).fit(x[train], target[train])
            out[test] = target[test] - model.predict(x[test])
    fit = loglog_elasticity(res_y, res_d, prod, time, clus)
    from scipy.stats import t as t_dist

    crit = float(t_dist.ppf(1 - spec.alpha / 2, fit["df"]))
    beta, se = float(fit["beta"]), float(fit["se"])
    return {"estimate": beta, "se": se, "ci": (beta - crit * se, beta + crit * se)}


def _reference_prices(price: np.ndarray, prod: np.ndarray, time: np.ndarray, how: str) -> np.ndarray:
    """Each product's reference price: first-period, median distinct or most frequent (ties: lowest)."""
    df = pd.DataFrame({"p": prod, "price": price, "t": time})
    if how == "first":
        return df.sort_values(["p", "t"]).drop_duplicates("p").set_index("p")["price"].sort_index().to_numpy(float)
    if how == "median":
        return df.drop_duplicates(["p", "price"]).groupby("p")["price"].median().sort_index().to_numpy(float)
    counts = df.groupby(["p", "price"]).size().reset_index(name="n")
    counts = counts.sort_values(["p", "n", "price"], ascending=[True, False, True])
    return counts.drop_duplicates("p").set_index("p")["price"].sort_index().to_numpy(float)


def _arm_table(arm: np.ndarray, units: np.ndarray, betas: np.ndarray, base_units: np.ndarray, ref: np.ndarray,
               cost: np.ndarray, common_ref: bool) -> pd.DataFrame:
    """Observed and modelled effects per arm, relative to the reference price (per product-period)."""
    levels = np.unique(arm)
    u0 = base_units.mean()
    rev0 = (base_units * ref).mean()
    mar0 = (base_units * (ref - cost)).mean()
    rows = []
    for r in levels:
        at = arm == r
        scale = r ** betas  # (3,): estimate, at beta_lo, at beta_hi
        du = u0 * (scale - 1)
        drev = (base_units * ref).mean() * (r * scale - 1)
        dmar = (base_units * (r * ref - cost)).mean() * scale - mar0
        row = {"relative_price": float(r), "n_obs": int(at.sum()), "units_mean": float(units[at].mean())}
        if common_ref:
            row["price"] = float(r * ref[0])
        for key, d, base in (("units", du, u0), ("revenue", drev, rev0), ("margin", dmar, mar0)):
            row[f"{key}_change"] = float(d[0])
            row[f"{key}_change_lo"], row[f"{key}_change_hi"] = float(d[1:].min()), float(d[1:].max())
            pct = d / base if base else np.full(3, np.nan)
            row[f"{key}_change_pct"] = float(pct[0])
            row[f"{key}_change_pct_lo"], row[f"{key}_change_pct_hi"] = float(pct[1:].min()), float(pct[1:].max())
        rows.append(row)
    return pd.DataFrame(rows)


def _diagnostics(beta: float, ci: tuple[float, float], varies: np.ndarray, n_clusters: int, boundary: bool,
                 rec: float, lo: float, hi: float) -> tuple[Diagnostic, ...]:
    share = float(varies.mean())
    out = [Diagnostic(
        "price_variation", "pass" if share >= 0.5 else "warn",
        f"{share:.0%} of products change price during the data; "
        + ("the elasticity rests on many products." if share >= 0.5 else
           "the elasticity rests on few products: check that they represent the range."),
        statistic=share, threshold=0.5, assumption="randomization")]
    if ci[0] > 0:
        out.append(Diagnostic("elasticity_sign", "warn",
                              "Demand rises with price in these data; check for confounded price changes "
                              "(promotions, stock-outs) before acting.", statistic=beta, threshold=0.0,
                              assumption="specification"))
    else:
        out.append(Diagnostic("elasticity_sign", "pass", "Demand falls (or is flat) as price rises, as expected.",
                              statistic=beta, threshold=0.0, assumption="specification"))
    out.append(Diagnostic(
        "clusters", "pass" if n_clusters >= 30 else "warn",
        f"{n_clusters} product clusters; " + ("enough for clustered intervals." if n_clusters >= 30 else
                                             "clustered intervals may be too narrow with so few; add products."),
        statistic=float(n_clusters), threshold=30.0, assumption="inference"))
    out.append(Diagnostic(
        "optimum_inside_range", "warn" if boundary else "pass",
        (f"The best price lies at the edge of the tested range ({rec:.3g} of reference, range {lo:.3g}-{hi:.3g}); "
         "the true optimum may lie beyond it: test further prices before moving there.") if boundary else
        f"The best price ({rec:.3g} of reference) lies inside the tested range {lo:.3g}-{hi:.3g}.",
        statistic=rec, assumption="specification"))
    return tuple(out)
