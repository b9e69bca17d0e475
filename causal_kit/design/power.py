"""Analytic power, sample size and minimum detectable effect (MDE) for A/B tests.

Each function solves for exactly one unknown among the effect, the sample size and the
power (the others given) and returns a frozen :class:`PowerResult` saying which one it
solved for. Conventions follow statsmodels ``TTestIndPower`` / R ``pwr``: the rejection
region includes the far tail for two-sided tests, the noncentral t distribution is used
for means and the pooled-variance normal test (R ``power.prop.test``) for proportions.

* :func:`power_means`: two-sample means (t-test), unequal allocation, CUPED (``rho``).
* :func:`power_proportions`: two proportions, pooled null variance or Cohen's h.
* :func:`power_cluster`: cluster-randomised designs with an ICC (design effect), t on
  ``k1 + k2 - 2`` degrees of freedom.
* :func:`design_effect`, :func:`cohens_h`: the building blocks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import optimize, stats

from .._typing import Alternative, check_fraction, check_option
from ..errors import SpecError

_PropMethod = Literal["pooled", "cohen_h"]

__all__ = [
    "PowerResult",
    "power_means",
    "power_proportions",
    "power_cluster",
    "design_effect",
    "cohens_h",
]


@dataclass(frozen=True)
class PowerResult:
    """The answer of a power calculation.

    Attributes
    ----------
    solved_for : {"power", "n", "effect"}
        Which quantity was unknown.
    value : float
        The solved value (power, sample size of the first arm / clusters per arm, or effect).
    power, n, effect : float
        All three quantities after solving (``n`` is the first arm; ``n * ratio`` the second).
    effect_size : float
        The standardised effect (Cohen's d, or h for proportions) after variance reduction.
    kind : str
        ``"means"``, ``"proportions"`` or ``"cluster"``.
    inputs : dict
        Every input as given (alpha, ratio, alternative, sd, rho, icc, ...).
    """

    solved_for: str
    value: float
    power: float
    n: float
    effect: float
    effect_size: float
    kind: str
    alpha: float
    alternative: str
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def n_total(self) -> float:
        """Total sample size (or clusters) over both arms."""
        return self.n * (1.0 + float(self.inputs.get("ratio", 1.0)))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict."""
        return {
            "solved_for": self.solved_for, "value": self.value, "power": self.power, "n": self.n,
            "effect": self.effect, "effect_size": self.effect_size, "kind": self.kind,
            "alpha": self.alpha, "alternative": self.alternative, "inputs": dict(self.inputs),
        }

    def __repr__(self) -> str:
        return (
            f"PowerResult(solved_for={self.solved_for!r}, value={self.value:.6g}, power={self.power:.4f}, "
            f"n={self.n:.6g}, effect={self.effect:.6g}, kind={self.kind!r})"
        )


# ---------------------------------------------------------------------------- building blocks
def design_effect(cluster_size: float, icc: float) -> float:
    """Design effect of cluster randomisation, ``1 + (m - 1) * ICC``.

    Examples
    --------
    >>> round(design_effect(20, 0.05), 6)
    1.95
    """
    return 1.0 + (float(cluster_size) - 1.0) * float(icc)


def cohens_h(p0: float, p1: float) -> float:
    """Cohen's h, ``2 asin(sqrt(p1)) - 2 asin(sqrt(p0))``.

    Examples
    --------
    >>> round(cohens_h(0.10, 0.12), 7)
    0.0639821
    """
    return 2.0 * math.asin(math.sqrt(p1)) - 2.0 * math.asin(math.sqrt(p0))


def _t_power(nc: float, df: float, alpha: float, alternative: str) -> float:
    """Power of a t-test with noncentrality ``nc`` (both tails for two-sided)."""
    if alternative == "two-sided":
        crit = stats.t.isf(alpha / 2, df)
        out = float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))
    else:
        crit = stats.t.isf(alpha, df)
        out = float(stats.nct.sf(crit, df, nc) if alternative == "larger" else stats.nct.cdf(-crit, df, nc))
    if not math.isfinite(out):  # scipy's nct loses precision far in the tail: normal limit
        out = _z_power(nc, alpha, alternative)
    return out


