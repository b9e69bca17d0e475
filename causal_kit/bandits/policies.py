"""Price-exploration policies, vectorised over replications.

Each policy turns the running statistics of every arm in every replication (an
:class:`ArmStats` of ``(R, K)`` arrays) into a score per arm; the simulator plays the
highest-scoring allowed arm. Rewards are profit per visitor in a period (or slice of one),
so traffic swings do not bias the comparison of arms.

- :class:`ThompsonGaussian`: a normal posterior on each arm's mean profit per visitor
  (sample variance plugged in, shrunk towards a pooled variance while an arm has few pulls);
- :class:`ThompsonBeta`: Beta-Bernoulli on the purchase probability (one unit at most per visitor);
- :class:`ThompsonPoisson`: Poisson-Gamma on units per visitor;
- :class:`UCB1` (Auer et al., 2002) and :class:`UCBV` (Audibert et al., 2009) on profit
  scaled by the largest profit seen so far;
- :class:`EpsilonGreedy`: fixed or decaying exploration;
- :class:`FixedPriceTest`: the fixed A/B price test, rotating through the arms (the baseline).

Scores of untried arms are ``+inf``, so every allowed arm is tried once before any index is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import SpecError

__all__ = [
    "ArmStats", "Policy", "ThompsonGaussian", "ThompsonBeta", "ThompsonPoisson", "UCB1", "UCBV",
    "EpsilonGreedy", "FixedPriceTest", "POLICIES",
]


@dataclass
class ArmStats:
    """Running sums per replication and arm (arrays of shape ``(R, K)``)."""

    pulls: np.ndarray
    visitors: np.ndarray
    units: np.ndarray
    reward_sum: np.ndarray
    reward_sq: np.ndarray
    max_reward: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def empty(cls, n_reps: int, n_arms: int) -> ArmStats:
        z = lambda: np.zeros((n_reps, n_arms))  # noqa: E731
        return cls(z(), z(), z(), z(), z(), np.zeros(n_reps))

    def update(self, rows: np.ndarray, arms: np.ndarray, visitors: np.ndarray, units: np.ndarray,
               reward: np.ndarray) -> None:
        """Add one pull per (row, arm) pair; rows repeat only across calls, never within one."""
        self.pulls[rows, arms] += 1
        self.visitors[rows, arms] += visitors
        self.units[rows, arms] += units
        self.reward_sum[rows, arms] += reward
        self.reward_sq[rows, arms] += reward * reward
        np.maximum.at(self.max_reward, rows, np.abs(reward))

    def means(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.pulls > 0, self.reward_sum / np.maximum(self.pulls, 1), 0.0)


class Policy:
    """Protocol: ``scores(stats, margins, t, rng) -> (R, K)`` array; the highest allowed arm is played."""

    name = "policy"
    bayesian = False

    def scores(self, stats: ArmStats, margins: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({opts})"


def _untried_first(scores: np.ndarray, stats: ArmStats) -> np.ndarray:
    return np.where(stats.pulls > 0, scores, np.inf)


class ThompsonGaussian(Policy):
    """Thompson sampling with a normal posterior on each arm's mean profit per visitor.

    Parameters
    ----------
    prior_pulls : float
        Weight of the pooled variance in each arm's variance estimate (in pulls).
    """

    name = "thompson_gaussian"
    bayesian = True

    def __init__(self, *, prior_pulls: float = 2.0) -> None:
        if not prior_pulls >= 0:
            raise SpecError(f"The 'prior_pulls' parameter of ThompsonGaussian must be >= 0. Got {prior_pulls!r} instead.")
        self.prior_pulls = prior_pulls

    def posterior(self, stats: ArmStats) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means and standard deviations, ``(R, K)`` each."""
        n = np.maximum(stats.pulls, 1)
        mean = stats.means()
        var = np.maximum(stats.reward_sq / n - mean ** 2, 0.0) * n / np.maximum(n - 1, 1)
        tot = stats.pulls.sum(axis=1, keepdims=True)
        pooled = (stats.reward_sq.sum(axis=1, keepdims=True) - (stats.reward_sum ** 2 / n).sum(axis=1, keepdims=True)) \
            / np.maximum(tot - 1, 1)
        pooled = np.maximum(pooled, 1e-12)
        var = (var * stats.pulls + pooled * self.prior_pulls) / (stats.pulls + self.prior_pulls)
        return mean, np.sqrt(var / n)

    def scores(self, stats, margins, t, rng):
        mean, sd = self.posterior(stats)
        return _untried_first(mean + sd * rng.standard_normal(mean.shape), stats)


