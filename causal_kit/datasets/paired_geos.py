"""Simulator of a randomised matched-pair geo experiment with a known iROAS.

:func:`simulate_paired_geos` draws geo pairs of similar size, flips a fair coin within each
pair to pick the treated geo, gives it extra spend, and adds heavy-tailed (Student t, 3 df)
geo noise proportional to size plus a few badly matched pairs: the setting trimmed match
is built for. The true incremental return on ad spend is ``iroas``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import SpecError

__all__ = ["simulate_paired_geos", "paired_geo_deltas"]


def paired_geo_deltas(
    n_pairs: int, iroas: float, n_draws: int, seed: int, mismatch_share: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """``n_draws`` independent experiments as treated-minus-control response and spend arrays.

    Returns ``(delta_response, delta_spend)``, each of shape ``(n_draws, n_pairs)``; the geo
    sizes are fixed across draws (one geography), the assignment and noise are redrawn.
    """
    rng = np.random.default_rng(seed)
    size = np.exp(np.random.default_rng(seed + 7_919).normal(4.0, 1.0, n_pairs))
    ratio = np.exp(rng.normal(0.0, 0.1, (n_draws, n_pairs)))  # pair partners differ by ~10%
    mismatch = rng.random((n_draws, n_pairs)) < mismatch_share
    ratio = np.where(mismatch, ratio * np.exp(rng.normal(0.0, 0.6, (n_draws, n_pairs))), ratio)
    base_a, base_b = size * 10.0, size * 10.0 * ratio
    spend_a = size * rng.uniform(0.8, 1.2, (n_draws, n_pairs))
    spend_b = size * 0.05 * rng.uniform(0.0, 1.0, (n_draws, n_pairs))
    noise = rng.standard_t(3, (n_draws, n_pairs, 2)) * np.sqrt(size)[None, :, None]
    flip = rng.random((n_draws, n_pairs)) < 0.5  # which geo of the pair is treated
    y_t = np.where(flip, base_a, base_b) + iroas * spend_a + noise[..., 0]
    y_c = np.where(flip, base_b, base_a) + iroas * spend_b + noise[..., 1]
    return y_t - y_c, spend_a - spend_b


def simulate_paired_geos(n_pairs: int = 50, iroas: float = 2.0, seed: int = 0) -> pd.DataFrame:
    """One matched-pair geo experiment: one row per geo with its test-period response and spend.

    Parameters
    ----------
    n_pairs : int
        Number of geo pairs (``2 * n_pairs`` geos).
    iroas : float
        True incremental response per unit of incremental spend.
    seed : int
        Random seed.

    Returns
    -------
    DataFrame with columns ``geo``, ``pair``, ``treated`` (0/1), ``response`` and ``spend``.

    Examples
    --------
    >>> from causal_kit.datasets import simulate_paired_geos
    >>> simulate_paired_geos(n_pairs=3, seed=0).shape
    (6, 5)
    """
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, (int, np.integer)) or n_pairs < 2:
        raise SpecError(f"The 'n_pairs' parameter of simulate_paired_geos must be an int >= 2. Got {n_pairs!r} instead.")
    rng = np.random.default_rng(seed)
    size = np.exp(rng.normal(4.0, 1.0, n_pairs))
    ratio = np.exp(rng.normal(0.0, 0.1, n_pairs))
    base = np.column_stack([size * 10.0, size * 10.0 * ratio])
    treated = np.zeros((n_pairs, 2), dtype=int)
    treated[np.arange(n_pairs), rng.integers(0, 2, n_pairs)] = 1
    spend = np.where(treated == 1, size[:, None] * rng.uniform(0.8, 1.2, (n_pairs, 2)),
                     size[:, None] * 0.05 * rng.uniform(0.0, 1.0, (n_pairs, 2)))
    response = base + iroas * spend + rng.standard_t(3, (n_pairs, 2)) * np.sqrt(size)[:, None]
    return pd.DataFrame(
        {
            "geo": [f"g{2 * i + k:03d}" for i in range(n_pairs) for k in range(2)],
            "pair": np.repeat(np.arange(1, n_pairs + 1), 2),
            "treated": treated.ravel(),
            "response": response.ravel(),
            "spend": spend.ravel(),
        }
    )
