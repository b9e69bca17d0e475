"""Off-policy evaluation benchmark: all six estimators with intervals and diagnostics on 10M logged rows.

Goal (issue "price experiments and bandit price exploration"): under 5 s. The reference
values against the Open Bandit Pipeline live in ``tests/reference/test_ope_reference.py``.
"""

from __future__ import annotations

from ._harness import best_time, row


def run(quick: bool = False) -> list[dict]:
    """Time ``evaluate_policy`` on 10M rows (1M with ``quick``), 8 price arms, a stochastic target."""
    import numpy as np

    from causal_kit.bandits.ope import evaluate_policy

    n, k = (1_000_000 if quick else 10_000_000), 8
    rng = np.random.default_rng(0)
    behaviour = rng.dirichlet(np.ones(k) * 5)
    action = rng.choice(k, size=n, p=behaviour)
    means = np.linspace(1.0, 2.0, k)
    reward = rng.normal(means[action], 1.0)
    target = rng.dirichlet(np.ones(k))
    propensity = behaviour[action]
    q = means + 0.05

    def fit():
        return evaluate_policy(action=action, reward=reward, propensity=propensity, target=target, reward_model=q)

    seconds, res = best_time(fit, repeat=2)
    truth = float(target @ means)
    return [row(f"OPE, 6 estimators + CIs + diagnostics, {n:,} rows", seconds, goal="< 5 s", match=seconds < 5,
                note=f"DR {res.estimate('dr'):.4f} vs true {truth:.4f}")]
