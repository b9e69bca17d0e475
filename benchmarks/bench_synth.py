"""Synthetic control and SDID timings against diff-diff and pysyncon.

Cases (each timed for us and the peer in this process):

* SC + full in-space placebo on Prop 99 (V = I on standardised pre-period outcomes);
* SC + full in-space placebo with 200 donors x 100 periods (simulated factor model);
* SDID + 200 random placebo replications on Prop 99.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ._harness import best_time, peer_available, row

PROP99 = dict(outcome="PacksPerCapita", treatment="treated", unit="State", time="Year")


def _panel(n_donors: int, n_periods: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_donors + 1
    factors = rng.normal(size=(n_periods, 3)).cumsum(axis=0)
    loadings = rng.uniform(0.5, 1.5, size=(n, 3))
    y = 50 + loadings @ factors.T + rng.normal(scale=1.0, size=(n, n_periods))
    t0 = int(n_periods * 0.7)
    y[0, t0:] -= 5.0
    units = np.array([f"u{i:03d}" for i in range(n)])
    return pd.DataFrame({
        "unit": np.repeat(units, n_periods), "time": np.tile(np.arange(n_periods), n),
        "y": y.ravel(), "treated": ((np.arange(n) == 0)[:, None] & (np.arange(n_periods) >= t0)[None, :]).ravel().astype(int),
    })


def _ours_sc(data: pd.DataFrame, fields: dict[str, Any]):
    import causal_kit as ck

    spec = ck.ExperimentSpec(name="bench", design="synthetic_control", **fields,
                             options={"in_time_placebo": None})
    return ck.estimate(data, spec)


def _dd_sc(data: pd.DataFrame, fields: dict[str, Any]):
    import diff_diff as dd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = dd.SyntheticControl(v_method="inverse_variance").fit(
            data, fields["outcome"], fields["treatment"], fields["unit"], fields["time"])
        res.in_space_placebo()
    return res


def run(quick: bool = False) -> list[dict]:
    from causal_kit import datasets

    rows: list[dict] = []
    prop99 = datasets.load("california_prop99")
    repeat = 1 if quick else 3
    cases = [("SC + in-space placebo, Prop 99", prop99, PROP99, "<= 0.25x diff-diff (0.80 s)")]
    big = _panel(50 if quick else 200, 40 if quick else 100)
    cases.append((f"SC + in-space placebo, {big['unit'].nunique() - 1} donors x {big['time'].nunique()} periods",
                  big, dict(outcome="y", treatment="treated", unit="unit", time="time"),
                  "<= 0.1x diff-diff (14.5 s)"))
    for name, data, fields, goal in cases:
        ours_s, ours = best_time(lambda d=data, f=fields: _ours_sc(d, f), repeat)
        if not peer_available("diff_diff"):
            rows.append(row(name, ours_s, "diff-diff", None, goal, None, "diff-diff not installed"))
            continue
        peer_s, peer = best_time(lambda d=data, f=fields: _dd_sc(d, f), 1)
        match = bool(np.isclose(ours.estimate, peer.att, atol=1e-3))
        rows.append(row(name, ours_s, "diff-diff", peer_s, goal, match,
                        f"ours {ours.estimate:.4f} vs {peer.att:.4f}; p {ours.p_value:.3f} vs "
                        f"{peer.placebo_p_value:.3f} (diff-diff keeps the treated unit in placebo pools)"))
    rows.append(_sdid_row(prop99, repeat))
    rows.append(_pysyncon_row(prop99))
    return rows


def _sdid_row(prop99: pd.DataFrame, repeat: int) -> dict:
    import causal_kit as ck

    spec = ck.ExperimentSpec(name="bench", design="sdid", **PROP99, seed=12345,
                             options={"placebo_draws": "random", "n_reps": 200})
    name, goal = "SDID + 200 placebo reps, Prop 99", "<= 0.5x diff-diff (0.56 s)"
    ours_s, ours = best_time(lambda: ck.estimate(prop99, spec), repeat)
    if not peer_available("diff_diff"):
        return row(name, ours_s, "diff-diff", None, goal, None, "diff-diff not installed")
    import diff_diff as dd

    ever = prop99.assign(ever=(prop99["State"] == "California").astype(int))
    post = list(range(1989, 2001))

    def peer_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dd.SyntheticDiD(variance_method="placebo", n_bootstrap=200, seed=12345).fit(
                ever, "PacksPerCapita", "ever", "State", "Year", post_periods=post)

    peer_s, peer = best_time(peer_fit, 1)
    match = bool(np.isclose(ours.estimate, peer.att, rtol=1e-4))
    return row(name, ours_s, "diff-diff", peer_s, goal, match,
               f"ours {ours.estimate:.4f} (SE {ours.se:.2f}) vs {peer.att:.4f} (SE {peer.se:.2f})")


def _pysyncon_row(prop99: pd.DataFrame) -> dict:
    name = "SC + in-space placebo, Prop 99 (pysyncon)"
    ours_s, ours = best_time(lambda: _ours_sc(prop99, PROP99), 1)
    if not peer_available("pysyncon"):
        return row(name, ours_s, "pysyncon", None, "", None, "pysyncon not installed")
    from pysyncon import Dataprep, Synth
    from pysyncon.utils import PlaceboTest

    states = sorted(prop99["State"].unique())
    controls = [s for s in states if s != "California"]
    years = list(range(1970, 1989))
    special = [("PacksPerCapita", [y], "mean") for y in years]

    def peer_fit():
        dp = Dataprep(foo=prop99, predictors=[], predictors_op="mean", time_predictors_prior=years,
                      special_predictors=special, dependent="PacksPerCapita", unit_variable="State",
                      time_variable="Year", treatment_identifier="California",
                      controls_identifier=controls, time_optimize_ssr=years)
        synth = Synth()
        synth.fit(dataprep=dp, custom_V=np.ones(len(years)))
        placebo = PlaceboTest()
        placebo.fit(dataprep=dp, scm=synth, scm_options={"custom_V": np.ones(len(years))},
                    max_workers=1, verbose=False)
        return synth, placebo

    try:
        peer_s, (synth, _) = best_time(peer_fit, 1)
    except Exception as exc:  # report the peer's failure as a row, never crash the run
        return row(name, ours_s, "pysyncon", None, "", None, f"pysyncon failed: {exc}")
    w = synth.weights(round=6)
    match = bool(abs(float(w.get("Utah", np.nan)) - 0.385) < 0.01)
    return row(name, ours_s, "pysyncon", peer_s, "", match,
               f"pysyncon Utah weight {float(w.get('Utah', np.nan)):.3f} (ours 0.385)")
