"""Simulator of a price test with a known constant elasticity.

Products have their own base price, base demand and category; demand follows
``units = base_units * season_t * (price / base_price) ** elasticity`` with log-normal
product-period shocks (and Poisson counts on top, by default). Two designs:

- ``"product"``: products are randomised to the price arms (relative to their base price),
  stratified by category and base demand, after ``pre_periods`` periods at the base price;
- ``"switch"``: every product cycles through the arms over time in a random order
  (within-product alternation).

:func:`price_test_arrays` returns many draws as ``(draws, products, periods)`` arrays for
vectorised coverage and power studies; :func:`simulate_price_test` returns one draw as a frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import SpecError

__all__ = ["simulate_price_test", "price_test_arrays"]


def _checks(n_products: int, n_periods: int, arms: Sequence[float], pre_periods: int, design: str) -> np.ndarray:
    a = np.asarray(arms, dtype=float)
    if a.size < 2 or not np.all(a > 0) or len(np.unique(a)) < a.size:
        raise SpecError(f"arms must be at least 2 distinct positive relative prices; got {list(arms)}.")
    if design not in ("product", "switch"):
        raise SpecError(f"The 'design' parameter must be 'product' or 'switch'. Got {design!r} instead.")
    if n_products < 2 or n_periods < 2:
        raise SpecError("a price test needs at least 2 products and 2 periods.")
    if design == "product" and not 1 <= pre_periods < n_periods:
        raise SpecError("design 'product' needs 1 <= pre_periods < n_periods (periods at the base price first).")
    return a


def _products(n_products: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed product traits: base price, base units per period, category (0..4)."""
    rng = np.random.default_rng([seed, 1])
    base_price = np.round(np.exp(rng.normal(np.log(20.0), 0.5, n_products)), 2)
    base_units = np.exp(rng.normal(np.log(150.0), 0.6, n_products))
    category = rng.integers(0, 5, n_products)
    return base_price, base_units, category


def _assign(rng: np.random.Generator, n_draws: int, category: np.ndarray, base_units: np.ndarray,
            n_arms: int) -> np.ndarray:
    """Arm index per draw and product: within each category, products sorted by base demand are
    dealt to the arms in blocks of ``n_arms`` in random order (stratified randomisation)."""
    n = len(category)
    out = np.empty((n_draws, n), dtype=np.int64)
    order = np.lexsort((base_units, category))
    cat_sorted = category[order]
    # position of each product within its category block
    pos = np.arange(n) - np.searchsorted(cat_sorted, cat_sorted)
    block = pos // n_arms
    keys = cat_sorted * (n + 1) + block
    perm = np.argsort(rng.random((n_draws, n)) + keys[None, :] * 2.0, axis=1)  # shuffle within blocks
    rank = np.empty_like(perm)
    rank[np.arange(n_draws)[:, None], perm] = np.arange(n)[None, :]
    arm_sorted = (rank - (np.searchsorted(keys, keys))[None, :]) % n_arms
    offset = rng.integers(0, n_arms, (n_draws, 1))  # random arm for the remainders of each block
    out[:, order] = (arm_sorted + offset) % n_arms
    return out


def price_test_arrays(*, n_products: int = 60, n_periods: int = 8, elasticity: float = -1.8,
                      arms: Sequence[float] = (0.9, 1.0, 1.1), design: Literal["product", "switch"] = "product",
                      pre_periods: int = 4, sigma: float = 0.15, noise: Literal["poisson", "lognormal"] = "poisson",
                      n_draws: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """Many simulated price tests at once.

    Returns
    -------
    dict
        ``units`` and ``price`` of shape ``(n_draws, n_products, n_periods)``; ``base_price``,
        ``base_units`` and ``category`` per product; ``season`` per period.

    Examples
    --------
    >>> from causal_kit.datasets.price_test_sim import price_test_arrays
    >>> sims = price_test_arrays(n_products=10, n_periods=6, n_draws=3, seed=1)
    >>> sims["units"].shape
    (3, 10, 6)
    """
    a = _checks(n_products, n_periods, arms, pre_periods, design)
    base_price, base_units, category = _products(n_products, seed)
    rng = np.random.default_rng([seed, 2])
    season = np.exp(0.1 * np.sin(2 * np.pi * np.arange(n_periods) / 7.0))
    if design == "product":
        arm = _assign(rng, n_draws, category, base_units, a.size)
        rel = np.ones((n_draws, n_products, n_periods))
        rel[:, :, pre_periods:] = a[arm][:, :, None]
    else:
        # each product cycles through the arms from a random start
        start = rng.integers(0, a.size, (n_draws, n_products, 1))
        rel = a[(start + np.arange(n_periods)[None, None, :]) % a.size]
    price = base_price[None, :, None] * rel
    mean = base_units[None, :, None] * season[None, None, :] * rel ** elasticity
    shock = rng.normal(-0.5 * sigma ** 2, sigma, mean.shape)
    units = mean * np.exp(shock)
    if noise == "poisson":
        units = rng.poisson(units).astype(float)
    return {"units": units, "price": price, "base_price": base_price, "base_units": base_units,
            "category": category, "season": season}


def simulate_price_test(*, n_products: int = 60, n_periods: int = 8, elasticity: float = -1.8,
                        arms: Sequence[float] = (0.9, 1.0, 1.1), design: Literal["product", "switch"] = "product",
                        pre_periods: int = 4, sigma: float = 0.15, noise: Literal["poisson", "lognormal"] = "poisson",
                        cost_share: float = 0.6, seed: int = 0) -> pd.DataFrame:
    """One simulated price test as a product x week frame (true elasticity ``elasticity``).

    Columns: ``product, category, week, price, base_price, unit_cost, units, revenue, margin``.

    Examples
    --------
    >>> from causal_kit.datasets import simulate_price_test
    >>> df = simulate_price_test(n_products=12, n_periods=6, seed=0)
    >>> sorted(df.columns)[:4]
    ['base_price', 'category', 'margin', 'price']
    """
    sims = price_test_arrays(n_products=n_products, n_periods=n_periods, elasticity=elasticity, arms=arms,
                             design=design, pre_periods=pre_periods, sigma=sigma, noise=noise, n_draws=1, seed=seed)
    n, t = n_products, n_periods
    price = sims["price"][0].ravel()
    units = sims["units"][0].ravel()
    base_price = np.repeat(sims["base_price"], t)
    cost = np.round(cost_share * base_price, 2)
    df = pd.DataFrame({
        "product": np.repeat([f"p{i:03d}" for i in range(n)], t),
        "category": np.repeat([f"c{c}" for c in sims["category"]], t),
        "week": np.tile(np.arange(1, t + 1), n),
        "price": np.round(price, 2), "base_price": base_price, "unit_cost": cost, "units": units,
    })
    df["revenue"] = df["price"] * df["units"]
    df["margin"] = (df["price"] - df["unit_cost"]) * df["units"]
    return df
