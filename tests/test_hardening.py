"""Regression tests for malformed input: named errors instead of tracebacks or wrong numbers.

One test per case, grouped by what went wrong before: raw third-party tracebacks, silent wrong
answers, cohorts, YAML limits, misleading messages and suggestions. CLI cases live in
``tests/test_cli_hardening.py``; tied matches in ``tests/estimators/test_matching_ties.py``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit import ExperimentSpec
from causal_kit.errors import DataError, IdentificationError, RowsDroppedWarning, SpecError

MPDTA = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
PROP99 = dict(outcome="PacksPerCapita", treatment="treated", unit="State", time="Year")
SIPP_X = ["age", "inc", "educ", "fsize", "marr"]
PANEL_METHODS = [
    ("did", "did"), ("event_study", "event_study"), ("staggered_did", "staggered_did"),
    ("staggered_did", "sun_abraham"),
]
SC_METHODS = ["synthetic_control", "augmented_sc", "sdid"]


def fit(df: pd.DataFrame, method: str | None = None, **fields):
    """Run one method (or the design's default) quietly and return its single result."""
    fields.setdefault("name", "hardening")
    if method is not None:
        fields["estimators"] = [method]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = ck.estimate(df, ExperimentSpec(**fields))
    return found[0] if isinstance(found, list) else found


@pytest.fixture(scope="module")
def mpdta():
    return ck.datasets.load("mpdta")


@pytest.fixture(scope="module")
def prop99():
    return ck.datasets.load("california_prop99")


@pytest.fixture(scope="module")
def ab():
    return ck.datasets.load("ab_cuped_sim").head(600).copy()


@pytest.fixture(scope="module")
def sipp():
    return ck.datasets.load("sipp401k").sample(1500, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def card():
    return ck.datasets.load("card")


@pytest.fixture(scope="module")
def senate():
    return ck.datasets.load("senate").dropna(subset=["vote", "margin"]).reset_index(drop=True)


def small_history():
    from causal_kit.datasets import simulate_geo_panel

    return simulate_geo_panel(n_geos=12, n_days=60, seed=1)


PLAN_KW = dict(n_treated=3, duration=7, n_candidates=2, n_windows=4, candidate_estimators=("did",), progress=False)
PLAN_SPEC = dict(name="plan", design="did", outcome="kpi", unit="geo", time="date", treatment="treated")


# ============================================================== raw tracebacks: mixed ids
class TestMixedIds:
    """Unit ids mixing numbers and text are compared as text, consistently, in every panel method."""

    @staticmethod
    def mixed_mpdta(df):
        ids = df["countyreal"].astype(object)
        even = df["countyreal"] % 2 == 0
        return df.assign(countyreal=ids.where(~even, ids[even].astype(str)))

    @pytest.mark.parametrize(("design", "method"), PANEL_METHODS, ids=[m for _, m in PANEL_METHODS])
    def test_mixed_int_str_unit_ids_panel(self, mpdta, design, method):
        mixed = self.mixed_mpdta(mpdta)
        as_text = mpdta.assign(countyreal=mpdta["countyreal"].astype(str))
        got = fit(mixed, method, design=design, **MPDTA)
        ref = fit(as_text, method, design=design, **MPDTA)
        assert got.estimate == pytest.approx(ref.estimate, rel=1e-10)
        assert got.se == pytest.approx(ref.se, rel=1e-8)
        assert mixed["countyreal"].map(type).nunique() == 2  # the caller's frame is untouched

    @pytest.mark.parametrize("method", SC_METHODS)
    def test_mixed_int_str_unit_ids_synthetic(self, prop99, method):
        codes = {"Alabama": 1, "Arkansas": 2, "Colorado": 3}
        mixed = prop99.assign(State=prop99["State"].astype(object).map(lambda s: codes.get(s, s)))
        as_text = mixed.assign(State=mixed["State"].astype(str))
        got = fit(mixed, method, design="synthetic_control", **PROP99)
        ref = fit(as_text, method, design="synthetic_control", **PROP99)
        assert got.estimate == pytest.approx(ref.estimate, rel=1e-8)

    def test_mixed_int_str_unit_ids_design_plan(self):
        history = small_history()
        first = history["geo"].iloc[0]
        mixed = history.assign(geo=history["geo"].astype(object).where(history["geo"] != first, 5))
        design = ck.design.plan(mixed, ExperimentSpec(**PLAN_SPEC), must_treat=[5], **PLAN_KW)
        treated = design.assignment.loc[design.assignment["cell"] == "treatment", "unit"].tolist()
        assert "5" in treated and np.isfinite(design.mde)

    def test_mixed_types_in_time_are_refused(self, mpdta):
        years = mpdta["year"].astype(object).where(mpdta["year"] != 2004, "2004")
        with pytest.raises(DataError, match=r"'year' \(spec.time\) mixes value types \(int, str\)"):
            fit(mpdta.assign(year=years), design="did", **MPDTA)


# ============================================================== raw tracebacks: huge values
class TestHugeValues:
    """Values whose squares overflow float64 are refused with a named error that suggests rescaling."""

    MATCH = r"too large to compute with .*overflow float64\. Rescale"

    def test_ab_one_1e300_cell(self, ab):
        df = ab.copy()
        df.loc[3, "y"] = 1e300
        with pytest.raises(DataError, match=r"'y' \(spec.outcome\) has 1 values " + self.MATCH):
            fit(df, design="ab", outcome="y", treatment="treat")

    def test_ab_outcome_scaled_by_1e300(self, ab):
        with pytest.raises(DataError, match=self.MATCH):
            fit(ab.assign(y=ab["y"] * 1e300), design="ab", outcome="y", treatment="treat")

    def test_iv_anderson_rubin_outcome_scaled_by_1e300(self, card):
        with pytest.raises(DataError, match=r"'lwage' \(spec.outcome\).*" + self.MATCH):
            fit(card.assign(lwage=card["lwage"] * 1e300), design="iv", outcome="lwage", endogenous=["educ"],
                instruments=["nearc4"])

    @pytest.mark.parametrize(("design", "method"), PANEL_METHODS, ids=[m for _, m in PANEL_METHODS])
    def test_panel_outcome_scaled_by_1e300(self, mpdta, design, method):
        with pytest.raises(DataError, match=r"'lemp' \(spec.outcome\).*" + self.MATCH):
            fit(mpdta.assign(lemp=mpdta["lemp"] * 1e300), method, design=design, **MPDTA)

    def test_augmented_sc_single_1e300_donor_cell(self, prop99):
        df = prop99.copy()
        df.loc[(df.State == "Alabama") & (df.Year == 1980), "PacksPerCapita"] = 1e300
        with pytest.raises(DataError, match=r"has 1 values " + self.MATCH):
            fit(df, "augmented_sc", design="synthetic_control", **PROP99)

    @pytest.mark.parametrize("method", ["dml", "ipw", "psm"])
    def test_selection_on_observables_outcome_scaled_by_1e300(self, sipp, method):
        with pytest.raises(DataError, match=r"'net_tfa' \(spec.outcome\).*" + self.MATCH):
            fit(sipp.assign(net_tfa=sipp["net_tfa"] * 1e300 + 1.0), method, design="dml", outcome="net_tfa",
                treatment="e401", covariates=SIPP_X)

    def test_covariate_1e300_is_refused(self, ab):
        df = ab.assign(x=np.arange(len(ab), dtype=float))
        df.loc[0, "x"] = 1e300
        with pytest.raises(DataError, match=r"'x' \(spec.covariates\[0\]\).*" + self.MATCH):
            fit(df, design="ab", outcome="y", treatment="treat", covariates=["x"])

    def test_design_plan_1e300_kpi(self):
        history = small_history()
        history.loc[3, "kpi"] = 1e300
        with pytest.raises(DataError, match=r"'kpi' \(spec.outcome\).*" + self.MATCH):
            ck.design.plan(history, ExperimentSpec(**PLAN_SPEC), **PLAN_KW)

    def test_large_but_safe_values_still_estimate(self, ab):
        scaled = fit(ab.assign(y=ab["y"] * 1e100), design="ab", outcome="y", treatment="treat")
        base = fit(ab, design="ab", outcome="y", treatment="treat")
        assert scaled.estimate == pytest.approx(base.estimate * 1e100, rel=1e-9)
        assert np.isfinite(scaled.se)


# ============================================================== raw tracebacks: bad columns and options
class TestBadColumns:
    def test_ab_inf_in_covariate(self, ab):
        df = ab.assign(x=ab["pre"])
        df.loc[2, "x"] = np.inf
        with pytest.raises(DataError, match=r"'x' \(spec.covariates\[0\]\) has 1 infinite values \(row 2\)"):
            fit(df, design="ab", outcome="y", treatment="treat", covariates=["x"])

    def test_rdd_inf_in_covariate(self, senate):
        df = senate.assign(pop=senate["population"].astype(float))
        df.loc[3, "pop"] = np.inf
        with pytest.raises(DataError, match=r"'pop' \(spec.covariates\[0\]\) has 1 infinite values"):
            fit(df, design="rdd", outcome="vote", running="margin", cutoff=0.0, covariates=["pop"],
                na_action="drop")

    @pytest.mark.parametrize("case", ["ab", "rdd", "staggered_did"])
    def test_string_covariate(self, case, ab, senate, mpdta):
        frames = {
            "ab": (ab, dict(design="ab", outcome="y", treatment="treat")),
            "rdd": (senate, dict(design="rdd", outcome="vote", running="margin", cutoff=0.0)),
            "staggered_did": (mpdta, dict(design="staggered_did", **MPDTA)),
        }
        df, fields = frames[case]
        text = np.where(np.arange(len(df)) % 2 == 0, "low", "high")
        with pytest.raises(DataError, match=r"'s' \(spec.covariates\[0\]\) must be numeric.*e\.g\. 'low'"):
            fit(df.assign(s=text), covariates=["s"], **fields)

    def test_ab_negative_weights(self, ab):
        w = np.ones(len(ab))
        w[5] = -1.0
        with pytest.raises(DataError, match=r"'w' \(spec.weights\) has 1 negative weights \(row 5\)"):
            fit(ab.assign(w=w), design="ab", outcome="y", treatment="treat", weights="w")

    def test_all_zero_weights(self, ab):
        with pytest.raises(DataError, match=r"'w' \(spec.weights\) is zero in every row"):
            fit(ab.assign(w=0.0), design="ab", outcome="y", treatment="treat", weights="w")

    def test_staggered_constant_covariate(self, mpdta):
        with pytest.raises(DataError, match=r"'k' \(spec.covariates\[0\]\) is constant: all 2500 .* equal 3\.0"):
            fit(mpdta.assign(k=3.0), design="staggered_did", covariates=["k"], **MPDTA)

    def test_weak_iv_instrument_identical_to_endogenous(self, card):
        with pytest.raises(DataError, match=r"'educ' \(spec.endogenous\) is an exact linear function of the instruments"):
            fit(card.assign(z=card["educ"]), design="iv", outcome="lwage", endogenous=["educ"], instruments=["z"])

    def test_psm_caliper_not_a_number(self, sipp):
        spec = dict(design="dml", outcome="net_tfa", treatment="e401", covariates=SIPP_X,
                    estimators=[{"method": "psm", "options": {"caliper": "wide"}}])
        with pytest.raises(SpecError, match=r"'caliper' parameter of PropensityMatching .* Got 'wide'"):
            fit(sipp, **spec)

    def test_dml_two_rows(self, sipp):
        two = sipp.iloc[:2].assign(e401=[0, 1], marr=[0, 1], fsize=[1, 2], age=[30, 40], inc=[1.0, 2.0],
                                   educ=[10, 12])
        with pytest.raises(DataError, match=r"DML has 2 rows for 5 features .* at least 14 rows"):
            fit(two, design="dml", outcome="net_tfa", treatment="e401", covariates=SIPP_X)

    def test_dml_inf_in_continuous_treatment(self, sipp):
        df = sipp.assign(e401=sipp["e401"] * 3.3 + sipp["age"] / 100)
        df.loc[0, "e401"] = np.inf
        with pytest.raises(DataError, match=r"'e401' \(spec.treatment\) has 1 infinite values"):
            fit(df, design="dml", outcome="net_tfa", treatment="e401", covariates=SIPP_X)

    def test_seed_too_large_for_learners(self):
        with pytest.raises(SpecError, match=r"spec.seed: Input should be less than or equal to 4294967295"):
            ExperimentSpec(name="s", design="ab", outcome="y", treatment="t", seed=2**80)

    def test_rdd_eight_rows_thirteen_covariates(self):
        rng = np.random.default_rng(0)
        df = pd.DataFrame(rng.normal(size=(8, 13)), columns=[f"c{i}" for i in range(13)])
        df["x"] = np.linspace(-1, 1, 8)
        df["y"] = rng.normal(size=8)
        with pytest.raises(DataError, match=r"RDD has 8 rows but 17 parameters"):
            fit(df, design="rdd", outcome="y", running="x", cutoff=0.05, covariates=[f"c{i}" for i in range(13)])

    def test_rdd_collinear_covariates_wider_than_rows_do_not_index_error(self):
        from causal_kit.estimators.rdd import _drop_collinear

        z = np.random.default_rng(1).normal(size=(4, 9))
        kept = _drop_collinear(z)
        assert kept.shape == (4, 4)


# ============================================================== silent wrong answers: constant outcomes
class TestConstantOutcome:
    """A constant outcome is a named error, never a 'pass' with se 0 or a tiny p-value."""

    MATCH = r"is constant: all \d+ non-missing rows equal 5\.0; an effect cannot be estimated"

    def test_ab(self, ab):
        with pytest.raises(DataError, match=r"'y' \(spec.outcome\) " + self.MATCH):
            fit(ab.assign(y=5.0), design="ab", outcome="y", treatment="treat")

    @pytest.mark.parametrize(("design", "method"), PANEL_METHODS, ids=[m for _, m in PANEL_METHODS])
    def test_panel(self, mpdta, design, method):
        with pytest.raises(DataError, match=r"'lemp' \(spec.outcome\) " + self.MATCH):
            fit(mpdta.assign(lemp=5.0), method, design=design, **MPDTA)

    @pytest.mark.parametrize("method", SC_METHODS)
    def test_synthetic(self, prop99, method):
        with pytest.raises(DataError, match=self.MATCH):
            fit(prop99.assign(PacksPerCapita=5.0), method, design="synthetic_control", **PROP99)

    @pytest.mark.parametrize("method", ["dml", "ipw", "psm"])
    def test_selection_on_observables(self, sipp, method):
        with pytest.raises(DataError, match=self.MATCH):
            fit(sipp.assign(net_tfa=5.0), method, design="dml", outcome="net_tfa", treatment="e401", covariates=SIPP_X)

    def test_iv_with_covariates(self, card):
        with pytest.raises(DataError, match=self.MATCH):
            fit(card.assign(lwage=5.0), design="iv", outcome="lwage", endogenous=["educ"], instruments=["nearc4"],
                covariates=["exper", "black"])

    def test_rdd_names_the_outcome_not_the_running_variable(self, senate):
        with pytest.raises(DataError, match=r"'vote' \(spec.outcome\) " + self.MATCH):
            fit(senate.assign(vote=5.0), design="rdd", outcome="vote", running="margin", cutoff=0.0)

    def test_rdd_flat_on_each_side_names_the_outcome(self, senate):
        step = np.where(senate["margin"] > 0, 60.0, 40.0)
        with pytest.raises(DataError, match=r"outcome is constant on the left and right side of the cutoff"):
            fit(senate.assign(vote=step), design="rdd", outcome="vote", running="margin", cutoff=0.0)

    @pytest.mark.parametrize("method", ["did", "synthetic_control", "augmented_sc", "sdid"])
    def test_constant_control_units(self, prop99, method):
        flat = prop99.assign(PacksPerCapita=prop99["PacksPerCapita"].where(prop99["State"] == "California", 5.0))
        with pytest.raises(DataError, match=r"constant \(5\.0\) across all 1178 rows of the 38 never-treated"):
            fit(flat, method, design="sdid", **PROP99)

    def test_design_plan_constant_kpi(self):
        history = small_history().assign(kpi=5.0)
        with pytest.raises(DataError, match=r"'kpi' \(spec.outcome\) is constant"):
            ck.design.plan(history, ExperimentSpec(**PLAN_SPEC), **PLAN_KW)


# ============================================================== silent wrong answers: rows vs parameters, costs
class TestTooFewRowsAndCosts:
    def test_dml_eight_rows_many_features(self):
        rng = np.random.default_rng(2)
        df = pd.DataFrame(rng.normal(size=(8, 21)), columns=[f"x{i}" for i in range(21)])
        df["d"], df["y"] = [0, 1] * 4, rng.normal(size=8)
        with pytest.raises(DataError, match=r"DML has 8 rows for 21 features"):
            fit(df, design="dml", outcome="y", treatment="d", covariates=[f"x{i}" for i in range(21)])

    def test_design_plan_inf_cost(self):
        history = small_history()
        history.loc[3, "cost"] = np.inf
        with pytest.raises(DataError, match=r"'cost' \(plan.cost_column\) has 1 infinite values"):
            ck.design.plan(history, ExperimentSpec(**PLAN_SPEC), cost_column="cost", **PLAN_KW)

    def test_report_cost_column_inf(self, prop99):
        df = prop99.assign(spend=1.0)
        df.loc[0, "spend"] = np.inf
        with pytest.raises(DataError, match=r"'spend' \(report.cost_column\) has 1 infinite values"):
            fit(df, design="did", report={"cost_column": "spend"}, **PROP99)


# ============================================================== cohorts
class TestCohorts:
    def test_cohort_between_periods_is_refused(self, mpdta):
        g = mpdta["first.treat"].astype(float).replace(2006, 2005.5)
        with pytest.raises(DataError, match=r"'first.treat' \(spec.cohort\) gives 40 unit\(s\) .* not a period .*2005\.5"):
            fit(mpdta.assign(**{"first.treat": g}), design="staggered_did", **MPDTA)

    def test_cohort_inf_is_refused(self, mpdta):
        g = mpdta["first.treat"].astype(float).replace(2006, np.inf)
        with pytest.raises(DataError, match=r"not a period of 'year' \(spec.time\) \(e\.g\. \[inf\]"):
            fit(mpdta.assign(**{"first.treat": g}), design="staggered_did", **MPDTA)

    def test_cohort_negative_is_refused(self, mpdta):
        g = mpdta["first.treat"].replace(2006, -2004)
        with pytest.raises(DataError, match=r"not a period .*-2004"):
            fit(mpdta.assign(**{"first.treat": g}), design="staggered_did", **MPDTA)

    def test_cohort_after_the_data_is_not_yet_treated(self, mpdta):
        base = fit(mpdta.assign(**{"first.treat": mpdta["first.treat"].replace(2004, 0)}), design="staggered_did",
                   **MPDTA)
        later = fit(mpdta.assign(**{"first.treat": mpdta["first.treat"].replace(2004, 2010)}), design="staggered_did",
                    **MPDTA)
        assert later.estimate == pytest.approx(base.estimate, rel=1e-10)

    def test_string_time_and_cohort_zero_is_never_treated(self, mpdta):
        as_text = mpdta.assign(year=mpdta["year"].astype(str), **{"first.treat": mpdta["first.treat"].astype(str)})
        ref = fit(mpdta, design="staggered_did", **MPDTA)
        got = fit(as_text, design="staggered_did", **MPDTA)
        assert got.estimate == pytest.approx(ref.estimate, rel=1e-10)

    def test_nan_cohort_means_never_treated(self, mpdta):
        ref = fit(mpdta, design="staggered_did", **MPDTA)
        nan = mpdta.assign(**{"first.treat": mpdta["first.treat"].astype(float).replace(0, np.nan)})
        got = fit(nan, design="staggered_did", **MPDTA)
        assert got.estimate == pytest.approx(ref.estimate, rel=1e-10)
        assert got.n_dropped == 0

    def test_nan_cohort_with_na_action_drop_keeps_never_treated(self, mpdta):
        ref = fit(mpdta, design="staggered_did", **MPDTA)
        nan = mpdta.assign(**{"first.treat": mpdta["first.treat"].astype(float).replace(0, np.nan)})
        got = fit(nan, design="staggered_did", na_action="drop", **MPDTA)
        assert got.estimate == pytest.approx(ref.estimate, rel=1e-10)
        assert got.n_dropped == 0 and got.n_obs == len(mpdta)

    def test_cohort_and_time_of_different_types(self):
        from causal_kit._panel import build_panel

        df = pd.DataFrame({"u": [1, 1, 2, 2], "t": ["a", "b", "a", "b"], "y": [1.0, 2, 3, 4], "g": [2.0, 2.0, 0.0, 0.0]})
        spec = ExperimentSpec(name="p", design="staggered_did", outcome="y", unit="u", time="t", cohort="g")
        with pytest.raises(DataError, match=r"'g' \(spec.cohort\) .* cannot be compared with column 't'"):
            build_panel(df, spec)

    def test_sun_abraham_reports_rows_dropped_without_never_treated(self, mpdta):
        treated_only = mpdta[mpdta["first.treat"] != 0]
        with pytest.warns(RowsDroppedWarning, match=r"last-treated cohort \(2007\) is the control group"):
            res = ck.estimate(treated_only, ExperimentSpec(name="sa", design="staggered_did",
                                                            estimators=["sun_abraham"], **MPDTA))[0]
        assert res.n_obs + res.n_dropped == len(treated_only)
        assert res.dropped_reasons == {"periods from the control cohort's adoption 2007 on": res.n_dropped}


# ============================================================== YAML
BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *[f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")],
        "name: bomb", "design: ab", "outcome: y", "treatment: t", "options: {junk: *i}",
    ]
)


class TestYaml:
    def test_alias_bomb_fails_fast(self):
        assert len(BOMB) < 700
        start = time.perf_counter()
        with pytest.raises(SpecError, match=r"expands to more than 10,000 values once its YAML aliases"):
            ExperimentSpec.from_yaml(BOMB)
        assert time.perf_counter() - start < 1.0

    def test_small_aliases_still_load(self):
        text = "name: a\ndesign: ab\noutcome: y\ntreatment: t\noptions: &o {adjustment: cuped}\n"
        assert ExperimentSpec.from_yaml(text).options == {"adjustment": "cuped"}

    def test_duplicate_key_is_refused(self):
        with pytest.raises(SpecError, match=r"repeats the key 'outcome' in one mapping \(near line 1\)"):
            ExperimentSpec.from_yaml("name: a\ndesign: ab\noutcome: y\ntreatment: t\noutcome: z\n")

    def test_duplicate_nested_key_is_refused(self):
        with pytest.raises(SpecError, match=r"repeats the key 'title'"):
            ExperimentSpec.from_yaml("name: a\ndesign: ab\noutcome: y\ntreatment: t\nreport: {title: a, title: b}\n")

    def test_spec_file_not_utf8(self, tmp_path):
        path = tmp_path / "spec.yaml"
        path.write_bytes("name: caf\u00e9\ndesign: ab\noutcome: y\ntreatment: t\n".encode("latin-1"))
        with pytest.raises(SpecError, match=r"is not UTF-8 text .* save it as UTF-8"):
            ExperimentSpec.from_yaml(path)


# ============================================================== suggestions
class TestSuggestions:
    def test_spec_field_typo(self):
        with pytest.raises(SpecError, match=r"spec.treatmnt: is not a spec field \(did you mean 'treatment'\?\)"):
            ExperimentSpec(name="a", design="ab", outcome="y", treatmnt="t")

    def test_nested_field_typo(self):
        with pytest.raises(SpecError, match=r"spec.report.titel: .*did you mean 'title'"):
            ExperimentSpec(name="a", design="ab", outcome="y", treatment="t", report={"titel": "x"})

    def test_column_typo(self, ab):
        df = ab.rename(columns={"treat": "treated"})
        with pytest.raises(DataError, match=r"column 'treatd' \(spec.treatment\) is not in the data.*Did you mean 'treated'"):
            fit(df, design="ab", outcome="y", treatment="treatd")


def test_identification_errors_stay_named(mpdta):
    """All units treated from the first period: a named identification error, not a traceback."""
    always = mpdta.assign(**{"first.treat": 2003})
    with pytest.raises((IdentificationError, DataError), match=r"first period|never-treated|treated"):
        fit(always, design="staggered_did", **MPDTA)


# ============================================================== found by the fuzz suite
class TestFuzzFindings:
    def test_single_cluster_is_refused(self, ab):
        with pytest.raises(DataError, match=r"'c' \(spec.cluster\) has 1 distinct value\(s\)"):
            fit(ab.assign(c=1), design="ab", outcome="y", treatment="treat", cluster="c")

    def test_no_rows_left_after_drop(self, mpdta):
        one = mpdta.head(1).assign(lemp=np.nan)
        with pytest.raises(DataError, match=r"no rows are left after dropping the 1 rows with missing values"):
            fit(one, design="staggered_did", na_action="drop", **MPDTA)

    def test_design_plan_mixed_time_types(self):
        history = small_history()
        dates = history["date"].astype(object)
        dates[::2] = dates[::2].astype(str)
        with pytest.raises(DataError, match=r"'date' \(spec.time\) mixes value types"):
            ck.design.plan(history.assign(date=dates), ExperimentSpec(**PLAN_SPEC), **PLAN_KW)

    def test_ab_large_values_keep_welch_and_lift_finite(self, ab):
        res = fit(ab.assign(y=ab["y"] * 1e120), design="ab", outcome="y", treatment="treat")
        base = fit(ab, design="ab", outcome="y", treatment="treat")
        assert res.p_value == pytest.approx(base.p_value, rel=1e-6)
        assert res.relative_lift == pytest.approx(base.relative_lift, rel=1e-9)


def test_design_plan_prints_stages_when_not_a_terminal(capsys):
    ck.design.plan(small_history(), ExperimentSpec(**PLAN_SPEC), **{**PLAN_KW, "progress": None})
    err = capsys.readouterr().err  # captured: not a terminal
    assert "design.plan [" in err and "12 geos x 60 periods" in err and "simulations done" in err


def test_design_plan_progress_false_is_quiet(capsys):
    ck.design.plan(small_history(), ExperimentSpec(**PLAN_SPEC), **PLAN_KW)
    assert "design.plan" not in capsys.readouterr().err


def test_json_spec_duplicate_key_is_refused():
    with pytest.raises(SpecError, match=r"repeats the key 'design' in one object"):
        ExperimentSpec.from_json('{"name": "a", "design": "ab", "design": "did", "outcome": "y", "treatment": "t"}')


def test_estimator_name_typo_gets_a_suggestion(ab):
    with pytest.raises(SpecError, match=r"unknown estimator 'sdd' \(did you mean 'sdid'\?\)"):
        fit(ab, "sdd", design="ab", outcome="y", treatment="treat")


def test_cost_of_string_cohorts_skips_never_treated(mpdta):
    from causal_kit.api import treated_cost

    spec = ExperimentSpec(name="c", design="staggered_did", report={"cost_column": "spend"}, **MPDTA)
    numeric = mpdta.assign(spend=1.0)
    as_text = numeric.assign(year=mpdta["year"].astype(str), **{"first.treat": mpdta["first.treat"].astype(str)})
    expected = float(((mpdta["first.treat"] > 0) & (mpdta["year"] >= mpdta["first.treat"])).sum())
    assert treated_cost(numeric, spec) == expected
    assert treated_cost(as_text, spec) == expected


def test_non_finite_standard_error_never_passes(ab):
    from causal_kit.api import _finite_inference

    res = fit(ab, design="ab", outcome="y", treatment="treat")
    assert res.worst_status != "fail"
    broken = _finite_inference(res.with_updates(se=float("inf")))
    assert broken.worst_status == "fail"
    assert broken.diagnostic("standard_error").message.startswith("the standard error is inf")
    assert _finite_inference(res) is res


def test_outcome_too_small_to_square_is_refused(card):
    with pytest.raises(DataError, match=r"'lwage' \(spec.outcome\) holds only values too small .* underflow"):
        fit(card.assign(lwage=card["lwage"] * 1e-300), design="iv", outcome="lwage", endogenous=["educ"],
            instruments=["nearc4"])


@pytest.mark.parametrize("method", ["did", "synthetic_control", "augmented_sc", "sdid"])
def test_controls_moving_in_lockstep_are_refused(method):
    """Identical control paths made SDID report se 5e-32, p = 0 and 'pass' (rounding noise)."""
    rng = np.random.default_rng(0)
    u, t = np.repeat(np.arange(10), 20), np.tile(np.arange(20), 10)
    y = (np.sin(np.arange(20)) * 3 + 10)[t] + 2.0 * u  # controls differ only by a constant
    y[u == 0] += rng.normal(scale=0.5, size=20)
    df = pd.DataFrame({"u": u, "t": t, "y": y, "d": ((u == 0) & (t >= 15)).astype(int)})
    with pytest.raises(DataError, match=r"'y' \(spec.outcome\) moves in lockstep across the 9 never-treated"):
        fit(df, method, design="sdid", outcome="y", unit="u", time="t", treatment="d")


def _its_panel() -> tuple[pd.DataFrame, dict]:
    panel = ck.datasets.simulate_geo_panel(n_geos=4, n_days=48, treated=1, effect=0.1, seed=1)
    return panel, dict(design="its", outcome="kpi", unit="geo", time="date", treatment="treated")


def test_bsts_constant_treated_pre_period_is_refused():
    """A flat treated series (e.g. a boolean KPI) reached statsmodels: "'beta.x1' is not in list"."""
    panel, fields = _its_panel()
    panel.loc[panel["treated"].groupby(panel["geo"]).transform("max") == 1, "kpi"] = 5.0
    with pytest.raises(DataError, match=r"treated series of 'kpi' \(spec.outcome\) is constant \(5.0\) over all 38"):
        fit(panel, "bsts", **fields)


def test_bsts_constant_controls_are_refused():
    """Flat control series gave a NaN regressor: statsmodels' "exog contains inf or nans"."""
    panel, fields = _its_panel()
    panel.loc[panel["treated"].groupby(panel["geo"]).transform("max") == 0, "kpi"] = 5.0
    with pytest.raises(IdentificationError, match=r"all 3 control series of 'kpi' .* constant over the 38 pre-period"):
        fit(panel, "bsts", **fields)


def _surrogate_sim() -> tuple[pd.DataFrame, dict]:
    df = ck.datasets.simulate_surrogate_experiment(n_experiment=120, n_observational=160, n_surrogates=2, seed=1)
    return df, dict(design="surrogate", treatment="treatment", surrogates=["s1", "s2"], long_term_outcome="y",
                    sample="sample")


def test_surrogate_infinite_outcome_in_experiment_is_refused():
    """An infinite long-term outcome in the experiment reached a singular validation contrast."""
    df, fields = _surrogate_sim()
    df.loc[0, "y"] = np.inf
    with pytest.raises(DataError, match=r"'y' \(spec.long_term_outcome in the experiment sample\) has 1 infinite"):
        fit(df, "surrogate", **fields)


def test_surrogate_outcome_too_small_to_square_is_refused():
    """A long-term outcome rescaled by 1e-300 divided by a zero sum of squares (ZeroDivisionError)."""
    df, fields = _surrogate_sim()
    with pytest.raises(DataError, match=r"'y' \(spec.long_term_outcome in the observational sample\) holds only"):
        fit(df.assign(y=df["y"] * 1e-300), "surrogate", **fields)


def test_surrogate_constant_observational_outcome_is_refused():
    df, fields = _surrogate_sim()
    obs = df["sample"] == "observational"
    with pytest.raises(DataError, match=r"'y' \(spec.long_term_outcome\) is constant \(5.0\) across all 160 rows"):
        fit(df.assign(y=df["y"].where(~obs, 5.0)), "surrogate", **fields)


def test_surrogate_validation_cohort_with_one_arm_is_refused():
    """Long-term outcomes on a few experiment rows of one arm made the validation contrast singular."""
    df, fields = _surrogate_sim()
    rows = df.index[(df["sample"] == "experiment") & (df["treatment"] == 1)][:3]
    df.loc[rows, "y"] = 1.0
    with pytest.raises(DataError, match=r"observed on 3 experiment rows \(3 treated, 0 control\); a validation"):
        fit(df, "surrogate", **fields)


def test_bsts_duplicate_unit_time_rows_are_refused():
    """A repeated geo-day row reached pandas' pivot: "Index contains duplicate entries, cannot reshape"."""
    panel, fields = _its_panel()
    broken = pd.concat([panel, panel.iloc[[7]]], ignore_index=True)
    with pytest.raises(DataError, match=r"'geo' \(spec.unit\) and 'date' \(spec.time\) have 2 rows that share"):
        fit(broken, "bsts", **fields)
