"""Demand models for price simulation: expected units per visitor at a price, and their noise.

A :class:`DemandModel` gives the expected units bought per visitor at each price in each
period (constant elasticity, linear, logit choice against an outside option, or an explicit
table), with multiplicative weekly/annual seasonality and a drift in the demand level, and
draws noisy units with Poisson, negative binomial, log-normal or binomial noise. It is
either written down (simulation with a known truth) or fitted to the user's sales history
with :func:`fit_demand`. Everything is vectorised over replications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError

__all__ = ["DemandModel", "fit_demand", "check_prices", "DemandKind", "NoiseKind"]

DemandKind = Literal["constant_elasticity", "linear", "logit", "table"]
NoiseKind = Literal["poisson", "negative_binomial", "lognormal", "binomial", "none"]


def check_prices(prices: Sequence[float] | np.ndarray, owner: str = "prices") -> np.ndarray:
    """Price arms as a float array: finite, > 0, distinct and at least two of them."""
    arr = np.asarray(prices, dtype=float).ravel()
    if arr.size < 2:
        raise SpecError(f"{owner} has {arr.size} price arm(s); a price test or bandit needs at least 2 "
                        "distinct prices to compare. Add arms.")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise DataError(f"{owner} has {int(bad.sum())} price(s) that are not positive numbers "
                        f"(e.g. {arr[bad][0]!r}); prices must be > 0.")
    if len(np.unique(arr)) < arr.size:
        raise SpecError(f"{owner} repeats a price ({arr.size - len(np.unique(arr))} duplicates); list each arm once.")
    return arr


@dataclass(frozen=True)
class DemandModel:
    """Expected units per visitor as a function of price and period, and a noise model.

    Parameters
    ----------
    kind : {"constant_elasticity", "linear", "logit", "table"}
        ``constant_elasticity``: ``scale * (p / ref_price) ** elasticity``;
        ``linear``: ``max(scale - slope * p, 0)``;
        ``logit``: purchase probability ``1 / (1 + exp(-(intercept - slope * p)))`` (a choice
        against not buying); ``table``: explicit ``table_units`` at ``table_prices``.
    scale, elasticity, ref_price, slope, intercept : float
        Parameters of the chosen form (elasticity < 0 for normal goods).
    noise : {"poisson", "negative_binomial", "lognormal", "binomial", "none"}
        Units given the expected value: Poisson counts; negative binomial with ``dispersion``
        (variance ``mu + mu**2 / dispersion``); log-normal with ``sigma`` (mean preserved);
        binomial (purchases per visitor, probability <= 1).
    seasonality : sequence of float, optional
        Multiplicative factors, cycled over periods (e.g. 7 weekday factors; normalised to mean 1).
    drift : float
        Relative change in the demand level per period (0.001 = +0.1% a day).
    """

    kind: DemandKind = "constant_elasticity"
    scale: float = 0.05
    elasticity: float = -2.0
    ref_price: float = 10.0
    slope: float = 0.0
    intercept: float = 0.0
    table_prices: tuple[float, ...] = ()
    table_units: tuple[float, ...] = ()
    noise: NoiseKind = "poisson"
    dispersion: float = 10.0
    sigma: float = 0.3
    seasonality: tuple[float, ...] = ()
    drift: float = 0.0

    def __post_init__(self) -> None:
        from .._typing import check_option

        check_option(self.kind, DemandKind, "kind", "DemandModel")
        check_option(self.noise, NoiseKind, "noise", "DemandModel")
        if self.kind == "table":
            if len(self.table_prices) != len(self.table_units) or not self.table_prices:
                raise SpecError("DemandModel(kind='table') needs table_prices and table_units of the same length.")
            check_prices(self.table_prices, "table_prices")
            if min(self.table_units) < 0:
                raise SpecError("table_units must be >= 0 (expected units per visitor).")
        if self.kind == "constant_elasticity" and not (self.scale > 0 and self.ref_price > 0):
            raise SpecError("The constant-elasticity model needs scale > 0 and ref_price > 0.")
        if self.noise == "negative_binomial" and not self.dispersion > 0:
            raise SpecError(f"dispersion must be > 0 for negative binomial noise. Got {self.dispersion!r} instead.")
        if self.seasonality and min(self.seasonality) <= 0:
            raise SpecError("seasonality factors must be > 0 (multiplicative).")

    # ----------------------------------------------------------------- expectations
    def units_per_visitor(self, prices: np.ndarray | float) -> np.ndarray:
        """Expected units per visitor at ``prices`` in a period with factor 1."""
        p = np.asarray(prices, dtype=float)
        if self.kind == "constant_elasticity":
            return self.scale * (p / self.ref_price) ** self.elasticity
        if self.kind == "linear":
            return np.maximum(self.scale - self.slope * p, 0.0)
        if self.kind == "logit":
            return 1.0 / (1.0 + np.exp(-(self.intercept - self.slope * p)))
        order = np.argsort(self.table_prices)
        tp, tu = np.asarray(self.table_prices)[order], np.asarray(self.table_units)[order]
        idx = np.clip(np.searchsorted(tp, p), 0, len(tp) - 1)
        if not np.all(np.isclose(tp[idx], p)):
            raise SpecError("a price is not in the demand table's table_prices; simulate only the tabled prices.")
        return tu[idx]

    def period_factor(self, periods: np.ndarray | int) -> np.ndarray:
        """Seasonality times drift for each period (1 with neither)."""
        t = np.asarray(periods, dtype=float)
        factor = (1.0 + self.drift) ** t
        if self.seasonality:
            s = np.asarray(self.seasonality, dtype=float)
            s = s / s.mean()
            factor = factor * s[np.asarray(periods, dtype=int) % len(s)]
        return factor

    def expected_units(self, prices: np.ndarray | float, visitors: np.ndarray | float, period: int = 0) -> np.ndarray:
        """Expected units sold to ``visitors`` at ``prices`` in ``period``."""
        return self.units_per_visitor(prices) * self.period_factor(period) * np.asarray(visitors, dtype=float)

    # ----------------------------------------------------------------- noise
    def sample_units(self, mean: np.ndarray, visitors: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
        """Noisy units around ``mean`` (any shape), for ``visitors`` visitors."""
        mean = np.asarray(mean, dtype=float)
        if self.noise == "poisson":
            return rng.poisson(mean).astype(float)
        if self.noise == "negative_binomial":
            # gamma-Poisson mixture: variance mu + mu^2 / dispersion
            lam = rng.gamma(self.dispersion, mean / self.dispersion)
            return rng.poisson(lam).astype(float)
        if self.noise == "lognormal":
            return mean * np.exp(rng.normal(-0.5 * self.sigma ** 2, self.sigma, size=mean.shape))
        if self.noise == "binomial":
            n = np.broadcast_to(np.asarray(visitors), mean.shape).astype(np.int64)
            prob = np.clip(mean / np.maximum(n, 1), 0.0, 1.0)
            return rng.binomial(n, prob).astype(float)
        return mean.copy()


def fit_demand(history: pd.DataFrame, *, price: str, units: str, visitors: str | None = None,
               kind: DemandKind = "constant_elasticity", ref_price: float | None = None) -> DemandModel:
    """Fit a demand model to sales history (one row per product-period or period).

    Constant elasticity is a log-log least-squares fit of units per visitor on price; linear
    and logit are least-squares fits of units per visitor (logit on its log-odds). The noise
    is Poisson when the variance of units around the fit is within 20% of the mean, otherwise
    negative binomial with a moment estimate of the dispersion.

    Parameters
    ----------
    history : pandas.DataFrame
    price, units : str
        Columns with the price charged and the units sold.
    visitors : str, optional
        Column with traffic; without it, units per period are modelled (visitors = 1).
    kind : {"constant_elasticity", "linear", "logit"}
    ref_price : float, optional
        Reference price of the constant-elasticity form (default: the median price).

    Returns
    -------
    DemandModel

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from causal_kit.bandits.demand import DemandModel, fit_demand
    >>> rng = np.random.default_rng(0)
    >>> p = rng.choice([8.0, 10.0, 12.0], 2000)
    >>> truth = DemandModel(scale=40.0, elasticity=-1.8, ref_price=10.0)
    >>> hist = pd.DataFrame({"price": p, "units": truth.sample_units(truth.expected_units(p, 1.0), 1.0, rng)})
    >>> round(fit_demand(hist, price="price", units="units").elasticity, 1)
    -1.8
    """
    for role, col in (("price", price), ("units", units), ("visitors", visitors)):
        if col is not None and col not in history.columns:
            raise DataError(f"column {col!r} ({role}) is not in the history; its columns are {list(history.columns)[:20]}.")
    p = pd.to_numeric(history[price], errors="coerce").to_numpy(dtype=float)
    u = pd.to_numeric(history[units], errors="coerce").to_numpy(dtype=float)
    v = np.ones_like(p) if visitors is None else pd.to_numeric(history[visitors], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(p) | ~np.isfinite(u) | ~np.isfinite(v)
    if bad.any():
        raise DataError(f"history has {int(bad.sum())} rows with missing or non-numeric price/units/visitors; "
                        "fill or drop them.")
    if (p <= 0).any():
        raise DataError(f"column {price!r} has {int((p <= 0).sum())} prices <= 0; prices must be positive.")
    if len(np.unique(p)) < 2:
        raise DataError(f"column {price!r} holds a single price; demand cannot be fitted without price variation.")
    if (u < 0).any() or (v <= 0).any():
        raise DataError("units must be >= 0 and visitors > 0 in every row of the history.")
    y = u / v
    ref = float(np.median(p)) if ref_price is None else float(ref_price)
    if kind == "constant_elasticity":
        # aggregate by price first so zero-sale rows do not break the log
        df = pd.DataFrame({"p": p, "u": u, "v": v}).groupby("p", as_index=False).sum()
        if (df["u"] <= 0).any():
            raise DataError("a tested price sold no units at all; a log-log fit needs sales at every price.")
        x, ly, wts = np.log(df["p"] / ref), np.log(df["u"] / df["v"]), df["v"].to_numpy()
        slope, icpt = np.polyfit(x, ly, 1, w=np.sqrt(wts))
        model = DemandModel(kind=kind, scale=float(np.exp(icpt)), elasticity=float(slope), ref_price=ref)
    elif kind == "linear":
        slope, icpt = np.polyfit(p, y, 1)
        model = DemandModel(kind=kind, scale=float(icpt), slope=float(-slope))
    elif kind == "logit":
        df = pd.DataFrame({"p": p, "u": u, "v": v}).groupby("p", as_index=False).sum()
        share = (df["u"] / df["v"]).clip(1e-6, 1 - 1e-6)
        slope, icpt = np.polyfit(df["p"], np.log(share / (1 - share)), 1)
        model = DemandModel(kind=kind, intercept=float(icpt), slope=float(-slope), noise="binomial")
        return model
    else:
        raise SpecError(f"The 'kind' parameter of fit_demand must be one of 'constant_elasticity', 'linear', "
                        f"'logit'. Got {kind!r} instead.")
    mu = model.expected_units(p, v)
    resid_var = float(np.mean((u - mu) ** 2))
    mean_mu = float(np.mean(mu))
    if resid_var <= 1.2 * mean_mu:
        return model
    # method of moments: E[(u - mu)^2] = mu + mu^2 / k
    k = float(np.mean(mu ** 2) / max(resid_var - mean_mu, 1e-12))
    return DemandModel(**{**model.__dict__, "noise": "negative_binomial", "dispersion": k})