def _z_power(shift: float, alpha: float, alternative: str, scale0: float = 1.0, scale1: float = 1.0) -> float:
    """Power of a z-test: statistic ~ N(shift, scale1) with null sd ``scale0``."""
    if alternative == "two-sided":
        crit = stats.norm.isf(alpha / 2) * scale0
        return float(stats.norm.sf((crit - shift) / scale1) + stats.norm.cdf((-crit - shift) / scale1))
    crit = stats.norm.isf(alpha) * scale0
    if alternative == "larger":
        return float(stats.norm.sf((crit - shift) / scale1))
    return float(stats.norm.cdf((-crit - shift) / scale1))


def _check_common(alpha: float, ratio: float, alternative: str, owner: str) -> None:
    check_fraction(alpha, "alpha", owner)
    check_option(alternative, Alternative, "alternative", owner)
    if isinstance(ratio, bool) or not (isinstance(ratio, (int, float)) and ratio > 0 and math.isfinite(ratio)):
        raise SpecError(f"The 'ratio' parameter of {owner} must be a float > 0. Got {ratio!r} instead.")


def _one_unknown(owner: str, **values: Any) -> str:
    unknown = [k for k, v in values.items() if v is None]
    if len(unknown) != 1:
        given = ", ".join(values)
        raise SpecError(
            f"{owner} solves for exactly one of {given}; leave exactly one as None "
            f"(got {len(unknown)} unknowns: {unknown or 'none'})."
        )
    for k, v in values.items():
        if v is not None and k == "power":
            check_fraction(v, "power", owner)
    return unknown[0]


def _positive(value: Any, name: str, owner: str, minimum: float = 0.0) -> float:
    if value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (
        float(value) > minimum and math.isfinite(float(value))
    ):
        raise SpecError(f"The {name!r} parameter of {owner} must be a number > {minimum:g}. Got {value!r} instead.")
    return float(value)


def _root(fn: Callable[[float], float], lo: float, hi: float, what: str, owner: str) -> float:
    f_lo, f_hi = fn(lo), fn(hi)
    if f_lo * f_hi > 0:
        raise SpecError(
            f"{owner}: no {what} in [{lo:g}, {hi:g}] reaches the requested power; "
            "check the inputs (a power below alpha, or an effect of zero, cannot be solved)."
        )
    return float(optimize.brentq(fn, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=500))


def _normal_n(d: float, power: float, alpha: float, ratio: float, alternative: str) -> float:
    """A safe upper bracket for n from the normal approximation."""
    a = alpha / 2 if alternative == "two-sided" else alpha
    z = stats.norm.isf(a) + stats.norm.ppf(power)
    return 4.0 * (z / max(d, 1e-12)) ** 2 * (1.0 + 1.0 / ratio) + 20.0


def _sign(alternative: str) -> float:
    return -1.0 if alternative == "smaller" else 1.0


# ---------------------------------------------------------------------------- means
def power_means(
    *,
    effect: float | None = None,
    n: float | None = None,
    power: float | None = None,
    sd: float = 1.0,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: str = "two-sided",
    rho: float = 0.0,
) -> PowerResult:
    """Power, n per arm or MDE of a two-sample t-test on means.

    Leave exactly one of ``effect``, ``n`` and ``power`` as None.

    Parameters
    ----------
    effect : float, optional
        Difference in means, in outcome units (with ``sd=1`` it is Cohen's d).
    n : float, optional
        Sample size of the first (control) arm; the second arm has ``n * ratio``.
    power : float, optional
        Target power in (0, 1).
    sd : float
        Outcome standard deviation (common to both arms).
    alpha : float
        Significance level.
    ratio : float
        Allocation ratio ``n2 / n1``.
    alternative : {"two-sided", "larger", "smaller"}
        Two-sided tests include the far rejection tail (statsmodels / pwr convention).
    rho : float
        Correlation between the outcome and a pre-period covariate used by CUPED; the
        variance shrinks by ``1 - rho**2``.

    Returns
    -------
    PowerResult

    Examples
    --------
    >>> from causal_kit.design import power_means
    >>> round(power_means(effect=0.2, power=0.8).n, 4)
    393.4057
    >>> round(power_means(effect=0.2, n=200).power, 6)
    0.514082
    """
    owner = "power_means"
    unknown = _one_unknown(owner, effect=effect, n=n, power=power)
    _check_common(alpha, ratio, alternative, owner)
    sd = _positive(sd, "sd", owner)
    if not (isinstance(rho, (int, float)) and -1.0 < float(rho) < 1.0):
        raise SpecError(f"The 'rho' parameter of {owner} must be a float in (-1, 1). Got {rho!r} instead.")
    n = _positive(n, "n", owner, minimum=1.0)
    sd_eff = sd * math.sqrt(1.0 - float(rho) ** 2)

    def pw(eff: float, n1: float) -> float:
        n2 = n1 * ratio
        nc = eff / sd_eff * math.sqrt(n1 * n2 / (n1 + n2))
        return _t_power(nc, n1 + n2 - 2.0, alpha, alternative)

    sign = _sign(alternative)
    if unknown == "power":
        power = pw(float(effect), n)
    elif unknown == "n":
        if effect == 0:
            raise SpecError(f"{owner}: an effect of 0 has no finite sample size; give a non-zero 'effect'.")
        hi = _normal_n(abs(float(effect)) / sd_eff, power, alpha, ratio, alternative)
        n = _root(lambda x: pw(float(effect), x) - power, 1.0 + 1e-9 + 1.0 / ratio, hi, "sample size", owner)
    else:
        effect = sign * _root(lambda e: pw(sign * e, n) - power, 1e-12, 1e3 * sd_eff, "effect", owner)
    value = {"power": power, "n": n, "effect": effect}[unknown]
    return PowerResult(
        solved_for=unknown, value=float(value), power=float(power), n=float(n), effect=float(effect),
        effect_size=float(effect) / sd_eff, kind="means", alpha=alpha, alternative=alternative,
        inputs={"sd": sd, "ratio": ratio, "rho": float(rho)},
    )