class ThompsonBeta(Policy):
    """Thompson sampling with Beta(a, b) priors on each price's purchase probability per visitor."""

    name = "thompson_beta"
    bayesian = True

    def __init__(self, *, a: float = 1.0, b: float = 1.0) -> None:
        if not (a > 0 and b > 0):
            raise SpecError(f"ThompsonBeta needs prior a > 0 and b > 0. Got a={a!r}, b={b!r} instead.")
        self.a, self.b = a, b

    def draw(self, stats: ArmStats, rng: np.random.Generator, margins: np.ndarray) -> np.ndarray:
        buys = np.minimum(stats.units, stats.visitors)
        return margins * rng.beta(self.a + buys, self.b + stats.visitors - buys)

    def scores(self, stats, margins, t, rng):
        return self.draw(stats, rng, margins)


class ThompsonPoisson(Policy):
    """Thompson sampling with Gamma(shape, rate) priors on each price's units per visitor."""

    name = "thompson_poisson"
    bayesian = True

    def __init__(self, *, shape: float = 1.0, rate: float = 1.0) -> None:
        if not (shape > 0 and rate > 0):
            raise SpecError(f"ThompsonPoisson needs shape > 0 and rate > 0. Got {shape!r}, {rate!r} instead.")
        self.shape, self.rate = shape, rate

    def draw(self, stats: ArmStats, rng: np.random.Generator, margins: np.ndarray) -> np.ndarray:
        return margins * rng.gamma(self.shape + stats.units, 1.0 / (self.rate + stats.visitors))

    def scores(self, stats, margins, t, rng):
        return self.draw(stats, rng, margins)


def _scale(stats: ArmStats) -> np.ndarray:
    """Reward scale for the UCB indices: the largest |profit per visitor| seen (rewards in [0, 1] after)."""
    return np.maximum(stats.max_reward, 1e-12)[:, None]


class UCB1(Policy):
    """UCB1: mean + c * scale * sqrt(2 ln t / n)."""

    name = "ucb1"

    def __init__(self, *, c: float = 1.0) -> None:
        if not c > 0:
            raise SpecError(f"The 'c' parameter of UCB1 must be > 0. Got {c!r} instead.")
        self.c = c

    def scores(self, stats, margins, t, rng):
        n = np.maximum(stats.pulls, 1)
        total = np.maximum(stats.pulls.sum(axis=1, keepdims=True), 1)
        bonus = self.c * _scale(stats) * np.sqrt(2 * np.log(total) / n)
        return _untried_first(stats.means() + bonus + 1e-12 * rng.random(n.shape), stats)


class UCBV(Policy):
    """UCB-V: mean + sqrt(2 V ln t / n) + 3 b ln t / n, with the empirical variance V and range b."""

    name = "ucb_v"

    def scores(self, stats, margins, t, rng):
        n = np.maximum(stats.pulls, 1)
        mean = stats.means()
        var = np.maximum(stats.reward_sq / n - mean ** 2, 0.0)
        log_t = np.log(np.maximum(stats.pulls.sum(axis=1, keepdims=True), 1))
        bonus = np.sqrt(2 * var * log_t / n) + 3 * _scale(stats) * log_t / n
        return _untried_first(mean + bonus + 1e-12 * rng.random(n.shape), stats)


class EpsilonGreedy(Policy):
    """Explore a uniformly random arm with probability epsilon (or ``min(1, decay * K / t)``), else exploit."""

    name = "epsilon_greedy"

    def __init__(self, *, epsilon: float = 0.1, decay: float | None = None) -> None:
        if not 0 <= epsilon <= 1:
            raise SpecError(f"The 'epsilon' parameter of EpsilonGreedy must be in [0, 1]. Got {epsilon!r} instead.")
        if decay is not None and not decay > 0:
            raise SpecError(f"The 'decay' parameter of EpsilonGreedy must be > 0. Got {decay!r} instead.")
        self.epsilon, self.decay = epsilon, decay

    def scores(self, stats, margins, t, rng):
        r, k = stats.pulls.shape
        eps = self.epsilon if self.decay is None else min(1.0, self.decay * k / max(t, 1))
        explore = rng.random((r, 1)) < eps
        greedy = stats.means() + 1e-12 * rng.random((r, k))
        return _untried_first(np.where(explore, rng.random((r, k)), greedy), stats)


class FixedPriceTest(Policy):
    """The fixed A/B price test: the arms in rotation, the same traffic to each (no adaptation)."""

    name = "fixed_ab"

    def scores(self, stats, margins, t, rng):
        r, k = stats.pulls.shape
        # arm t mod K scores highest; the rest follow in rotation (next in line if it is not allowed)
        s = -((np.arange(k) - t) % k).astype(float)
        return np.broadcast_to(s, (r, k)).copy()


#: Policy names accepted by the simulator, with their default configuration.
POLICIES: dict[str, type[Policy]] = {
    cls.name: cls for cls in (ThompsonGaussian, ThompsonBeta, ThompsonPoisson, UCB1, UCBV, EpsilonGreedy,
                              FixedPriceTest)
}
