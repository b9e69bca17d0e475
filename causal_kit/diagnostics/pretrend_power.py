"""Power of the pre-trend test and the bias of the violations it misses (Roth 2022).

A passed pre-trend test is weak evidence when the test has little power. Roth (2022) asks:
if the untreated trends of the treated units drifted linearly, ``delta_t = slope * (t - ref)``
(zero at the reference period), how often would the pre-trend test catch it, and how much
would the violation bias the post-period estimate in the cases the test lets through?

* Power: the probability that the test rejects when the pre-period coefficients are
  ``N(delta_pre, Sigma_pre)``. For the joint Wald test it is exact (non-central chi-square);
  for the "no individually significant coefficient" test (``nis``, what most papers do) it
  is a multivariate normal rectangle probability (scipy's Genz algorithm, seeded).
* Bias: the violation shifts the post-period average ``l'beta_post`` by ``l'delta_post``
  unconditionally; conditional on passing, the selection also moves it by
  ``l' Sigma_post,pre Sigma_pre^-1 (E[beta_pre | pass] - delta_pre)``. The truncated mean
  ``E[beta_pre | pass]`` is computed from seeded normal draws (``n_draws``, Monte Carlo
  standard error reported), where the R ``pretrends`` package uses truncated-normal moments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SpecError

__all__ = ["PretrendPower", "pretrend_power", "slope_for_power", "pretrend_power_diagnostic"]


@dataclass(frozen=True)
class PretrendPower:
    """Power of the pre-trend test against one linear violation, and the bias it leaves."""

    slope: float
    test: str
    power: float
    bias: float  # l'delta_post, the bias of the post-period average under the violation
    bias_given_pass: float  # its expected bias among draws that pass the test
    bias_given_pass_mcse: float
    likelihood_ratio: float  # P(pass | violation) / P(pass | no violation), Roth's Bayes factor


def _split(beta_len: int, event_times: Any, vcov: Any, ref: int, post_weights: Any) -> tuple:
    e = np.asarray(event_times)
    V = np.asarray(vcov, dtype=float)
    if e.ndim != 1 or len(e) != beta_len or V.shape != (len(e), len(e)):
        raise SpecError(f"event_times ({e.shape}) and vcov ({V.shape}) must describe the same "
                        f"{beta_len} coefficients; pass one event time per coefficient.")
    pre, post = (e < ref), (e >= 0)
    if not pre.any() or not post.any():
        raise SpecError(f"pre-trend power needs at least one coefficient before the reference period {ref} and "
                        f"one at or after 0; got event times {e.tolist()}.")
    if post_weights is None:
        lw = np.full(post.sum(), 1.0 / post.sum())
    else:
        lw = np.asarray(post_weights, dtype=float)
        if lw.shape != (post.sum(),):
            raise SpecError(f"post_weights must have one weight per post-period coefficient ({post.sum()}); "
                            f"got {lw.shape}.")
    return e, V, pre, post, lw


def _accept_prob(delta: np.ndarray, V: np.ndarray, test: str, alpha: float, seed: int) -> float:
    from scipy import stats

    k = len(delta)
    if test == "wald":
        crit = stats.chi2.ppf(1 - alpha, k)
        nc = float(delta @ np.linalg.solve(V, delta))
        return float(stats.ncx2.cdf(crit, k, nc)) if nc > 0 else float(stats.chi2.cdf(crit, k))
    z = stats.norm.ppf(1 - alpha / 2)
    s = np.sqrt(np.diag(V))
    if k == 1:
        return float(stats.norm.cdf((z * s[0] - delta[0]) / s[0]) - stats.norm.cdf((-z * s[0] - delta[0]) / s[0]))
    mvn = stats.multivariate_normal(mean=np.zeros(k), cov=V, seed=seed)
    return float(np.clip(mvn.cdf(z * s - delta, lower_limit=-z * s - delta), 0.0, 1.0))


def pretrend_power(beta_len: int, vcov: Any, event_times: Any, slope: float, *, ref: int = -1,
                   alpha: float = 0.05, test: str = "nis", post_weights: Any = None, seed: int = 0,
                   n_draws: int = 200_000) -> PretrendPower:
    """Power of the pre-trend test against ``delta_t = slope * (t - ref)`` and the bias it leaves.

    Parameters
    ----------
    beta_len : int
        Number of event-study coefficients (the reference period excluded).
    vcov : (k, k) array
        Their covariance, ordered as ``event_times``.
    event_times : (k,) array of int
        Event time of each coefficient; those before ``ref`` are tested, those ``>= 0``
        are averaged with ``post_weights`` (default equal) into the effect of interest.
    slope : float
        Slope of the linear violation per period.
    ref : int
        The reference (normalised) period.
    alpha : float
        Level of the pre-trend test.
    test : {"nis", "wald"}
        "No individually significant pre-coefficient" (each ``|t| <= z``) or the joint Wald test.
    seed, n_draws : int
        Seed and draws for the conditional bias (and the Genz rectangle probability).

    Returns
    -------
    PretrendPower

    Examples
    --------
    >>> import numpy as np
    >>> res = pretrend_power(5, np.diag([1e-4] * 5), [-4, -3, -2, 0, 1], slope=0.01, test="wald")
    >>> round(res.power, 3), round(res.bias, 3)
    (0.896, 0.015)
    """
    if test not in ("nis", "wald"):
        raise SpecError(f"The 'test' parameter of pretrend_power must be 'nis' or 'wald'. Got {test!r} instead.")
    if not (isinstance(alpha, float) and 0 < alpha < 1):
        raise SpecError(f"The 'alpha' parameter of pretrend_power must be a float in (0, 1). Got {alpha!r} instead.")
    e, V, pre, post, lw = _split(beta_len, event_times, vcov, ref, post_weights)
    delta = float(slope) * (e - ref).astype(float)
    d_pre, V_pre = delta[pre], V[np.ix_(pre, pre)]
    accept = _accept_prob(d_pre, V_pre, test, alpha, seed)
    accept0 = _accept_prob(np.zeros_like(d_pre), V_pre, test, alpha, seed)
    bias = float(lw @ delta[post])
    # selection on passing shifts beta_post through its covariance with beta_pre
    proj = lw @ V[np.ix_(post, pre)] @ np.linalg.inv(V_pre)
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(V_pre)
    noise = rng.standard_normal((n_draws, len(d_pre))) @ chol.T
    draws = d_pre + noise
    if test == "wald":
        from scipy import stats

        passed = np.einsum("ij,ij->i", draws @ np.linalg.inv(V_pre), draws) <= stats.chi2.ppf(1 - alpha, len(d_pre))
    else:
        from scipy import stats

        passed = np.all(np.abs(draws) <= stats.norm.ppf(1 - alpha / 2) * np.sqrt(np.diag(V_pre)), axis=1)
    if passed.sum() < 2:
        shift, mcse = float("nan"), float("nan")
    else:
        x = noise[passed] @ proj
        shift, mcse = float(x.mean()), float(x.std(ddof=1) / np.sqrt(passed.sum()))
    return PretrendPower(float(slope), test, 1.0 - accept, bias, bias + shift, mcse,
                         accept / accept0 if accept0 > 0 else float("nan"))


def slope_for_power(vcov: Any, event_times: Any, power: float = 0.8, *, ref: int = -1, alpha: float = 0.05,
                    test: str = "nis", seed: int = 0) -> float:
    """The positive linear-violation slope the pre-trend test detects with probability ``power``.

    Examples
    --------
    >>> import numpy as np
    >>> round(slope_for_power(np.diag([1e-4] * 4), [-4, -3, -2, 0], power=0.5, test="wald"), 4)
    0.0064
    """
    from scipy.optimize import brentq

    if not (0 < power < 1):
        raise SpecError(f"The 'power' parameter of slope_for_power must be in (0, 1). Got {power!r} instead.")
    e = np.asarray(event_times)
    V = np.asarray(vcov, dtype=float)
    pre = e < ref
    if not pre.any():
        raise SpecError(f"slope_for_power needs a coefficient before the reference period {ref}; got {e.tolist()}.")
    V_pre, w = V[np.ix_(pre, pre)], (e[pre] - ref).astype(float)
    size = 1.0 - _accept_prob(np.zeros(pre.sum()), V_pre, test, alpha, seed)
    if power <= size:
        raise SpecError(f"power {power} is at or below the test's size {size:.3g}; ask for a larger power.")

    def gap(s: float) -> float:
        return 1.0 - _accept_prob(s * w, V_pre, test, alpha, seed) - power

    hi = float(np.sqrt(np.diag(V_pre)).max())
    while gap(hi) < 0:
        hi *= 2.0
    return float(brentq(gap, 0.0, hi, xtol=1e-12))


def pretrend_power_diagnostic(vcov: Any, event_times: Any, *, estimate: float | None = None, ref: int = -1,
                              alpha: float = 0.05, test: str = "wald", seed: int = 0) -> Any:
    """A ``parallel_trends`` diagnostic: the slope detected half the time and the bias it would cause.

    Warns when that bias is at least half the size of ``estimate`` (a violation the test
    misses half the time could explain much of the effect).

    Examples
    --------
    >>> import numpy as np
    >>> diag = pretrend_power_diagnostic(np.diag([1e-4] * 4), [-4, -3, -2, 0], test="wald")
    >>> diag.name
    'pretrend_power'
    """
    from ..result import Diagnostic

    e = np.asarray(event_times)
    if not (e < ref).any() or not (e >= 0).any():
        return Diagnostic("pretrend_power", "not_applicable",
                          "Pre-trend power needs coefficients before the reference period and after treatment.",
                          assumption="parallel_trends")
    slope = slope_for_power(vcov, e, 0.5, ref=ref, alpha=alpha, test=test, seed=seed)
    res = pretrend_power(len(e), vcov, e, slope, ref=ref, alpha=alpha, test=test, seed=seed)
    msg = (f"The pre-trend test would catch a linear trend violation of slope {slope:.3g} per period only half "
           f"the time; such a violation would bias the average post-period effect by {res.bias:.3g} "
           f"({res.bias_given_pass:.3g} among the cases that pass the test). Compare these with the effect "
           "before reading a passed pre-trend test as evidence of parallel trends.")
    weak = estimate is not None and abs(res.bias) >= 0.5 * abs(float(estimate))
    return Diagnostic("pretrend_power", "warn" if weak else "pass", msg, statistic=slope, threshold=0.5,
                      assumption="parallel_trends")
