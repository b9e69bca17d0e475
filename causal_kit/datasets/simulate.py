"""Simulators with a known true effect, for docs, tests and planning.

* :func:`simulate_geo_panel`: a daily geo KPI panel (trend, weekly seasonality, geo
  heterogeneity, latent factors, strictly positive KPI, a cost column) with an optional
  multiplicative lift on chosen geos from a chosen date.
* :func:`simulate_staggered_panel`: a staggered-adoption panel with a constant (or dynamic)
  effect per period since adoption.
* :func:`simulate_rdd`: a sharp or fuzzy regression discontinuity.
* :func:`simulate_iv`: a linear instrumental-variable design with confounding.

Every simulator takes a ``seed`` and returns a new long DataFrame; the true effect is the
``effect`` argument (documented per function).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import SpecError

__all__ = ["simulate_geo_panel", "simulate_staggered_panel", "simulate_rdd", "simulate_iv"]


def _check_int(value: object, name: str, owner: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise SpecError(f"The {name!r} parameter of {owner} must be an int >= {minimum}. Got {value!r} instead.")
    return int(value)


def simulate_geo_panel(
    n_geos: int = 50,
    n_days: int = 365,
    start: str = "2024-01-01",
    effect: float = 0.0,
    treated: Sequence[str] | int | None = None,
    test_start: str | None = None,
    seed: int = 0,
    *,
    n_factors: int = 2,
    noise: float = 0.05,
    trend: float = 0.10,
) -> pd.DataFrame:
    """A realistic daily geo KPI panel with an optional injected multiplicative lift.

    ``log kpi[g, t] = level[g] + trend * t / 365 * slope[g] + weekly[g, dow] + yearly(t)
    + loadings[g] @ factors[t] + noise * eps[g, t]``: log-normal geo sizes (a few large
    geos, many small ones), a shared trend with geo-specific slopes, weekly seasonality
    with geo-specific amplitude, a yearly cycle, ``n_factors`` AR(1) latent factors with
    geo loadings (correlated shocks) and idiosyncratic noise. The KPI is strictly positive.
    Spend (``cost``) is about 8% of the KPI level per geo with its own noise.

    Parameters
    ----------
    n_geos, n_days : int
        Panel size.
    start : str
        First date.
    effect : float
        True multiplicative lift: treated geos' KPI is multiplied by ``1 + effect`` from
        ``test_start`` on. This is the true relative ATT.
    treated : list of geo names, int or None
        Treated geos; an int draws that many at random (seeded). None: no geo is treated.
    test_start : str, optional
        First treated date; defaults to the date 80% through the panel.
    seed : int
        Seed of every random draw.
    n_factors : int
        Number of latent factors.
    noise : float
        Standard deviation of the idiosyncratic log-noise.
    trend : float
        Average yearly growth of the log KPI.

    Returns
    -------
    DataFrame
        Columns ``geo`` (str, "geo_001"...), ``date`` (datetime64), ``kpi`` (float > 0),
        ``cost`` (float >= 0) and ``treated`` (0/1, 1 for treated geos on and after
        ``test_start``: a per-period indicator usable as ``spec.treatment``).

    Examples
    --------
    >>> from causal_kit.datasets import simulate_geo_panel
    >>> df = simulate_geo_panel(n_geos=10, n_days=60, effect=0.1, treated=2, seed=1)
    >>> df.shape, bool((df["kpi"] > 0).all()), int(df.groupby("geo")["treated"].max().sum())
    ((600, 5), True, 2)
    """
    owner = "simulate_geo_panel"
    n_geos = _check_int(n_geos, "n_geos", owner, 2)
    n_days = _check_int(n_days, "n_days", owner, 2)
    n_factors = _check_int(n_factors, "n_factors", owner, 0)
    rng = np.random.default_rng(seed)
    geos = np.array([f"geo_{i + 1:03d}" for i in range(n_geos)])
    dates = pd.date_range(start, periods=n_days, freq="D")
    t = np.arange(n_days)

    level = rng.normal(np.log(1000.0), 1.0, n_geos)
    slope = rng.normal(1.0, 0.3, n_geos)
    weekly_shape = np.array([0.00, -0.02, -0.03, -0.01, 0.04, 0.10, 0.06])
    weekly_amp = rng.uniform(0.6, 1.4, n_geos)
    dow = dates.day_of_week.to_numpy()
    yearly = 0.05 * np.sin(2 * np.pi * t / 365.25 + rng.uniform(0, 2 * np.pi))

    factors = np.zeros((n_factors, n_days))
    shocks = rng.normal(0.0, 0.03, (n_factors, n_days))
    for k in range(1, n_days):
        factors[:, k] = 0.9 * factors[:, k - 1] + shocks[:, k]
    loadings = rng.normal(0.0, 1.0, (n_geos, n_factors))

    log_kpi = (
        level[:, None]
        + trend * slope[:, None] * t[None, :] / 365.0
        + weekly_amp[:, None] * weekly_shape[dow][None, :]
        + yearly[None, :]
        + loadings @ factors
        + noise * rng.normal(0.0, 1.0, (n_geos, n_days))
    )
    kpi = np.exp(log_kpi)
    cost = np.exp(level)[:, None] * 0.08 * np.exp(rng.normal(0.0, 0.1, (n_geos, n_days)))

    treated_flag = np.zeros((n_geos, n_days), dtype=int)
    if treated is not None:
        if isinstance(treated, (int, np.integer)) and not isinstance(treated, bool):
            if not 0 < treated < n_geos:
                raise SpecError(
                    f"The 'treated' parameter of {owner} must leave at least one control geo "
                    f"(0 < treated < {n_geos}). Got {treated!r} instead."
                )
            chosen = rng.choice(n_geos, size=int(treated), replace=False)
        else:
            names = list(treated)
            unknown = sorted(set(names) - set(geos))
            if unknown:
                raise SpecError(f"{owner}: treated geos {unknown[:3]} are not in geo_001..geo_{n_geos:03d}.")
            chosen = np.searchsorted(geos, names)
        start_idx = int(0.8 * n_days) if test_start is None else int(dates.searchsorted(pd.Timestamp(test_start)))
        if not 0 < start_idx < n_days:
            raise SpecError(f"{owner}: test_start={test_start!r} must fall strictly inside the panel's dates.")
        treated_flag[chosen, start_idx:] = 1
        kpi = kpi * (1.0 + effect * treated_flag)

    return pd.DataFrame(
        {
            "geo": np.repeat(geos, n_days),
            "date": np.tile(dates.to_numpy(), n_geos),
            "kpi": kpi.ravel(),
            "cost": cost.ravel(),
            "treated": treated_flag.ravel(),
        }
    )


def simulate_staggered_panel(
    n_units: int = 200,
    n_periods: int = 10,
    cohorts: Sequence[int] = (4, 6, 8),
    effect: float = 1.0,
    dynamic: float = 0.0,
    never_share: float = 0.3,
    seed: int = 0,
) -> pd.DataFrame:
    """A staggered-adoption panel; the effect of period ``e >= 0`` after adoption is
    ``effect + dynamic * e``.

    Units get unit and period fixed effects, a covariate ``x`` and iid noise; parallel
    trends hold by construction. The true ATT of cohort g at period t is
    ``effect + dynamic * (t - g)``; with ``dynamic=0`` every ATT(g, t) equals ``effect``.

    Returns
    -------
    DataFrame
        Columns ``unit``, ``period`` (1..n_periods), ``y``, ``x``, ``cohort`` (first
        treated period, 0 for never treated) and ``treated`` (0/1 per period).

    Examples
    --------
    >>> from causal_kit.datasets import simulate_staggered_panel
    >>> df = simulate_staggered_panel(n_units=20, n_periods=6, cohorts=(3, 5), seed=2)
    >>> sorted(df["cohort"].unique().tolist())
    [0, 3, 5]
    """
    owner = "simulate_staggered_panel"
    n_units = _check_int(n_units, "n_units", owner, 2)
    n_periods = _check_int(n_periods, "n_periods", owner, 2)
    cohorts = [int(c) for c in cohorts]
    if not cohorts or min(cohorts) < 2 or max(cohorts) > n_periods:
        raise SpecError(f"{owner}: every cohort must be in 2..{n_periods}. Got {cohorts!r} instead.")
    rng = np.random.default_rng(seed)
    probs = np.r_[never_share, np.full(len(cohorts), (1 - never_share) / len(cohorts))]
    cohort = rng.choice(np.r_[0, cohorts], size=n_units, p=probs)
    periods = np.arange(1, n_periods + 1)
    unit_fe = rng.normal(0, 1, n_units)
    time_fe = np.cumsum(rng.normal(0.2, 0.3, n_periods))
    x = rng.normal(0, 1, (n_units, n_periods))
    treated = (cohort[:, None] > 0) & (periods[None, :] >= cohort[:, None])
    since = np.where(treated, periods[None, :] - cohort[:, None], 0)
    y = unit_fe[:, None] + time_fe[None, :] + 0.5 * x + treated * (effect + dynamic * since)
    y = y + rng.normal(0, 1, (n_units, n_periods))
    return pd.DataFrame(
        {
            "unit": np.repeat(np.arange(1, n_units + 1), n_periods),
            "period": np.tile(periods, n_units),
            "y": y.ravel(),
            "x": x.ravel(),
            "cohort": np.repeat(cohort, n_periods),
            "treated": treated.ravel().astype(int),
        }
    )


def simulate_rdd(
    n: int = 2000, cutoff: float = 0.0, effect: float = 1.0, fuzzy: bool = False, seed: int = 0
) -> pd.DataFrame:
    """A regression discontinuity with a known jump ``effect`` at ``cutoff``.

    ``x ~ U(-1, 1) + cutoff``; ``y = 0.5 + 0.8 (x - c) - 0.6 (x - c)^2 + effect * d + e``
    with ``e ~ N(0, 0.3^2)``. Sharp: ``d = 1[x >= c]``. Fuzzy: treatment take-up is 80%
    above and 15% below the cutoff, and the true effect of ``d`` (the LATE) is ``effect``.

    Returns
    -------
    DataFrame
        Columns ``x`` (running variable), ``y`` and ``d`` (treatment received).

    Examples
    --------
    >>> from causal_kit.datasets import simulate_rdd
    >>> simulate_rdd(n=100, seed=1).shape
    (100, 3)
    """
    n = _check_int(n, "n", "simulate_rdd", 10)
    rng = np.random.default_rng(seed)
    z = rng.uniform(-1, 1, n)
    above = z >= 0
    d = (rng.uniform(size=n) < np.where(above, 0.8, 0.15)) if fuzzy else above
    y = 0.5 + 0.8 * z - 0.6 * z**2 + effect * d + rng.normal(0, 0.3, n)
    return pd.DataFrame({"x": z + cutoff, "y": y, "d": d.astype(int)})


def simulate_iv(
    n: int = 5000, effect: float = 0.5, strength: float = 0.5, confounding: float = 1.0, seed: int = 0
) -> pd.DataFrame:
    """A linear IV design in which OLS is biased and 2SLS recovers ``effect``.

    ``z ~ N(0, 1)``, ``x ~ N(0, 1)``, unobserved ``u ~ N(0, 1)``;
    ``d = strength * z + 0.3 x + confounding * u + v``; ``y = effect * d + 0.5 x + confounding * u + e``.
    The true causal effect of ``d`` on ``y`` is ``effect``.

    Returns
    -------
    DataFrame
        Columns ``y``, ``d`` (endogenous treatment), ``z`` (instrument), ``x`` (covariate).

    Examples
    --------
    >>> from causal_kit.datasets import simulate_iv
    >>> list(simulate_iv(n=50, seed=3).columns)
    ['y', 'd', 'z', 'x']
    """
    n = _check_int(n, "n", "simulate_iv", 10)
    rng = np.random.default_rng(seed)
    z, x, u = rng.normal(size=(3, n))
    d = strength * z + 0.3 * x + confounding * u + rng.normal(size=n)
    y = effect * d + 0.5 * x + confounding * u + rng.normal(size=n)
    return pd.DataFrame({"y": y, "d": d, "z": z, "x": x})
