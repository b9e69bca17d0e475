"""SDID bias and CI coverage on simulated geo experiments with several treated geos.

Data: :func:`causal_kit.datasets.simulate.simulate_geo_panel` (30 geos with log-normal sizes,
geo-specific trends, weekly amplitudes and factor loadings), 5 randomly chosen treated geos,
91 pre-days and a true 8% multiplicative lift for 28 days, analysed on the log KPI so the
truth is exactly ``log(1.08)`` for every draw.

Calibration of each SE on this simulator, from a 200-draw study with 200 placebo replicates
and 100 bootstrap resamples per draw (binomial MCSE about 2 points):

* mean estimate / truth 0.991 (no bias; 0.981 on the level KPI, t = -0.6);
* placebo (Algorithm 4, time weights refitted from a uniform start): coverage 0.925, SD of
  z = (estimate - truth) / SE 1.05. Starting them from the real fit's time weights, as R
  synthdid does, leaks the pseudo-treated geos' post-period means into every placebo refit
  (91 pre-days, 25 controls) and gave 0.820 with heavy tails (SD of z 2.05);
* unit bootstrap: coverage 0.930, SD of z 1.07;
* fixed-weight jackknife: coverage 0.905, SD of z 1.22.

Bands below are the study's coverage minus three binomial Monte Carlo SEs at this test's
number of draws, and the study's SD of z within three Monte Carlo SEs (about 1 / sqrt(2 n)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.datasets.simulate import simulate_geo_panel
from causal_kit.estimators.sdid import sdid_fit
from causal_kit.inference.placebo import placebo_draws, sdid_placebo_estimates

N_GEOS, N_TREATED, PRE, POST, LIFT = 30, 5, 91, 28, 0.08
N_DRAWS = 100  # each draw runs the full bootstrap and jackknife estimator (about 0.2 s idle)
Z = 1.959964


def _mcse(p: float, n: int) -> float:
    return float(np.sqrt(p * (1 - p) / n))


def _draw(seed: int) -> pd.DataFrame:
    geos = [f"geo_{i + 1:03d}" for i in range(N_GEOS)]
    treated = list(np.random.default_rng(seed + 100).choice(geos, N_TREATED, replace=False))
    start = str((pd.Timestamp("2024-01-01") + pd.Timedelta(days=PRE)).date())
    data = simulate_geo_panel(n_geos=N_GEOS, n_days=PRE + POST, seed=seed, treated=treated,
                              effect=LIFT, test_start=start)
    return data.assign(kpi=np.log(data["kpi"]))


@pytest.mark.slow
def test_sdid_bias_and_coverage_on_geo_panels_with_several_treated():
    truth = np.log1p(LIFT)
    spec = dict(name="geo", design="sdid", outcome="kpi", treatment="treated", unit="geo", time="date")
    est, se = [], {"placebo": [], "bootstrap": [], "jackknife": []}
    for i in range(N_DRAWS):
        seed = 500 + i
        data = _draw(seed)
        boot = ck.estimate(data, ck.ExperimentSpec(**spec, seed=seed,
                                                   options={"se_method": "bootstrap", "n_reps": 50}))
        jack = ck.estimate(data, ck.ExperimentSpec(**spec, options={"se_method": "jackknife"}))
        assert jack.estimate == boot.estimate
        # placebo SE from the batched solver directly, with the estimator's settings (its
        # own code path is pinned to a loop of fresh fits in test_sdid.py); 50 replicates
        is_tr = data.groupby("geo", sort=True)["treated"].max().to_numpy() == 1
        Y = data["kpi"].to_numpy().reshape(N_GEOS, PRE + POST)  # geo-major, dates sorted
        Y = np.vstack([Y[~is_tr], Y[is_tr]])
        n0 = int((~is_tr).sum())
        fit = sdid_fit(Y, n0, PRE)
        assert fit["tau"] == pytest.approx(boot.estimate, rel=1e-10)
        reps = sdid_placebo_estimates(
            Y[:n0], PRE, placebo_draws(n0, N_TREATED, 50, seed), omega=fit["omega"],
            lam=None, zeta_omega=fit["zeta_omega"], zeta_lambda=fit["zeta_lambda"],
            min_decrease=fit["min_decrease"])
        est.append(boot.estimate)
        se["placebo"].append(reps.std())
        se["bootstrap"].append(boot.se)
        se["jackknife"].append(jack.se)
    err = np.asarray(est) - truth
    # unbiased: the mean error is within 3 Monte Carlo SEs of zero
    assert abs(err.mean()) < 3 * err.std(ddof=1) / np.sqrt(N_DRAWS), err.mean() / truth
    z = {k: err / np.asarray(v) for k, v in se.items()}
    cover = {k: float(np.mean(np.abs(v) <= Z)) for k, v in z.items()}
    sd_z = {k: float(np.std(v)) for k, v in z.items()}
    band = 3 / np.sqrt(2 * N_DRAWS)  # 3 MCSEs of an SD estimated from N_DRAWS draws
    # placebo and bootstrap: the study's coverage (0.925, 0.930) minus 3 binomial MCSEs, and
    # SD of z within the band around the study's (1.05, 1.07). The leaky synthdid warm start
    # of the placebo time weights fails the SD band on these draws (SD of z 1.84).
    for k, (cov, sd) in {"placebo": (0.925, 1.05), "bootstrap": (0.930, 1.07)}.items():
        assert cover[k] >= cov - 3 * _mcse(cov, N_DRAWS), (k, cover)
        assert sd - band <= sd_z[k] <= sd + band, (k, sd_z)
    # the fixed-weight jackknife (study: 0.905, SD of z 1.22) under-covers a little more
    assert cover["jackknife"] >= 0.905 - 3 * _mcse(0.905, N_DRAWS), cover
    assert 1.22 - band <= sd_z["jackknife"] <= 1.22 + band, sd_z
