"""RDD against published rdrobust / rddensity values on the U.S. Senate data.

Source of every value: REFERENCES.md, section "RDD: U.S. Senate elections" and "More RD
reference values", computed with Python rdrobust 2.1.1 (= R rdrobust 4.0.0) and rddensity 3.0
on ``rdrobust_senate.csv`` (outcome vote, running variable margin, cutoff 0).
Tolerances: rtol 1e-4 for points and bandwidths, 1e-3 for standard errors.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from causal_kit import ExperimentSpec, datasets
from causal_kit.diagnostics.rd_density import density_test
from causal_kit.estimators.rdd import RDD

PT, SE = 1e-4, 1e-3


@pytest.fixture(scope="module")
def senate():
    return datasets.load("senate")


def _spec(**kw):
    return ExperimentSpec(name="senate", design="rdd", outcome="vote", running="margin", cutoff=0.0,
                          na_action="drop", **kw)


def _fit(data, spec=None, **opts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return RDD(diagnostics=False, **opts).fit(data, spec or _spec())


def test_default_matches_rdrobust(senate):
    r = _fit(senate)
    d = r.details
    assert (d["n_left"], d["n_right"]) == (595, 702)
    assert (d["n_h_left"], d["n_h_right"]) == (360, 323)
    np.testing.assert_allclose([d["h_left"], d["b_left"]], [17.754398, 28.028089], rtol=PT)
    np.testing.assert_allclose(r.estimate, 7.414131, rtol=PT)
    np.testing.assert_allclose(d["se_conventional"], 1.458716, rtol=SE)
    np.testing.assert_allclose(d["estimate_bias_corrected"], 7.506502, rtol=PT)
    np.testing.assert_allclose(r.se, 1.741258, rtol=SE)
    np.testing.assert_allclose(r.ci, [4.093699, 10.919306], rtol=PT)
    est = r.tables["estimates"].set_index("method")
    np.testing.assert_allclose(est.loc["conventional", ["estimate", "se"]], [7.414131, 1.458716], rtol=SE)


@pytest.mark.parametrize(
    "opts, h, b, coef, ci",
    [
        (dict(p=2), 22.256280, 33.284142, 8.045079, (4.214327, 12.418851)),
        (dict(kernel="uniform"), 11.596867, 22.944184, 7.202475, (3.963407, 11.223538)),
        (dict(bwselect="cerrd"), 12.406776, 28.028089, 7.631562, (4.074220, 11.289168)),
        (dict(h=16.79369, b=27.43745), 16.79369, 27.43745, 7.425304, (4.069746, 10.983319)),
    ],
)
def test_variants(senate, opts, h, b, coef, ci):
    r = _fit(senate, **opts)
    np.testing.assert_allclose([r.details["h_left"], r.details["b_left"]], [h, b], rtol=PT)
    np.testing.assert_allclose(r.estimate, coef, rtol=PT)
    np.testing.assert_allclose(r.ci, ci, rtol=PT)


def test_fixed_bandwidth_se(senate):
    r = _fit(senate, h=16.79369, b=27.43745)
    np.testing.assert_allclose(r.details["se_conventional"], 1.495356, rtol=SE)


def test_msetwo(senate):
    r = _fit(senate, bwselect="msetwo")
    np.testing.assert_allclose([r.details["h_left"], r.details["h_right"]], [16.169820, 18.126469], rtol=PT)
    np.testing.assert_allclose(r.estimate, 7.453607, rtol=PT)


def test_hc1(senate):
    r = _fit(senate, vce="hc1")
    np.testing.assert_allclose(r.details["h_left"], 17.703692, rtol=PT)
    np.testing.assert_allclose(r.estimate, 7.416199, rtol=PT)
    np.testing.assert_allclose(r.details["se_conventional"], 1.460124, rtol=SE)


def test_cluster_cr1(senate):
    r = _fit(senate, _spec(cluster="state"))
    assert r.details["vce"] == "cr1"
    np.testing.assert_allclose(r.details["h_left"], 18.084289, rtol=PT)
    np.testing.assert_allclose(r.estimate, 7.394838, rtol=PT)
    np.testing.assert_allclose(r.details["se_conventional"], 1.533925, rtol=SE)
    np.testing.assert_allclose(r.ci, [3.984970, 11.024943], rtol=PT)


def test_covariates_hc1(senate):
    r = _fit(senate, _spec(covariates=["termshouse", "termssenate", "population"]), vce="hc1")
    np.testing.assert_allclose([r.details["h_left"], r.details["b_left"]], [17.976890, 28.963712], rtol=PT)
    np.testing.assert_allclose(r.estimate, 6.734199, rtol=PT)
    np.testing.assert_allclose(r.details["se_conventional"], 1.416521, rtol=SE)
    np.testing.assert_allclose(r.ci, [3.524715, 10.111981], rtol=PT)


def test_rdbwselect_all(senate):
    from causal_kit.estimators.rdd import rd_bandwidths

    d = senate.dropna(subset=["vote"])
    bws = rd_bandwidths(d["margin"].to_numpy(), d["vote"].to_numpy(), 0.0).set_index("bwselect")
    np.testing.assert_allclose(bws.loc["mserd", ["h_left", "b_left"]], [17.754398, 28.028089], rtol=PT)
    np.testing.assert_allclose(bws.loc["msesum", ["h_left", "b_left"]], [18.365456, 31.318519], rtol=PT)
    np.testing.assert_allclose(bws.loc["cerrd", "h_left"], 12.406776, rtol=PT)
    np.testing.assert_allclose(bws.loc["certwo", ["h_left", "h_right"]], [11.299473, 12.666779], rtol=PT)
    np.testing.assert_allclose(bws.loc["cersum", "h_left"], 12.833784, rtol=PT)
    np.testing.assert_allclose(bws.loc["msetwo", ["h_left", "h_right"]], [16.169820, 18.126469], rtol=PT)


def test_rddensity(senate):
    # rddensity 3.0 T statistic (jackknife) on all 1,390 margins; its binomial tests are not used.
    out = density_test(senate["margin"].to_numpy(), 0.0)
    np.testing.assert_allclose([out.statistic, out.p_value], [-0.875273, 0.381425], rtol=PT)
    np.testing.assert_allclose([out.h_left, out.h_right], [19.841108, 27.118787], rtol=PT)


def _sim():
    rng = np.random.default_rng(7)
    n = 2000
    x = rng.uniform(-1, 1, n)
    t = (rng.uniform(size=n) < np.where(x >= 0, 0.8, 0.2)).astype(float)
    z1 = rng.normal(size=n) + 0.3 * x
    y = 1 + x + 0.5 * x**2 + 2.0 * t + 0.5 * z1 + rng.normal(0, 0.5, n)
    cl = rng.integers(0, 60, n)
    return x, y, t, z1, cl


# Values below: Python rdrobust 2.1.1 run on _sim() (same seed), computed independently of this package:
# rdrobust(y, x, c=0, fuzzy=t, **opts) -> (coef conventional, se conventional, coef bias-corrected, se robust, h).
@pytest.mark.parametrize(
    "opts, expected",
    [
        (dict(), (2.071986189466805, 0.18500188592907366, 2.0622174299523803, 0.21788251808254144, 0.35947799)),
        (dict(covs=True), (2.005956527989849, 0.12900760258292246, 1.9815716940683783, 0.15202996630809743,
                           0.38836247)),
        (dict(vce="hc2"), (2.0731054365135457, 0.19689879928141718, 2.0635760172108206, 0.23165240286091304,
                           0.35554469)),
        (dict(vce="hc3", p=2), (2.1391266934520443, 0.280695097323932, 2.195076883803622, 0.3222474169639664,
                                0.41707109)),
        (dict(kernel="epanechnikov", bwselect="certwo"),
         (2.1093824898789353, 0.2515360097482336, 2.1056441189489656, 0.2685226526259561, 0.21642683)),
    ],
)
def test_fuzzy_matches_rdrobust(opts, expected):
    from causal_kit.estimators.rdd import rd_estimate

    x, y, t, z1, _ = _sim()
    opts = dict(opts)
    z = z1[:, None] if opts.pop("covs", False) else None
    r = rd_estimate(x, y, 0.0, t=t, z=z, **opts)
    np.testing.assert_allclose([r["tau_cl"], r["tau_bc"], r["h"][0]], np.array(expected)[[0, 2, 4]], rtol=PT)
    np.testing.assert_allclose([r["se_cl"], r["se_rb"]], np.array(expected)[[1, 3]], rtol=SE)


@pytest.mark.parametrize(
    "kw, expected",
    [
        # rdrobust(y, x, c=0, cluster=cl, h=0.4, b=0.6) and (..., h=0.4): CR1 with h != b and h == b.
        (dict(cluster=True, h=(0.4, 0.4), b=(0.6, 0.6)), (1.2294008294542698, 0.17696350886549217, 0.2149885554540187)),
        (dict(cluster=True, h=(0.4, 0.4)), (1.229400829454266, 0.17704081821542048, 0.2768966568465915)),
        # rdrobust(y, x, c=0, weights=|z1|)
        (dict(weights=True), (1.2935160214961625, 0.26712774585446303, 0.31542369811113113)),
        # rdrobust(y, round(20 x) / 20, c=0): mass points, masspoints="adjust"
        (dict(mass=True), (0.7562879537725262, 0.21111343801003885, 0.24903542245752958)),
    ],
)
def test_sharp_variants_match_rdrobust(kw, expected):
    from causal_kit.estimators.rdd import rd_estimate

    x, y, _, z1, cl = _sim()
    kw = dict(kw)
    if kw.pop("cluster", False):
        kw["cluster"] = cl
    if kw.pop("weights", False):
        kw["weights"] = np.abs(z1)
    if kw.pop("mass", False):
        x = np.round(x * 20) / 20
    r = rd_estimate(x, y, 0.0, **kw)
    np.testing.assert_allclose(r["tau_cl"], expected[0], rtol=PT)
    np.testing.assert_allclose([r["se_cl"], r["se_rb"]], expected[1:], rtol=SE)
