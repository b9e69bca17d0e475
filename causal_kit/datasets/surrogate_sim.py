"""Simulated two-sample surrogate studies with a known long-term effect.

:func:`simulate_surrogate_experiment` draws an experiment (treatment, surrogates, a
covariate, and optionally the long-term outcome for a validation cohort) and an observational
sample (surrogates, covariate, long-term outcome) in one frame with a ``sample`` column. With
``direct_effect = 0`` surrogacy holds and the true long-term effect is
``sum(weights * surrogate_effects)``; a non-zero ``direct_effect`` adds a path from the
treatment to the long-term outcome that bypasses the surrogates (surrogacy fails).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import SpecError

__all__ = ["simulate_surrogate_experiment", "true_long_term_effect"]


def _weights(n_surrogates: int) -> np.ndarray:
    w = np.arange(1, n_surrogates + 1, dtype=float)
    return 2.0 * w / w.sum()  # later surrogates weigh more; weights sum to 2


def true_long_term_effect(n_surrogates: int = 4, surrogate_effect: float = 0.25, direct_effect: float = 0.0) -> float:
    """The true long-term effect of :func:`simulate_surrogate_experiment` with the same arguments.

    Examples
    --------
    >>> true_long_term_effect()
    0.5
    """
    return float(_weights(n_surrogates).sum() * surrogate_effect + direct_effect)


def simulate_surrogate_experiment(
    n_experiment: int = 1000,
    n_observational: int = 2000,
    n_surrogates: int = 4,
    surrogate_effect: float = 0.25,
    direct_effect: float = 0.0,
    noise: float = 1.0,
    shift: float = 0.0,
    validation_share: float = 0.0,
    treated_share: float = 0.5,
    seed: int = 0,
) -> pd.DataFrame:
    """A randomised experiment and a historical sample sharing one surrogate-outcome model.

    Model: covariate ``x ~ N(shift_sample, 1)`` (``shift`` only in the observational sample),
    latent ``u ~ N(0, 1)``; surrogate ``s_j = 0.5 u + 0.3 x + surrogate_effect * T + N(0, 1)``;
    long-term outcome ``y = sum_j w_j s_j + 0.5 x + direct_effect * T + noise * N(0, 1)`` with
    weights ``w_j`` proportional to ``j`` and summing to 2. The observational sample is untreated.

    Parameters
    ----------
    n_experiment, n_observational : int
        Rows of each sample.
    n_surrogates : int
        Number of surrogates ``s1 .. sQ``.
    surrogate_effect : float
        Effect of the treatment on each surrogate.
    direct_effect : float
        Effect of the treatment on ``y`` not through the surrogates (0: surrogacy holds).
    noise : float
        SD of the long-term outcome's noise given the surrogates.
    shift : float
        Mean shift of ``x`` in the observational sample (a comparability gap the index adjusts for
        only through the covariate).
    validation_share : float
        Share of experiment rows whose ``y`` is observed (a validation cohort); others are NaN.
    treated_share : float
        Share of experiment rows treated (complete randomisation).
    seed : int

    Returns
    -------
    DataFrame
        Columns ``sample`` ("experiment" / "observational"), ``treatment``, ``x``, ``s1..sQ``, ``y``.
        The true long-term effect is :func:`true_long_term_effect` of the same arguments.

    Examples
    --------
    >>> from causal_kit.datasets import simulate_surrogate_experiment
    >>> df = simulate_surrogate_experiment(n_experiment=100, n_observational=200, seed=1)
    >>> df["sample"].value_counts().to_dict()
    {'observational': 200, 'experiment': 100}
    """
    for name, value, low in (("n_experiment", n_experiment, 4), ("n_observational", n_observational, 4),
                             ("n_surrogates", n_surrogates, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise SpecError(f"The {name!r} parameter of simulate_surrogate_experiment must be an int >= {low}. "
                            f"Got {value!r} instead.")
    if not (0.0 <= validation_share <= 1.0) or not (0.0 < treated_share < 1.0):
        raise SpecError("The 'validation_share' parameter of simulate_surrogate_experiment must be in [0, 1] and "
                        f"'treated_share' in (0, 1). Got {validation_share!r} and {treated_share!r} instead.")
    rng = np.random.default_rng(seed)
    n = n_experiment + n_observational
    n_treated = int(round(treated_share * n_experiment))
    t = np.zeros(n)
    t[:n_experiment] = rng.permutation(np.r_[np.ones(n_treated), np.zeros(n_experiment - n_treated)])
    x = rng.normal(size=n)
    x[n_experiment:] += shift
    u = rng.normal(size=n)
    S = 0.5 * u[:, None] + 0.3 * x[:, None] + surrogate_effect * t[:, None] + rng.normal(size=(n, n_surrogates))
    y = S @ _weights(n_surrogates) + 0.5 * x + direct_effect * t + noise * rng.normal(size=n)
    observed = np.ones(n, dtype=bool)
    observed[:n_experiment] = rng.random(n_experiment) < validation_share
    df = pd.DataFrame({"sample": np.where(np.arange(n) < n_experiment, "experiment", "observational"),
                       "treatment": t.astype(int), "x": x})
    for j in range(n_surrogates):
        df[f"s{j + 1}"] = S[:, j]
    df["y"] = np.where(observed, y, np.nan)
    return df