# ---------------------------------------------------------------------------- proportions
def power_proportions(
    *,
    p0: float,
    p1: float | None = None,
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: str = "two-sided",
    method: str = "pooled",
) -> PowerResult:
    """Power, n per arm or detectable ``p1`` for comparing two proportions.

    Leave exactly one of ``p1``, ``n`` and ``power`` as None. ``effect`` in the result is
    ``p1 - p0``.

    Parameters
    ----------
    p0 : float
        Baseline (control) proportion.
    p1 : float, optional
        Treatment proportion.
    n : float, optional
        Sample size of the control arm; the treatment arm has ``n * ratio``.
    method : {"pooled", "cohen_h"}
        ``"pooled"``: z-test with pooled variance under the null and unpooled under the
        alternative, no continuity correction (R ``power.prop.test``, with the far tail).
        ``"cohen_h"``: normal test on the arcsine effect size h (statsmodels ``NormalIndPower``).

    Examples
    --------
    >>> from causal_kit.design import power_proportions
    >>> round(power_proportions(p0=0.10, p1=0.12, power=0.8).n, 1)
    3840.8
    """
    owner = "power_proportions"
    unknown = _one_unknown(owner, p1=p1, n=n, power=power)
    _check_common(alpha, ratio, alternative, owner)
    check_option(method, _PropMethod, "method", owner)
    check_fraction(p0, "p0", owner)
    if p1 is not None:
        check_fraction(p1, "p1", owner)
    n = _positive(n, "n", owner, minimum=0.0)

    def pw(q1: float, n1: float) -> float:
        n2 = n1 * ratio
        if method == "cohen_h":
            h = cohens_h(p0, q1)
            return _z_power(h * math.sqrt(n1 * n2 / (n1 + n2)), alpha, alternative)
        pbar = (p0 * n1 + q1 * n2) / (n1 + n2)
        sd0 = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
        sd1 = math.sqrt(p0 * (1 - p0) / n1 + q1 * (1 - q1) / n2)
        return _z_power(q1 - p0, alpha, alternative, scale0=sd0, scale1=sd1)

    if unknown == "power":
        power = pw(float(p1), n)
    elif unknown == "n":
        if p1 == p0:
            raise SpecError(f"{owner}: p1 equal to p0 has no finite sample size; give p1 != p0.")
        n = _root(lambda x: pw(float(p1), x) - power, 1e-6, 1e12, "sample size", owner)
    else:
        if alternative == "smaller":
            p1 = _root(lambda q: pw(q, n) - power, 1e-12, p0 - 1e-12, "p1", owner)
        else:
            p1 = _root(lambda q: pw(q, n) - power, p0 + 1e-12, 1 - 1e-12, "p1", owner)
    value = {"power": power, "n": n, "p1": p1}[unknown]
    return PowerResult(
        solved_for="effect" if unknown == "p1" else unknown, value=float(value), power=float(power),
        n=float(n), effect=float(p1) - p0, effect_size=cohens_h(p0, float(p1)), kind="proportions",
        alpha=alpha, alternative=alternative,
        inputs={"p0": p0, "p1": float(p1), "ratio": ratio, "method": method},
    )


