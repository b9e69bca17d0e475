"""Price-test design: who gets which price when, and the power to read the elasticity.

- :func:`assign_price_test`: product-level randomisation to price arms, stratified by
  category and baseline demand (products sorted by demand within a category are dealt to the
  arms in blocks, in random order within each block);
- :func:`switch_schedule`: within-product alternation, every product cycling through the arms
  in blocks of ``block`` periods from a random start, the first ``burn_in`` periods after each
  switch flagged (left out of the readout: demand settles after a price change);
- :func:`plan_price_test`: power by simulation on historical sales. Windows of the product x
  period history get a random assignment, the price effect ``units * (relative price) **
  elasticity`` is injected on the real sales noise, and the planned readout (the log-log
  elasticity with product and period effects, CRV1 by product, the ``price_test`` estimator's
  own statistic, batched over simulations) is re-run. Returns a :class:`DesignResult` whose
  effects are elasticities (``details["effect_kind"] == "elasticity"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from .._data import fingerprint
from ..errors import DataError, SpecError
from ..estimators._price_core import loglog_elasticity_batch
from ..result import Diagnostic, make_lineage
from ..spec import ExperimentSpec
from .result import DesignResult

__all__ = ["assign_price_test", "switch_schedule", "plan_price_test"]


def _check_arms(arms: Sequence[float]) -> np.ndarray:
    a = np.asarray(arms, dtype=float)
    if a.size < 2:
        raise SpecError(f"arms has {a.size} price arm(s); a price test needs at least 2 relative prices.")
    if not np.all(np.isfinite(a) & (a > 0)):
        raise SpecError(f"arms must be relative prices > 0 (1.0 = the current price); got {list(arms)}.")
    if len(np.unique(a)) < a.size:
        raise SpecError(f"arms repeats a relative price: {list(arms)}.")
    return a


def assign_price_test(products: pd.DataFrame, *, product: str, arms: Sequence[float] = (0.9, 1.0, 1.1),
                      category: str | None = None, baseline: str | None = None, seed: int = 0) -> pd.DataFrame:
    """Randomise products to price arms, stratified by category and baseline demand.

    Parameters
    ----------
    products : pandas.DataFrame
        One row per product.
    product : str
        Product id column.
    arms : sequence of float
        Relative prices (1.0 = today's price).
    category, baseline : str, optional
        Stratify within this category column, and by this baseline-demand column (products of
        similar demand share a block and land in different arms).
    seed : int

    Returns
    -------
    pandas.DataFrame
        ``product, stratum, arm, relative_price`` (and the category and baseline columns).

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.design.price_test import assign_price_test
    >>> hist = ck.datasets.load("price_test_sim")
    >>> products = hist.groupby(["product", "category"], as_index=False)["units"].mean()
    >>> plan = assign_price_test(products, product="product", category="category", baseline="units")
    >>> plan["relative_price"].value_counts().sort_index().index.tolist()
    [0.9, 1.0, 1.1]
    """
    a = _check_arms(arms)
    for role, col in (("product", product), ("category", category), ("baseline", baseline)):
        if col is not None and col not in products.columns:
            raise DataError(f"column {col!r} ({role}) is not in the products frame; its columns are "
                            f"{list(products.columns)[:20]}.")
    if products[product].duplicated().any():
        raise DataError(f"column {product!r} repeats {int(products[product].duplicated().sum())} products; "
                        "give one row per product (aggregate the history first).")
    df = products[[c for c in dict.fromkeys([product, category, baseline]) if c is not None]].copy()
    cat = df[category] if category is not None else pd.Series(0, index=df.index)
    base = df[baseline].astype(float) if baseline is not None else pd.Series(0.0, index=df.index)
    if base.isna().any():
        raise DataError(f"column {baseline!r} (baseline) has {int(base.isna().sum())} missing values.")
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(df)), base.to_numpy(), pd.factorize(cat, sort=True)[0]))
    sorted_cat = pd.factorize(cat, sort=True)[0][order]
    pos = np.arange(len(df)) - np.searchsorted(sorted_cat, sorted_cat)
    stratum = sorted_cat * (len(df) + 1) + pos // a.size
    arm_idx = np.empty(len(df), dtype=np.int64)
    for s in np.unique(stratum):
        members = np.flatnonzero(stratum == s)
        # a random set of distinct arms per block (a permutation when the block is full)
        arm_idx[members] = rng.permutation(a.size)[: len(members)]
    out = df.iloc[order].reset_index(drop=True)
    out["stratum"] = pd.factorize(stratum)[0]
    out["arm"] = arm_idx
    out["relative_price"] = a[arm_idx]
    return out.sort_values(product, kind="stable").reset_index(drop=True)


def switch_schedule(products: Sequence[object], *, n_periods: int, arms: Sequence[float] = (0.9, 1.0, 1.1),
                    block: int = 1, burn_in: int = 0, seed: int = 0) -> pd.DataFrame:
    """Within-product price alternation: each product cycles through the arms from a random start.

    Every product switches at the same period boundaries (every ``block`` periods), so each
    period holds every arm; the first ``burn_in`` periods of each block are flagged.

    Examples
    --------
    >>> from causal_kit.design.price_test import switch_schedule
    >>> s = switch_schedule(["a", "b", "c"], n_periods=6, block=2, burn_in=1)
    >>> s.groupby("period")["relative_price"].nunique().tolist()
    [3, 3, 3, 3, 3, 3]
    """
    a = _check_arms(arms)
    if not (isinstance(block, int) and block >= 1 and isinstance(burn_in, int) and 0 <= burn_in < block):
        raise SpecError(f"switch_schedule needs block >= 1 and 0 <= burn_in < block; got block={block!r}, "
                        f"burn_in={burn_in!r}.")
    if n_periods < 2 * block:
        raise SpecError(f"n_periods={n_periods} allows fewer than two price blocks of {block} periods.")
    n = len(products)
    rng = np.random.default_rng(seed)
    # products dealt evenly to starting arms so every period holds every arm
    start = rng.permutation(np.arange(n) % a.size)
    t = np.arange(n_periods)
    idx = (start[:, None] + t[None, :] // block) % a.size
    return pd.DataFrame({"product": np.repeat(list(products), n_periods), "period": np.tile(t, n),
                         "arm": idx.ravel(), "relative_price": a[idx.ravel()],
                         "burn_in": np.tile(t % block < burn_in, n)})


def _history_panel(history: pd.DataFrame, spec: ExperimentSpec) -> tuple[np.ndarray, list, list]:
    for role in ("outcome", "unit", "time"):
        col = getattr(spec, role)
        if col is None:
            raise SpecError(f"plan_price_test needs spec.{role} (units, product and period columns of the history).")
        if col not in history.columns:
            raise DataError(f"column {col!r} (spec.{role}) is not in the history; its columns are "
                            f"{list(history.columns)[:20]}.")
    wide = history.pivot_table(index=spec.unit, columns=spec.time, values=spec.outcome, aggfunc="sum")
    gaps = int(wide.isna().sum().sum())
    if gaps:
        raise DataError(f"the history has {gaps} missing product-periods; give every product a row in every "
                        "period (0 units where nothing sold is fine only if you then aggregate periods).")
    y = wide.to_numpy(float)
    if (y <= 0).any():
        raise DataError(f"{int((y <= 0).sum())} product-periods of the history have no sales; the log-log readout "
                        "needs positive units: aggregate to longer periods or leave out rarely-selling products.")
    return y, list(wide.index), list(wide.columns)


def plan_price_test(history: pd.DataFrame, spec: ExperimentSpec, *, arms: Sequence[float] = (0.9, 1.0, 1.1),
                    design: Literal["product", "switch"] = "product", durations: Sequence[int] = (4, 8, 12),
                    pre_periods: int = 4, block: int = 1, burn_in: int = 0,
                    elasticities: Sequence[float] = (0.0, -0.1, -0.2, -0.3, -0.5, -0.75, -1.0, -1.5, -2.0),
                    expected_elasticity: float | None = None, n_sims: int = 400, target_power: float = 0.8,
                    category: str | None = None, seed: int | None = None) -> DesignResult:
    """Power of a price test by simulation on historical sales.

    Parameters
    ----------
    history : pandas.DataFrame
        Product x period sales before the test (``spec.outcome``, ``spec.unit``, ``spec.time``).
    spec : ExperimentSpec
        The readout spec (design ``price_test``).
    arms : sequence of float
        Relative prices to test (1.0 = the current price).
    design : {"product", "switch"}
        Product-level randomisation after ``pre_periods`` at the current price, or
        within-product switching in blocks of ``block`` periods with ``burn_in`` periods left out.
    durations : sequence of int
        Test lengths in periods to compare.
    elasticities : sequence of float
        True elasticities injected (0 gives the type-I error).
    expected_elasticity : float, optional
        The elasticity the test should detect; picks the shortest duration with enough power.
    n_sims : int
        Simulated tests per duration and elasticity (windows and assignments redrawn).
    target_power : float
    category : str, optional
        History column to stratify the product-level assignment by (with baseline demand).
    seed : int, optional
        Defaults to ``spec.seed``.

    Returns
    -------
    DesignResult
        Power curve over elasticities and durations, the smallest detectable elasticity (``mde``,
        in absolute value), the type-I error, the assignment (product design) or switching
        schedule (``tables["schedule"]``), and ``details["effect_kind"] = "elasticity"``.

    Examples
    --------
    >>> import causal_kit as ck
    >>> from causal_kit.design.price_test import plan_price_test
    >>> hist = ck.datasets.load("price_test_sim").query("week <= 4")
    >>> spec = ck.ExperimentSpec(name="p", design="price_test", outcome="units", treatment="price",
    ...                          unit="product", time="week")
    >>> plan = plan_price_test(hist, spec, design="switch", durations=(4,), n_sims=100)
    >>> 0 < plan.mde < 2
    True
    """
    from scipy.stats import t as t_dist

    a = _check_arms(arms)
    if design not in ("product", "switch"):
        raise SpecError(f"The 'design' parameter of plan_price_test must be 'product' or 'switch'. Got {design!r}.")
    if not (isinstance(n_sims, int) and n_sims >= 20):
        raise SpecError(f"The 'n_sims' parameter of plan_price_test must be an int >= 20. Got {n_sims!r} instead.")
    if not 0 < target_power < 1:
        raise SpecError(f"The 'target_power' parameter must be in (0, 1). Got {target_power!r} instead.")
    y, prods, periods = _history_panel(history, spec)
    n, T = y.shape
    need = [d + (pre_periods if design == "product" else 0) for d in durations]
    if any(d < 2 for d in durations) or max(need) > T:
        raise DataError(f"the history has {T} periods; durations {list(durations)}"
                        + (f" plus {pre_periods} pre-periods" if design == "product" else "")
                        + " must fit inside it (and each be >= 2). Shorten them or give more history.")
    if n < 4:
        raise DataError(f"the history has {n} products; a clustered readout needs at least 4.")
    seed = spec.seed if seed is None else seed
    rng = np.random.default_rng([seed, 17])
    baseline = y.mean(axis=1)
    cat_frame = pd.DataFrame({"product": prods, "baseline": baseline})
    if category is not None:
        if category not in history.columns:
            raise DataError(f"column {category!r} (category) is not in the history.")
        cats = history.groupby(spec.unit)[category].first()
        cat_frame["category"] = cats.reindex(prods).to_numpy()
    crit = float(t_dist.ppf(1 - spec.alpha / 2, n - 1))
    strata = assign_price_test(cat_frame, product="product", arms=a, category="category" if category else None,
                               baseline="baseline", seed=seed).set_index("product")["stratum"].reindex(prods).to_numpy()
    rows = []
    for dur, width in zip(durations, need):
        starts = rng.integers(0, T - width + 1, n_sims)
        win = np.stack([y[:, s:s + width] for s in starts])  # (S, N, W)
        if design == "product":
            rel = np.ones_like(win)
            rel[:, :, pre_periods:] = a[_stratified_draws(strata, a.size, n_sims, rng)][:, :, None]
            keep = np.arange(width)
        else:
            start = np.stack([rng.permutation(np.arange(n) % a.size) for _ in range(n_sims)])
            tt = np.arange(width)
            rel = a[(start[:, :, None] + (tt // block)[None, None, :]) % a.size]
            keep = np.flatnonzero(tt % block >= burn_in)
        log_y, log_r = np.log(win[:, :, keep]), np.log(rel[:, :, keep])
        for beta in elasticities:
            b_hat, se = loglog_elasticity_batch(log_y + beta * log_r, log_r)
            reject = np.abs(b_hat / se) > crit
            covered = np.abs(b_hat - beta) <= crit * se
            rows.append({"estimator": "price_test", "cell": "all", "duration": int(dur), "effect": float(beta),
                         "power": float(reject.mean()), "power_se": float(np.sqrt(reject.mean() * (1 - reject.mean())
                                                                                  / n_sims)),
                         "bias": float(np.mean(b_hat - beta)), "coverage": float(covered.mean()),
                         "ci_halfwidth": float(np.median(crit * se))})
    curve = pd.DataFrame(rows)
    table = []
    for dur, grp in curve.groupby("duration", sort=True):
        table.append({"duration": int(dur), "mde": _mde(grp, target_power),
                      "type1_error": float(grp.loc[grp.effect == 0, "power"].mean()) if (grp.effect == 0).any()
                      else float("nan"),
                      "ci_halfwidth": float(grp["ci_halfwidth"].median())})
    duration_table = pd.DataFrame(table)
    rec = int(duration_table["duration"].iloc[0])
    if expected_elasticity is not None:
        ok = duration_table[duration_table["mde"] <= abs(expected_elasticity)]
        rec = int(ok["duration"].iloc[0]) if len(ok) else int(duration_table["duration"].iloc[-1])
    row = duration_table.set_index("duration").loc[rec]
    mde = float(row["mde"])
    top = float(a.max())
    # units lost per period at the highest arm if the elasticity were -mde, all products
    mde_abs = float(baseline.sum() * (top ** (-mde) - 1)) if np.isfinite(mde) else float("nan")
    type1 = float(row["type1_error"])
    at_rec = curve[curve.duration == rec]
    ranking = pd.DataFrame([{
        "estimator": "price_test", "bias": float(at_rec["bias"].mean()),
        "rmse": float(np.sqrt(np.mean(at_rec["bias"] ** 2))), "coverage": float(at_rec["coverage"].mean()),
        "type1_error": type1, "mde": mde, "calibrated": False, "n_simulations": int(n_sims),
        "inference": "readout", "recommended": True}])
    if design == "product":
        assignment = assign_price_test(cat_frame, product="product", arms=a, baseline="baseline",
                                       category="category" if category else None, seed=seed)
        schedule = None
    else:
        schedule = switch_schedule(prods, n_periods=rec, arms=a, block=block, burn_in=burn_in, seed=seed)
        first = schedule[schedule.period == 0].set_index("product")["relative_price"]
        assignment = cat_frame.assign(relative_price=first.reindex(prods).to_numpy())
    assignment = pd.DataFrame({
        "unit": assignment["product"].to_numpy(), "cell": [f"{r:.2f}x price" for r in assignment["relative_price"]],
        "kpi": assignment["baseline"].to_numpy(float),
        "kpi_share": assignment["baseline"].to_numpy(float) / baseline.sum(),
        "cost": 0.0, "relative_price": assignment["relative_price"].to_numpy(float)})
    tables = {} if schedule is None else {"schedule": schedule}
    diagnostics = (
        Diagnostic("type1_error", "pass" if type1 <= spec.alpha + 3 * np.sqrt(spec.alpha * (1 - spec.alpha) / n_sims)
                   else "warn",
                   f"With no price effect the readout rejected in {type1:.1%} of {n_sims} simulated tests "
                   f"(alpha {spec.alpha:g}).", statistic=type1, threshold=spec.alpha, assumption="inference"),
        Diagnostic("products", "pass" if n >= 30 else "warn",
                   f"{n} products in the history; " + ("enough clusters." if n >= 30 else
                                                       "few clusters make clustered intervals unreliable."),
                   statistic=float(n), threshold=30.0, assumption="inference"),
    )
    return DesignResult(
        method="price_test", spec=spec, spec_hash=spec.spec_hash, assignment=assignment, power_curve=curve,
        duration_table=duration_table.drop(columns=["type1_error"]).assign(mde_absolute=np.nan),
        estimator_ranking=ranking, mde=mde, mde_absolute=mde_abs, target_power=target_power, alpha=spec.alpha,
        recommended_duration=rec, type1_error=type1, outcome=spec.outcome or "", diagnostics=diagnostics,
        tables=tables, lineage=make_lineage(spec, fingerprint(history)),
        details={"effect_kind": "elasticity", "design": design, "arms": a.tolist(), "pre_periods": int(pre_periods),
                 "block": int(block), "burn_in": int(burn_in), "n_products": int(n), "n_periods": int(T),
                 "durations": [int(d) for d in durations], "n_sims": int(n_sims),
                 "first_period": str(periods[0]), "last_period": str(periods[-1])})


def _stratified_draws(strata: np.ndarray, n_arms: int, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Arm index ``(n_draws, n)``: within each stratum a random set of distinct arms, redrawn per draw."""
    n = len(strata)
    codes = pd.factorize(strata, sort=True)[0]
    start = np.concatenate([[0], np.cumsum(np.bincount(codes))[:-1]])
    order = np.argsort(codes[None, :] * 2.0 + rng.random((n_draws, n)), axis=1)
    sorted_codes = codes[order]
    pos = np.arange(n)[None, :] - start[sorted_codes]
    offset = rng.integers(0, n_arms, (n_draws, int(codes.max()) + 1))
    arm_sorted = (pos + np.take_along_axis(offset, sorted_codes, axis=1)) % n_arms
    out = np.empty((n_draws, n), dtype=np.int64)
    np.put_along_axis(out, order, arm_sorted, axis=1)
    return out


def _mde(grp: pd.DataFrame, target: float) -> float:
    """Smallest |elasticity| with power >= target, interpolated linearly between grid points."""
    g = grp[grp.effect != 0].assign(size=lambda d: d.effect.abs()).sort_values("size")
    sizes, power = g["size"].to_numpy(), g["power"].to_numpy()
    hit = np.flatnonzero(power >= target)
    if not len(hit):
        return float("inf")
    i = hit[0]
    if i == 0:
        return float(sizes[0])
    x0, x1, p0, p1 = sizes[i - 1], sizes[i], power[i - 1], power[i]
    return float(x0 + (target - p0) * (x1 - x0) / (p1 - p0)) if p1 > p0 else float(x1)
