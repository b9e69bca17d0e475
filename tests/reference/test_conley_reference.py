"""Conley spatial-HAC covariance against an independent dense implementation and textbook limits.

No R Conley implementation (fixest ``vcov_conley``, ``conleyreg``) could be installed where these
values were made, so the k-d-tree implementation is checked three ways:

1. against a dense, literal transcription of the panel Conley (1999) / Hsiang (2010) meat
   written below (every observation pair, haversine distances, explicit kernel weights), to 1e-10;
2. with a cutoff below the closest pair and no serial lag it is White's HC0, which statsmodels
   computes independently (``cov_type="HC0"``), to 1e-10;
3. with the uniform kernel, a cutoff above the widest pair and no serial lag it is the CR0
   covariance clustered by period, which statsmodels computes independently
   (``cov_type="cluster"``, no small-sample correction), to 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.estimators.did import DiD
from causal_kit.inference.conley import conley_vcov

R_EARTH = 6371.01


def _haversine(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * R_EARTH * np.arcsin(np.sqrt(a))


def dense_conley(X, e, lat, lon, time, unit, cutoff, kernel, lag):
    """Literal double sum over observation pairs (i, j)."""
    n = len(e)
    s = X * e[:, None]
    tpos = np.unique(time, return_inverse=True)[1]
    meat = np.zeros((X.shape[1], X.shape[1]))
    for i in range(n):
        for j in range(n):
            if time[i] == time[j]:
                d = _haversine(lat[i], lon[i], lat[j], lon[j])
                if d <= cutoff:
                    w = 1.0 - d / cutoff if kernel == "bartlett" else 1.0
                    meat += w * np.outer(s[i], s[j])
            elif unit[i] == unit[j]:
                gap = abs(tpos[i] - tpos[j])
                if gap <= lag:
                    meat += (1.0 - gap / (lag + 1.0)) * np.outer(s[i], s[j])
    bread = np.linalg.inv(X.T @ X)
    return bread @ meat @ bread


def _panel(seed=0, n_units=25, n_periods=4):
    rng = np.random.default_rng(seed)
    lat = np.repeat(rng.uniform(39, 41, n_units), n_periods)
    lon = np.repeat(rng.uniform(-96, -94, n_units), n_periods)
    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(n_periods), n_units)
    X = np.column_stack([np.ones(len(unit)), rng.normal(size=len(unit)), rng.normal(size=len(unit))])
    e = rng.normal(size=len(unit)) + 0.5 * np.sin(lat * 3)
    return X, e, lat, lon, time, unit


@pytest.mark.parametrize("kernel", ["bartlett", "uniform"])
@pytest.mark.parametrize("cutoff,lag", [(50.0, 0), (120.0, 2), (300.0, 3)])
def test_matches_the_dense_double_sum(kernel, cutoff, lag):
    X, e, lat, lon, time, unit = _panel()
    got = conley_vcov(X, e, lat, lon, time, unit, cutoff_km=cutoff, kernel=kernel, lag_cutoff=lag)
    want = dense_conley(X, e, lat, lon, time, unit, cutoff, kernel, lag)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


def test_tiny_cutoff_is_white_hc0():
    import statsmodels.api as sm

    X, e, lat, lon, time, unit = _panel(1)
    y = X @ np.array([1.0, 0.5, -0.2]) + e
    fit = sm.OLS(y, X).fit(cov_type="HC0")
    got = conley_vcov(X, fit.resid, lat, lon, time, unit, cutoff_km=1e-6, kernel="bartlett", lag_cutoff=0)
    np.testing.assert_allclose(got, fit.cov_params(), rtol=1e-10)


def test_uniform_huge_cutoff_is_cluster_by_period():
    import statsmodels.api as sm

    X, e, lat, lon, time, unit = _panel(2)
    y = X @ np.array([1.0, 0.5, -0.2]) + e
    fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": time, "use_correction": False})
    got = conley_vcov(X, fit.resid, lat, lon, time, unit, cutoff_km=5000.0, kernel="uniform", lag_cutoff=0)
    np.testing.assert_allclose(got, fit.cov_params(), rtol=1e-10)


def test_did_conley_se_equals_dense_on_the_absorbed_twfe():
    data = ck.datasets.load("spillover_sim").query("geo < 'g0040'")
    spec = ck.ExperimentSpec(name="c", design="did", outcome="y", unit="geo", time="period", treatment="treated",
                             coordinates=["lat", "lon"])
    res = DiD(vcov="conley", conley_cutoff_km=60.0, conley_lag=2).fit(data, spec)
    # the absorbed TWFE by hand on the balanced panel: two-way demeaning
    wide_y = data.pivot(index="geo", columns="period", values="y").to_numpy()
    wide_d = data.pivot(index="geo", columns="period", values="treated").to_numpy().astype(float)

    def dm(a):
        return (a - a.mean(1, keepdims=True) - a.mean(0, keepdims=True) + a.mean()).ravel()

    x, yy = dm(wide_d), dm(wide_y)
    beta = x @ yy / (x @ x)
    n_u, n_t = wide_y.shape
    units = np.repeat(np.arange(n_u), n_t)
    coords = data.drop_duplicates("geo").sort_values("geo")
    V = dense_conley(x[:, None], yy - beta * x, coords["lat"].to_numpy()[units], coords["lon"].to_numpy()[units],
                     np.tile(np.arange(n_t), n_u), units, 60.0, "bartlett", 2)
    assert res.estimate == pytest.approx(beta, rel=1e-10)
    assert res.se == pytest.approx(float(np.sqrt(V[0, 0])), rel=1e-10)
    assert res.details["vcov"] == "conley" and res.se != res.details["se_crv1"]


def test_bad_options_are_named():
    X, e, lat, lon, time, unit = _panel()
    with pytest.raises(ck.errors.SpecError, match="'kernel' parameter of conley_vcov"):
        conley_vcov(X, e, lat, lon, time, unit, cutoff_km=10.0, kernel="gaussian")
    with pytest.raises(ck.errors.SpecError, match="'cutoff_km' parameter of conley_vcov must be a positive"):
        conley_vcov(X, e, lat, lon, time, unit, cutoff_km=0.0)
    spec = ck.ExperimentSpec(name="c", design="did", outcome="y", unit="geo", time="period", treatment="treated")
    with pytest.raises(ck.errors.SpecError, match="needs spec.coordinates"):
        DiD(vcov="conley").fit(ck.datasets.load("spillover_sim"), spec)
