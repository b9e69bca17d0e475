"""Placebo studies of the three geo readouts: false-positive rate, coverage and RMSE.

As in Arkhangelsky et al. (2021, section 5): random placebo-treated units and random adoption
times on a panel with no treatment, true effect zero (or a known 5% lift), every method run
with its default options through :func:`causal_kit.estimate`
(:func:`causal_kit.design.placebo_study.placebo_study`). Settings:

* Prop 99 without California (38 states, 1970-2000), 1 and 5 placebo-treated states, adoption
  year drawn so that at least 10 pre-years and 5 post-years remain;
* ``simulate_geo_panel``: 40 geos, 8 treated, 91 pre-days and a 28-day test, a fresh panel per
  replication, on the level KPI and on its log.

Each row reports the rejection rate of a true null with its Monte Carlo SE
(``sqrt(p (1 - p) / n)``), the coverage of a true 5% lift and the RMSE. A readout holds its
size when the rate lies within 5% +- 2 MCSE (MCSE at 5%). For comparison, the synthdid paper's
placebo study on the CPS wage panel ranks the methods' RMSE as DID 0.049 > SC 0.037 > SDID
0.028 (Arkhangelsky et al. 2021, Table 1); the RMSE ranking on Prop 99 here should follow it.

``python -m benchmarks --only placebo`` runs 500 replications per setting (``--quick``: 60).
The Prop 99 size study for all three methods is the timed case (goal: under 5 minutes on 2
cores).
"""

from __future__ import annotations

import time

import numpy as np

from ._harness import row

#: synthdid paper, Table 1 (CPS placebo, log wage): RMSE per method
CPS_RMSE = {"did": 0.049, "synthetic_control": 0.037, "sdid": 0.028}

PROP99 = dict(outcome="PacksPerCapita", unit="State", time="Year", treatment="treated")
GEO = dict(outcome="kpi", unit="geo", time="date", treatment="treated")


def _geo_panel(log: bool):
    from causal_kit.datasets import simulate_geo_panel

    def draw(seed: int):
        d = simulate_geo_panel(n_geos=40, n_days=119, seed=seed)
        return d.assign(kpi=np.log(d["kpi"])) if log else d

    return draw


def study(setting: str, n_reps: int, effect: float = 0.0, seed: int = 0, n_jobs: int = 2, methods=None):
    """One placebo study: ``setting`` in prop99_1, prop99_5, sim_level, sim_log."""
    import causal_kit as ck
    from causal_kit.design.placebo_study import placebo_study

    if setting.startswith("prop99"):
        spec = ck.ExperimentSpec(name="placebo", design="did", **PROP99)
        return placebo_study(ck.datasets.load("california_prop99"), spec, n_treated=int(setting[-1]),
                             n_reps=n_reps, effect=effect, min_pre=10, min_post=5, seed=seed, n_jobs=n_jobs,
                             methods=methods or ("sdid", "synthetic_control", "did"))
    log = setting == "sim_log"
    spec = ck.ExperimentSpec(name="placebo", design="did", **GEO)
    return placebo_study(_geo_panel(log), spec, n_treated=8, n_reps=n_reps, effect=effect, log_scale=log,
                         min_pre=91, min_post=28, seed=seed, n_jobs=n_jobs,
                         methods=methods or ("sdid", "synthetic_control", "did"))


def run(quick: bool = False) -> list[dict]:
    from causal_kit.design.placebo_study import summarise_placebo_study

    n = 60 if quick else 500
    rows: list[dict] = []
    for setting in ("prop99_1", "prop99_5", "sim_level", "sim_log"):
        t0 = time.perf_counter()
        size = summarise_placebo_study(study(setting, n, 0.0, seed=20_000))
        elapsed = time.perf_counter() - t0
        cover = summarise_placebo_study(study(setting, n, 0.05, seed=30_000)).set_index("method")
        for r in size.itertuples(index=False):
            c = cover.loc[r.method]
            rows.append(row(
                f"placebo {setting} {r.method} (n={r.n_reps})", elapsed / len(size),
                goal="size 5% +- 2 MCSE; coverage 93.5-96.5%" + (" ; 500 reps < 300 s for 3 methods"
                                                                 if setting == "prop99_5" else ""),
                match=bool(r.size_ok and 0.935 <= c["cover_rate"] <= 0.965),
                note=(f"false positives {r.reject_rate:.3f} (MCSE {r.reject_mcse:.3f}); coverage of a 5% lift "
                      f"{c['cover_rate']:.3f} (MCSE {c['cover_mcse']:.3f}); RMSE {r.rmse:.4g}"
                      + (f" (synthdid CPS RMSE {CPS_RMSE[r.method]})" if setting.startswith("prop99") else "")),
            ))
    return rows