# ---------------------------------------------------------------------------- clusters
def power_cluster(
    *,
    effect: float | None = None,
    clusters: float | None = None,
    power: float | None = None,
    cluster_size: float,
    icc: float,
    sd: float = 1.0,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: str = "two-sided",
    rho: float = 0.0,
) -> PowerResult:
    """Power, clusters per arm or MDE of a cluster-randomised two-arm comparison.

    The individual-level variance is inflated by the design effect
    ``1 + (m - 1) * ICC``; the test is a t-test on ``k1 + k2 - 2`` degrees of freedom
    (``k`` clusters per arm) with the noncentral t distribution. Leave exactly one of
    ``effect``, ``clusters`` and ``power`` as None; ``n`` in the result is clusters per arm.

    Parameters
    ----------
    cluster_size : float
        Individuals per cluster, ``m``.
    icc : float
        Intra-cluster correlation in [0, 1).
    rho : float
        CUPED correlation (individual level); the variance shrinks by ``1 - rho**2``.

    Examples
    --------
    >>> from causal_kit.design import power_cluster
    >>> round(power_cluster(effect=0.2, clusters=30, cluster_size=20, icc=0.05).power, 6)
    0.684209
    """
    owner = "power_cluster"
    unknown = _one_unknown(owner, effect=effect, clusters=clusters, power=power)
    _check_common(alpha, ratio, alternative, owner)
    sd = _positive(sd, "sd", owner)
    m = _positive(cluster_size, "cluster_size", owner, minimum=0.0)
    if isinstance(icc, bool) or not (isinstance(icc, (int, float)) and 0.0 <= float(icc) < 1.0):
        raise SpecError(f"The 'icc' parameter of {owner} must be a float in [0, 1). Got {icc!r} instead.")
    if not (isinstance(rho, (int, float)) and -1.0 < float(rho) < 1.0):
        raise SpecError(f"The 'rho' parameter of {owner} must be a float in (-1, 1). Got {rho!r} instead.")
    clusters = _positive(clusters, "clusters", owner, minimum=0.0)
    deff = design_effect(m, icc)
    sd_eff = sd * math.sqrt(1.0 - float(rho) ** 2)

    def pw(eff: float, k1: float) -> float:
        k2 = k1 * ratio
        n1, n2 = k1 * m / deff, k2 * m / deff
        nc = eff / sd_eff * math.sqrt(n1 * n2 / (n1 + n2))
        return _t_power(nc, k1 + k2 - 2.0, alpha, alternative)

    sign = _sign(alternative)
    tail = alpha / 2 if alternative == "two-sided" else alpha

    def quantiles(k1: float) -> float:
        df = k1 * (1.0 + ratio) - 2.0
        return float(stats.t.isf(tail, df) + stats.t.ppf(power, df))

    # Sample size and MDE use the textbook cluster-trial formula with t quantiles on
    # k1 + k2 - 2 df (Hayes & Moulton), solved as a fixed point in k; power uses the exact
    # noncentral t. The two agree to about 0.1%.
    var_unit = deff * (1.0 + 1.0 / ratio) / m  # variance of the difference per unit d^2 / k1
    if unknown == "power":
        power = pw(float(effect), clusters)
    elif unknown == "clusters":
        if effect == 0:
            raise SpecError(f"{owner}: an effect of 0 has no finite number of clusters.")
        d = abs(float(effect)) / sd_eff
        clusters = _root(
            lambda k: k - var_unit * quantiles(k) ** 2 / d**2, 1.0 + 1e-9 + 1.0 / ratio,
            _normal_n(d * math.sqrt(m / deff), power, alpha, ratio, alternative) + 50.0,
            "cluster count", owner,
        )
    else:
        if clusters * (1.0 + ratio) - 2.0 <= 0:
            raise SpecError(f"{owner}: {clusters:g} clusters per arm leave no degrees of freedom.")
        effect = sign * sd_eff * math.sqrt(var_unit / clusters) * quantiles(clusters)
    value = {"power": power, "clusters": clusters, "effect": effect}[unknown]
    return PowerResult(
        solved_for="n" if unknown == "clusters" else unknown, value=float(value), power=float(power),
        n=float(clusters), effect=float(effect), effect_size=float(effect) / sd_eff, kind="cluster",
        alpha=alpha, alternative=alternative,
        inputs={"sd": sd, "ratio": ratio, "rho": float(rho), "cluster_size": m, "icc": float(icc),
                "design_effect": deff},
    )
