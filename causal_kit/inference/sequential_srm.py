"""Always-valid sample-ratio-mismatch (SRM) test for the arm counts of an experiment.

The chi-square SRM check is a fixed-horizon test: run at every look it fires far more often
than its level. Lindon and Malek, "Anytime-valid inference for multinomial count data"
(NeurIPS 2022), test ``H0: arm shares == expected`` with a Dirichlet-multinomial Bayes factor::

    BF = [B(a + counts) / B(a)] / prod(expected_i ** counts_i),   B(a) = prod Gamma(a_i) / Gamma(sum a)

which is a nonnegative martingale under ``H0`` when units arrive one at a time. It depends on
the counts only, so the value at the current look is the same as if it had been updated after
every unit, and by Ville's inequality ``p = min(1, 1 / BF)`` is valid at any look. The prior is
``Dirichlet(concentration * expected)``: centred on the planned split; a larger concentration
is more sensitive to small mismatches and slower to react to large ones.

Written with ``scipy.special.gammaln`` because the formula is a few log-gamma terms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError, SpecError

__all__ = ["srm_bayes_factor", "sequential_srm_p_value"]


def srm_bayes_factor(counts: Any, expected: Any, concentration: float = 100.0) -> Any:
    """Log Bayes factor of a sample-ratio mismatch against the expected split.

    Vectorised: ``counts`` may have leading axes (looks x runs); arms are on the last axis.

    Parameters
    ----------
    counts : sequence of int
        Units per arm at this look.
    expected : sequence of float
        Planned share of each arm (normalised to sum to one).
    concentration : float
        Total prior weight of the Dirichlet prior centred on ``expected``.

    Examples
    --------
    >>> round(srm_bayes_factor([5000, 5000], [0.5, 0.5]), 3)
    -2.31
    """
    from scipy.special import gammaln

    x = np.asarray(counts, dtype=float)
    shares = np.asarray(expected, dtype=float)
    if shares.ndim != 1 or shares.size < 2 or x.ndim < 1 or x.shape[-1] != shares.size:
        raise DataError(
            f"the SRM test needs one count and one expected share per arm; got {x.shape[-1] if x.ndim else 0} "
            f"counts and {shares.size} shares."
        )
    if (x < 0).any():
        raise DataError(f"the SRM test got {int((x < 0).sum())} negative arm count(s).")
    if (shares <= 0).any():
        raise SpecError("every expected arm share of the SRM test must be > 0 (expected_split).")
    if not concentration > 0:
        raise SpecError(f"The 'concentration' parameter of the SRM test must be > 0. Got {concentration!r} instead.")
    shares = shares / shares.sum()
    a = concentration * shares
    log_marginal = (gammaln(a + x).sum(axis=-1) - gammaln(a.sum() + x.sum(axis=-1))) - (gammaln(a).sum() - gammaln(a.sum()))
    log_bf = log_marginal - (x * np.log(shares)).sum(axis=-1)
    return float(log_bf) if np.ndim(log_bf) == 0 else log_bf


def sequential_srm_p_value(counts: Any, expected: Any, concentration: float = 100.0) -> Any:
    """Always-valid p-value of the sample-ratio check at this look: ``min(1, 1 / BF)``.

    Examples
    --------
    >>> sequential_srm_p_value([5000, 5000], [0.5, 0.5])
    1.0
    >>> sequential_srm_p_value([5300, 4700], [0.5, 0.5]) < 0.001
    True
    """
    p = np.minimum(1.0, np.exp(-np.asarray(srm_bayes_factor(counts, expected, concentration))))
    return float(p) if np.ndim(p) == 0 else p
