"""Bundled public datasets (with sources) and simulators with a known true effect.

Use :func:`load` with one of :data:`DATASETS`' names. Simulators live in
:mod:`causal_kit.datasets.simulate`.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from ..errors import DataError

__all__ = [
    "DATASETS", "load", "path",
    "simulate_geo_panel", "simulate_staggered_panel", "simulate_rdd", "simulate_iv",
    "simulate_surrogate_experiment",
    "simulate_paired_geos", "simulate_multi_cell", "simulate_spillover_panel", "simulate_switchback",
    "simulate_switching_panel", "simulate_price_test",
]

from .interference_sim import simulate_spillover_panel, simulate_switchback  # noqa: E402
from .multi_cell_sim import simulate_multi_cell  # noqa: E402
from .paired_geos import simulate_paired_geos  # noqa: E402
from .price_test_sim import simulate_price_test  # noqa: E402
from .simulate import simulate_geo_panel, simulate_iv, simulate_rdd, simulate_staggered_panel  # noqa: E402
from .surrogate_sim import simulate_surrogate_experiment  # noqa: E402
from .switching_sim import simulate_switching_panel  # noqa: E402

#: name -> (file, source citation)
DATASETS: dict[str, tuple[str, str]] = {
    "ab_cuped_sim": ("ab_cuped_sim.csv", "Simulated A/B test with a pre-period covariate; true effect 0.30."),
    "ab_ratio_sim": ("ab_ratio_sim.csv", "Simulated A/B test of a ratio metric (clicks / views) per user."),
    "california_prop99": (
        "california_prop99_long.csv",
        "Abadie, Diamond & Hainmueller (2010) Proposition 99 panel, as shipped with R synthdid "
        "(Arkhangelsky et al. 2021).",
    ),
    "prop99_adh": (
        "prop99_adh_covariates.csv",
        "ADH (2010) panel with predictors (lnincome, beer, age15to24, retprice), from R tidysynth.",
    ),
    "mpdta": (
        "mpdta.csv",
        "County teen employment, 2003-2007, minimum-wage rollout; example data of R did "
        "(Callaway & Sant'Anna 2021).",
    ),
    "senate": (
        "rdrobust_senate.csv",
        "U.S. Senate elections 1914-2010, vote share by margin; example data of rdrobust "
        "(Cattaneo, Frandsen & Titiunik 2015).",
    ),
    "sipp401k": (
        "sipp1991_401k.csv",
        "SIPP 1991 401(k) eligibility and net financial assets (Chernozhukov et al. 2018; Poterba, "
        "Venti & Wise).",
    ),
    "multi_cell_sim": (
        "multi_cell_sim.csv",
        "Simulated multi-cell geo test (simulate_multi_cell, 24 geos x 84 days, 6 geos per cell, seed 0): lifts "
        "2% (low) and 6% (high) over the last 28 days.",
    ),
    "paired_geos_sim": (
        "paired_geos_sim.csv",
        "Simulated matched-pair geo experiment (simulate_paired_geos, 50 pairs, seed 0); true iROAS 2.0.",
    ),
    "card": (
        "wooldridge_card.csv",
        "Card (1995) NLS young men, college proximity as an instrument; from Wooldridge's data sets.",
    ),
    "gain_riverside": (
        "gain_riverside_sim.csv",
        "Simulated Riverside GAIN job-training experiment (5,445 people; employment in 36 quarters), from the "
        "replication package of Athey, Chetty, Imbens & Kang (2019), 'The Surrogate Index'.",
    ),
    "switching_promo_sim": (
        "switching_promo_sim.csv",
        "Simulated store promotion that starts or stops (simulate_switching_panel, 300 units x 8 periods, "
        "on_off_share=0.05, seed 0, rounded to 6 decimals); column true_effect holds each switch's effect.",
    ),
    "surrogate_sim": (
        "surrogate_sim.csv",
        "Simulated two-sample surrogate study (simulate_surrogate_experiment, seed 0): 1,000 experiment rows, "
        "2,000 observational rows, 4 surrogates; true long-term effect 0.5.",
    ),
    "spillover_sim": (
        "spillover_sim.csv",
        "Simulated geo panel with spillover (simulate_spillover_panel, 120 geos, 8 periods, treated from period 5, "
        "seed 0): true direct effect 2.0, spillover 1.0 within 15 km of a treated geo and 0 at 15-30 km.",
    ),
    "switchback_sim": (
        "switchback_sim.csv",
        "Simulated switchback test (simulate_switchback, 10 cities x 40 periods of 6 hours, one-hour carryover, "
        "seed 0): true effect 1.0.",
    ),
    "price_test_sim": (
        "price_test_sim.csv",
        "Simulated product-level price test (simulate_price_test, 60 products x 8 weeks, arms 0.9/1.0/1.1 of the "
        "base price from week 5, seed 0); true own-price elasticity -1.8, unit cost 60% of the base price.",
    ),
}


def path(name: str):
    """Filesystem path (a Traversable) of the bundled dataset ``name``."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; available: {', '.join(sorted(DATASETS))}")
    return resources.files(__package__).joinpath("data", DATASETS[name][0])


def load(name: str) -> pd.DataFrame:
    """Load a bundled dataset as a new DataFrame.

    Examples
    --------
    >>> from causal_kit import datasets
    >>> datasets.load("mpdta").shape
    (2500, 6)
    """
    with path(name).open("rb") as fh:
        return pd.read_csv(fh)
