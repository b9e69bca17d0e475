"""One bundled-data example per registered estimator, shared by contract and report tests."""

from __future__ import annotations

from typing import Any

PROP99 = dict(outcome="PacksPerCapita", treatment="treated", unit="State", time="Year")
MPDTA = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
#: How each bundled outcome reads (the spec's report block): what a user states about their KPI.
PROP99_REPORT = dict(outcome_label="cigarette sales", outcome_kind="mean", unit_label="packs", per="per person per year")
MPDTA_REPORT = dict(outcome_label="teen employment", outcome_scale="log")
SIPP_REPORT = dict(outcome_label="net financial assets", outcome_kind="mean", currency="USD", per="per household",
                   outcome_is_currency=True)
CARD_REPORT = dict(outcome_label="wages", outcome_scale="log")
SENATE_REPORT = dict(outcome_label="vote share", outcome_kind="rate", unit_label="points")
PRICE_REPORT = dict(outcome_label="units sold", outcome_kind="count", unit_label="units", per="per product-week")
SIPP_X = ["age", "inc", "educ", "fsize", "marr", "twoearn", "db", "pira", "hown"]
CARD_X = ["exper", "expersq", "black", "smsa", "south", "smsa66"] + [f"reg66{i}" for i in range(2, 10)]

#: method -> (dataset name, spec fields)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "ab": ("ab_cuped_sim", dict(design="ab", outcome="y", treatment="treat", pre_covariate="pre")),
    "did": ("mpdta", dict(design="did", report=MPDTA_REPORT, **MPDTA)),
    "event_study": ("mpdta", dict(design="event_study", report=MPDTA_REPORT, **MPDTA)),
    "staggered_did": ("mpdta", dict(design="staggered_did", report=MPDTA_REPORT, **MPDTA)),
    "sun_abraham": ("mpdta", dict(design="staggered_did", report=MPDTA_REPORT, **MPDTA)),
    "did_imputation": ("mpdta", dict(design="staggered_did", report=MPDTA_REPORT, **MPDTA)),
    "did2s": ("mpdta", dict(design="staggered_did", report=MPDTA_REPORT, **MPDTA)),
    "did_multiplegt": ("switching_promo_sim", dict(design="staggered_did", outcome="y", unit="unit", time="period",
                                                   treatment="promo", report=dict(outcome_label="store sales"))),
    "synthetic_control": ("california_prop99", dict(design="synthetic_control", report=PROP99_REPORT, **PROP99)),
    "augmented_sc": ("california_prop99", dict(design="synthetic_control", report=PROP99_REPORT, **PROP99)),
    "sdid": ("california_prop99", dict(design="sdid", report=PROP99_REPORT, **PROP99)),
    "dml": ("sipp401k", dict(design="dml", outcome="net_tfa", treatment="e401", covariates=SIPP_X, report=SIPP_REPORT)),
    "ipw": ("sipp401k", dict(design="dml", outcome="net_tfa", treatment="e401", covariates=SIPP_X, report=SIPP_REPORT)),
    "psm": ("sipp401k", dict(design="dml", outcome="net_tfa", treatment="e401", covariates=SIPP_X, report=SIPP_REPORT)),
    "iv": ("card", dict(design="iv", outcome="lwage", endogenous=["educ"], instruments=["nearc4"], covariates=CARD_X, report=CARD_REPORT)),
    "rdd": ("senate", dict(design="rdd", outcome="vote", running="margin", cutoff=0.0, na_action="drop", report=SENATE_REPORT)),
    "surrogate": ("surrogate_sim", dict(design="surrogate", treatment="treatment", surrogates=["s1", "s2", "s3", "s4"],
                                        long_term_outcome="y", covariates=["x"], sample="sample")),
    "trimmed_match": ("paired_geos_sim", dict(design="trimmed_match", outcome="response", treatment="treated",
                                              unit="geo", pair="pair", spend="spend")),
    "bsts": ("california_prop99", dict(design="its", report=PROP99_REPORT, **PROP99)),
    "multi_cell": ("multi_cell_sim", dict(design="multi_cell", outcome="kpi", unit="geo", time="date",
                                          treatment="treated", cell="cell", spend="spend",
                                          options={"readout": "did"},
                                          report=dict(outcome_label="orders", outcome_kind="count", currency="USD"))),
    "holdback": ("multi_cell_sim", dict(design="holdback", outcome="kpi", unit="geo", time="date",
                                        treatment="treated", options={"readout": "did"},
                                        report=dict(outcome_label="orders", outcome_kind="count"))),
    "spillover": ("spillover_sim", dict(design="spillover", outcome="y", unit="geo", time="period", treatment="treated",
                                        coordinates=["lat", "lon"], spillover={"bands_km": [15, 30]},
                                        report=dict(outcome_label="weekly orders", outcome_kind="mean",
                                                    unit_label="orders", per="per geo-week"))),
    "exposure_mapping": ("spillover_sim", dict(design="spillover", outcome="y", unit="geo", time="period",
                                               treatment="treated",
                                               coordinates=["lat", "lon"], spillover={"bands_km": [15]})),
    "switchback": ("switchback_sim", dict(design="switchback", outcome="orders", unit="city", time="hour",
                                          treatment="policy", switchback={"period_length": 6, "carryover": 1},
                                          report=dict(outcome_label="orders", outcome_kind="count", unit_label="orders",
                                                      per="per city-hour"))),
    "price_test": ("price_test_sim", dict(design="price_test", outcome="units", treatment="price", unit="product",
                                          time="week", report=PRICE_REPORT)),
}


def case_spec(method: str):
    """The spec for ``method``'s example, running exactly that method."""
    from causal_kit import ExperimentSpec

    _, fields = CASES[method]
    return ExperimentSpec(name=f"contract-{method}", estimators=[method], **fields)
