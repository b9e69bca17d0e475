"""Bandit simulator benchmark: 20 price arms x 365 daily batches x 1,000 replications.

Goal (issue "price experiments and bandit price exploration"): under 10 s on 2 cores for
one policy, vectorised over replications. Thompson sampling (Gaussian) is the costliest
policy (a normal draw per arm per replication per day).
"""

from __future__ import annotations

from ._harness import best_time, row


def run(quick: bool = False) -> list[dict]:
    """Time one Thompson and one fixed-A/B simulation (100 replications with ``quick``)."""
    import numpy as np

    from causal_kit.bandits.demand import DemandModel
    from causal_kit.bandits.simulate import simulate_bandit

    reps = 100 if quick else 1000
    demand = DemandModel(scale=0.05, elasticity=-2.5, ref_price=10.0, noise="negative_binomial", dispersion=10.0,
                         seasonality=(1.2, 1.0, 1.0, 1.0, 1.0, 0.9, 0.8))
    prices = np.linspace(6.0, 14.0, 20)
    out = []
    for policy in ("thompson_gaussian", "fixed_ab"):
        seconds, sim = best_time(lambda p=policy: simulate_bandit(demand, prices, unit_cost=5.0, policies=[p],
                                                         horizon=365, n_reps=reps, seed=0), repeat=1)
        s = sim.summary.iloc[0]
        out.append(row(f"bandit simulation, {policy}, 20 arms x 365 days x {reps:,} reps", seconds,
                       goal="< 10 s", match=seconds < 10,
                       note=f"regret {s['regret_share']:.1%} of oracle profit"))
    return out
