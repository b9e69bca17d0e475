"""Simulate price-exploration policies against a demand model, vectorised over replications.

:func:`simulate_bandit` runs each policy for ``horizon`` periods in ``n_reps`` seeded
replications at once (numpy arrays of shape ``(n_reps, n_arms)``), with decisions and
posterior updates once per period (batched), and business constraints: a price floor and
ceiling, a maximum relative price change between periods, and one price for every customer
at a time (``slices=1``; ``slices=S`` splits each period's traffic into S slices with a
decision each). It reports cumulative profit and regret against the oracle price (the best
allowed arm in expectation) with replication bands, the share of traffic per arm over time,
the posterior probability that each arm is best, and, as the baseline, the fixed A/B price
test of the same length (``fixed_ab``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._parallel import spawn_seeds
from ..errors import SpecError
from .demand import DemandModel, check_prices
from .policies import POLICIES, ArmStats, Policy

__all__ = ["BanditSimulation", "simulate_bandit"]


@dataclass(frozen=True)
class BanditSimulation:
    """What :func:`simulate_bandit` returns: numbers only, as flat tables.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per policy: total profit and regret (mean and band), regret as a share of the
        oracle's profit, and the share of replications whose final best arm is the oracle's.
    curves : pandas.DataFrame
        ``policy, period, cum_profit, cum_profit_lo, cum_profit_hi, cum_regret, cum_regret_lo, cum_regret_hi``.
    allocation : pandas.DataFrame
        ``policy, period, arm, price, share``: the share of traffic each price got in each period.
    arms : pandas.DataFrame
        ``policy, arm, price, expected_profit, oracle, traffic_share, p_best, final_choice_share``.
    oracle_price : float
    horizon, n_reps, seed : int
    band : float
        Central share of replications inside the ``_lo`` / ``_hi`` bands.
    """

    summary: pd.DataFrame
    curves: pd.DataFrame
    allocation: pd.DataFrame
    arms: pd.DataFrame
    oracle_price: float
    horizon: int
    n_reps: int
    seed: int
    band: float

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.summary, "curves": self.curves, "allocation": self.allocation, "arms": self.arms}


def _policy_list(policies: Sequence[str | Policy] | Mapping[str, Policy]) -> list[tuple[str, Policy]]:
    if isinstance(policies, Mapping):
        items = list(policies.items())
    else:
        items = []
        for p in policies:
            if isinstance(p, str):
                if p not in POLICIES:
                    raise SpecError(f"unknown policy {p!r}; choose from {sorted(POLICIES)} or pass a Policy instance.")
                items.append((p, POLICIES[p]()))
            else:
                items.append((p.name, p))
    if not items:
        raise SpecError("policies is empty; pass at least one policy name or Policy instance.")
    names = [n for n, _ in items]
    if len(set(names)) < len(names):
        raise SpecError(f"policy names repeat ({names}); pass a dict {{name: Policy}} to name them apart.")
    for name, pol in items:
        if not isinstance(pol, Policy):
            raise SpecError(f"policy {name!r} is a {type(pol).__name__}, not a causal_kit.bandits Policy.")
    return items


def _p_best(policy: Policy, stats: ArmStats, margins: np.ndarray, rng: np.random.Generator,
            allowed: np.ndarray, draws: int = 200) -> np.ndarray:
    """Posterior probability that each arm is best, averaged over replications (Bayesian policies)."""
    r, k = stats.pulls.shape
    wins = np.zeros(k)
    for _ in range(draws):
        s = np.where(allowed, policy.scores(stats, margins, 10 ** 9, rng), -np.inf)
        s = np.where(np.isinf(s) & (s > 0), np.nan, s)  # untried arms: no posterior yet
        best = np.nanargmax(np.where(np.isnan(s).all(axis=1, keepdims=True), 0.0, s), axis=1)
        wins += np.bincount(best, minlength=k)
    return wins / (draws * r)


def simulate_bandit(
    demand: DemandModel,
    prices: Sequence[float],
    *,
    policies: Sequence[str | Policy] | Mapping[str, Policy] = ("thompson_gaussian", "ucb1", "fixed_ab"),
    unit_cost: float = 0.0,
    horizon: int = 365,
    visitors: float | Sequence[float] = 1000.0,
    n_reps: int = 1000,
    slices: int = 1,
    floor: float | None = None,
    ceiling: float | None = None,
    max_change: float | None = None,
    band: float = 0.9,
    seed: int = 0,
) -> BanditSimulation:
    """Simulate pricing policies on a demand model and compare them with the oracle price.

    Parameters
    ----------
    demand : DemandModel
        The true demand (written down, or fitted with :func:`causal_kit.bandits.demand.fit_demand`).
    prices : sequence of float
        The price arms (> 0, distinct, at least two).
    policies : sequence of names or Policy, or dict name -> Policy
        Names from ``causal_kit.bandits.policies.POLICIES``; ``fixed_ab`` is the fixed A/B test.
    unit_cost : float
        Cost per unit; profit is ``(price - unit_cost) * units``.
    horizon : int
        Number of periods (days); decisions and updates happen once per period.
    visitors : float or sequence of float
        Visitors per period (one number, or one per period).
    n_reps : int
        Seeded replications, simulated at once.
    slices : int
        Decisions per period: 1 means one price for everyone at a time.
    floor, ceiling : float, optional
        Price bounds; arms outside them are never played.
    max_change : float, optional
        Largest relative change between consecutive prices (0.1 = 10%).
    band : float
        Central share of replications shown by the bands.
    seed : int

    Returns
    -------
    BanditSimulation

    Examples
    --------
    >>> from causal_kit.bandits.demand import DemandModel
    >>> from causal_kit.bandits.simulate import simulate_bandit
    >>> demand = DemandModel(scale=0.05, elasticity=-2.5, ref_price=10.0)
    >>> sim = simulate_bandit(demand, [8, 9, 10, 11, 12], unit_cost=5.0, horizon=60, n_reps=50)
    >>> sim.oracle_price
    8.0
    >>> regret = sim.summary.set_index("policy")["total_regret"]
    >>> bool(regret["thompson_gaussian"] < regret["fixed_ab"])
    True
    """
    if not isinstance(demand, DemandModel):
        raise SpecError(f"demand must be a DemandModel; got {type(demand).__name__}.")
    arm_prices = check_prices(prices)
    k = arm_prices.size
    for name, value, low in (("horizon", horizon, 1), ("n_reps", n_reps, 1), ("slices", slices, 1)):
        if not (isinstance(value, (int, np.integer)) and value >= low):
            raise SpecError(f"The {name!r} parameter of simulate_bandit must be an int >= {low}. Got {value!r} instead.")
    if not 0 < band < 1:
        raise SpecError(f"The 'band' parameter of simulate_bandit must be in (0, 1). Got {band!r} instead.")
    if max_change is not None and not max_change > 0:
        raise SpecError(f"The 'max_change' parameter of simulate_bandit must be > 0. Got {max_change!r} instead.")
    traffic = np.broadcast_to(np.asarray(visitors, dtype=float), (horizon,)) if np.ndim(visitors) == 0 \
        else np.asarray(visitors, dtype=float)
    if traffic.shape != (horizon,) or not np.all(traffic > 0):
        raise SpecError(f"visitors must be one positive number or {horizon} positive numbers (one per period).")
    allowed = np.ones(k, dtype=bool)
    if floor is not None:
        allowed &= arm_prices >= floor
    if ceiling is not None:
        allowed &= arm_prices <= ceiling
    if not allowed.any():
        raise SpecError(f"no price arm lies within floor={floor!r} and ceiling={ceiling!r}; widen the bounds.")
    margins = arm_prices - unit_cost
    upv = demand.units_per_visitor(arm_prices)
    exp_profit = margins * upv  # per visitor in a period with factor 1
    oracle = int(np.argmax(np.where(allowed, exp_profit, -np.inf)))
    factors = demand.period_factor(np.arange(horizon))
    oracle_per_period = exp_profit[oracle] * factors * traffic
    if max_change is not None:
        ratio = arm_prices[None, :] / arm_prices[:, None]
        reach = np.abs(ratio - 1) <= max_change + 1e-12  # reach[i, j]: from arm i to arm j
    lo_q, hi_q = (1 - band) / 2, 1 - (1 - band) / 2
    items = _policy_list(policies)
    seeds = spawn_seeds(seed, len(items))
    rows_idx = np.arange(n_reps)
    summary, curves, alloc, arms = [], [], [], []
    for (name, policy), ss in zip(items, seeds):
        rng = np.random.default_rng(ss)
        stats = ArmStats.empty(n_reps, k)
        profit = np.empty((n_reps, horizon))
        regret = np.empty((n_reps, horizon))
        share = np.zeros((horizon, k))
        prev = np.full((slices, n_reps), -1)
        v = traffic / slices
        for t in range(horizon):
            chosen = np.empty((slices, n_reps), dtype=np.int64)
            for s in range(slices):
                sc = policy.scores(stats, margins, t * slices + s, rng)  # decision counter
                mask = np.broadcast_to(allowed, (n_reps, k))
                if max_change is not None and t > 0:
                    mask = mask & reach[prev[s]]
                chosen[s] = np.argmax(np.where(mask, sc, -np.inf), axis=1)
            prev = chosen
            mean_units = upv[chosen] * factors[t] * v[t]
            units = demand.sample_units(mean_units, v[t], rng)
            gain = margins[chosen] * units
            profit[:, t] = gain.sum(axis=0)
            regret[:, t] = oracle_per_period[t] - (exp_profit[chosen] * factors[t] * v[t]).sum(axis=0)
            share[t] = np.bincount(chosen.ravel(), minlength=k) / (slices * n_reps)
            # batched update at the end of the period: profit per visitor per slice
            for s in range(slices):
                stats.update(rows_idx, chosen[s], np.full(n_reps, v[t]), units[s], gain[s] / v[t])
        cum_p, cum_r = np.cumsum(profit, axis=1), np.cumsum(regret, axis=1)
        qp = np.quantile(cum_p, [lo_q, hi_q], axis=0)
        qr = np.quantile(cum_r, [lo_q, hi_q], axis=0)
        curves.append(pd.DataFrame({
            "policy": name, "period": np.arange(horizon),
            "cum_profit": cum_p.mean(axis=0), "cum_profit_lo": qp[0], "cum_profit_hi": qp[1],
            "cum_regret": cum_r.mean(axis=0), "cum_regret_lo": qr[0], "cum_regret_hi": qr[1]}))
        alloc.append(pd.DataFrame({
            "policy": name, "period": np.repeat(np.arange(horizon), k), "arm": np.tile(np.arange(k), horizon),
            "price": np.tile(arm_prices, horizon), "share": share.ravel()}))
        greedy = np.argmax(np.where(allowed & (stats.pulls > 0), stats.means(), -np.inf), axis=1)
        final_share = np.bincount(greedy, minlength=k) / n_reps
        p_best = _p_best(policy, stats, margins, rng, allowed) if policy.bayesian else np.full(k, np.nan)
        arms.append(pd.DataFrame({
            "policy": name, "arm": np.arange(k), "price": arm_prices, "expected_profit": exp_profit,
            "oracle": np.arange(k) == oracle, "traffic_share": share.mean(axis=0), "p_best": p_best,
            "final_choice_share": final_share}))
        total_oracle = float(oracle_per_period.sum())
        summary.append({
            "policy": name, "total_profit": float(cum_p[:, -1].mean()),
            "total_profit_lo": float(qp[0, -1]), "total_profit_hi": float(qp[1, -1]),
            "total_regret": float(cum_r[:, -1].mean()),
            "total_regret_lo": float(qr[0, -1]), "total_regret_hi": float(qr[1, -1]),
            "regret_share": float(cum_r[:, -1].mean() / total_oracle) if total_oracle > 0 else float("nan"),
            "oracle_traffic_share": float(share[:, oracle].mean()),
            "final_choice_correct": float(final_share[oracle])})
    return BanditSimulation(
        summary=pd.DataFrame(summary), curves=pd.concat(curves, ignore_index=True),
        allocation=pd.concat(alloc, ignore_index=True), arms=pd.concat(arms, ignore_index=True),
        oracle_price=float(arm_prices[oracle]), horizon=horizon, n_reps=n_reps, seed=seed, band=band)
