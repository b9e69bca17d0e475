"""One bundled-data example per registered estimator, shared by contract and report tests."""

from __future__ import annotations

from typing import Any

PROP99 = dict(outcome="PacksPerCapita", treatment="treated", unit="State", time="Year")
MPDTA = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
SIPP_X = ["age", "inc", "educ", "fsize", "marr", "twoearn", "db", "pira", "hown"]
CARD_X = ["exper", "expersq", "black", "smsa", "south", "smsa66"] + [f"reg66{i}" for i in range(2, 10)]

#: method -> (dataset name, spec fields)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "ab": ("ab_cuped_sim", dict(design="ab", outcome="y", treatment="treat", pre_covariate="pre")),
    "did": ("mpdta", dict(design="did", **MPDTA)),
    "event_study": ("mpdta", dict(design="event_study", **MPDTA)),
    "staggered_did": ("mpdta", dict(design="staggered_did", **MPDTA)),
    "sun_abraham": ("mpdta", dict(design="staggered_did", **MPDTA)),
    "synthetic_control": ("california_prop99", dict(design="synthetic_control", **PROP99)),
    "augmented_sc": ("california_prop99", dict(design="synthetic_control", **PROP99)),
    "sdid": ("california_prop99", dict(design="sdid", **PROP99)),
    "dml": ("sipp401k", dict(design="dml", outcome="net_tfa", treatment="e401", covariates=SIPP_X)),
    "ipw": ("sipp401k", dict(design="dml", outcome="net_tfa", treatment="e401", covariates=SIPP_X)),
    "psm": ("sipp401k", dict(design="dml", outcome="net_tfa", treatment="e401", covariates=SIPP_X)),
    "iv": ("card", dict(design="iv", outcome="lwage", endogenous=["educ"], instruments=["nearc4"], covariates=CARD_X)),
    "trimmed_match": ("paired_geos_sim", dict(design="trimmed_match", outcome="response", treatment="treated",
                                              unit="geo", pair="pair", spend="spend")),
    "bsts": ("california_prop99", dict(design="its", **PROP99)),
    "rdd": ("senate", dict(design="rdd", outcome="vote", running="margin", cutoff=0.0, na_action="drop")),
}


def case_spec(method: str):
    """The spec for ``method``'s example, running exactly that method."""
    from causal_kit import ExperimentSpec

    _, fields = CASES[method]
    return ExperimentSpec(name=f"contract-{method}", estimators=[method], **fields)
