"""Property-based fuzzing of spec x data for every registered estimator and ``design.plan``.

Each example starts from a small valid table for the method and applies a few random breakages
(missing, infinite or huge cells, rescaled or constant columns, numbers as text, mixed id types,
too few rows, duplicated rows, odd cohorts, negative weights, a misspelt column) and random spec
settings. The properties:

* the only exceptions allowed are ``CausalKitError`` subclasses (named, user-facing errors);
* a result with a non-finite standard error never reports ``pass`` as its worst diagnostic;
* a constant outcome never gives a p-value below alpha;
* a design's cost is finite whenever it is reported.

The fast tier runs a few examples per method; the slow tier runs at least 2,000 in all.
Examples are derandomized (the same examples every run) so a failure reproduces.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import causal_kit as ck
from causal_kit.errors import CausalKitError
from causal_kit.estimators import ESTIMATORS

FAST_EXAMPLES = 6
SLOW_EXAMPLES = 150  # x 20 targets (19 estimators and design.plan) = 3,000 examples


def _settings(n: int) -> settings:
    return settings(
        max_examples=n, deadline=None, derandomize=True, database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# ---------------------------------------------------------------------- base tables (small, valid)
def _ab(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    n = 120
    t = np.tile([0, 1], n // 2)
    pre = rng.normal(10, 2, n)
    df = pd.DataFrame({"t": t, "pre": pre, "x": rng.normal(size=n), "w": rng.uniform(0.5, 2, n),
                       "c": np.repeat(np.arange(20), n // 20), "y": pre + 0.3 * t + rng.normal(size=n)})
    return df, dict(design="ab", outcome="y", treatment="t", pre_covariate="pre")


def _staggered(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    units, periods = 12, 6
    g = np.array([3] * 4 + [4] * 4 + [0] * 4)
    u = np.repeat(np.arange(units), periods)
    tt = np.tile(np.arange(1, periods + 1), units)
    gg = g[u]
    d = ((gg > 0) & (tt >= gg)).astype(int)
    x = rng.normal(size=units)[u]
    y = 0.5 * u / units + 0.1 * tt + 0.4 * d + rng.normal(scale=0.3, size=len(u))
    df = pd.DataFrame({"u": u, "t": tt, "g": gg, "d": d, "x": x, "y": y})
    return df, dict(outcome="y", unit="u", time="t", cohort="g")


def _synthetic(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    units, periods = 9, 12
    u = np.repeat(np.arange(units), periods)
    tt = np.tile(np.arange(periods), units)
    d = ((u == 0) & (tt >= 9)).astype(int)
    base = rng.normal(size=units)[u] + np.sin(tt / 2) * rng.uniform(0.5, 1.5, units)[u]
    df = pd.DataFrame({"u": u, "t": tt, "d": d, "y": 10 + base + 0.5 * d + rng.normal(scale=0.2, size=len(u))})
    return df, dict(outcome="y", unit="u", time="t", treatment="d")


def _observational(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    n = 160
    X = rng.normal(size=(n, 3))
    e = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    y = X @ np.array([1.0, 0.5, -0.5]) + e + rng.normal(size=n)
    df = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "x2": X[:, 2], "e": e, "y": y})
    return df, dict(design="dml", outcome="y", treatment="e", covariates=["x0", "x1", "x2"])


def _iv(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    n = 200
    z, v, w = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    x = 0.8 * z + v + 0.3 * w
    df = pd.DataFrame({"z": z, "x": x, "w": w, "y": 0.5 * x + 0.5 * v + w + rng.normal(size=n)})
    return df, dict(design="iv", outcome="y", endogenous=["x"], instruments=["z"], covariates=["w"])


def _rdd(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    n = 240
    r = rng.uniform(-1, 1, n)
    z = rng.normal(size=n)
    df = pd.DataFrame({"r": r, "z": z, "y": r + 0.5 * (r >= 0) + 0.2 * z + rng.normal(scale=0.3, size=n)})
    return df, dict(design="rdd", outcome="y", running="r", cutoff=0.0)


def _its(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    from causal_kit.datasets import simulate_geo_panel

    df = simulate_geo_panel(n_geos=4, n_days=48, treated=1, effect=0.1, seed=int(rng.integers(0, 1000)))
    return df, dict(design="its", outcome="kpi", unit="geo", time="date", treatment="treated")


def _switching(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    from causal_kit.datasets import simulate_switching_panel

    df = simulate_switching_panel(n_units=40, n_periods=5, seed=int(rng.integers(0, 1000)))
    return df, dict(outcome="y", unit="unit", time="period", treatment="promo")


def _surrogate(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    from causal_kit.datasets import simulate_surrogate_experiment

    df = simulate_surrogate_experiment(n_experiment=120, n_observational=160, n_surrogates=2,
                                       surrogate_effect=0.3, seed=int(rng.integers(0, 1000)))
    return df, dict(design="surrogate", treatment="treatment", surrogates=["s1", "s2"], long_term_outcome="y",
                    sample="sample")


def _paired(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    from causal_kit.datasets import simulate_paired_geos

    df = simulate_paired_geos(n_pairs=16, iroas=2.0, seed=int(rng.integers(0, 1000)))
    return df, dict(design="trimmed_match", outcome="response", spend="spend", unit="geo", pair="pair",
                    treatment="treated")


def _multi_cell(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    from causal_kit.datasets import simulate_multi_cell

    df = simulate_multi_cell(n_geos=12, n_days=40, n_per_cell=3, test_days=10, seed=int(rng.integers(0, 1000)))
    return df, dict(design="multi_cell", outcome="kpi", unit="geo", time="date", treatment="treated", cell="cell")


def _holdback(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    from causal_kit.datasets import simulate_geo_panel

    df = simulate_geo_panel(n_geos=10, n_days=40, treated=3, effect=-0.05, seed=int(rng.integers(0, 1000)))
    return df, dict(design="holdback", outcome="kpi", unit="geo", time="date", treatment="treated")


def _spillover(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    units, periods = 30, 6
    lat, lon = 40 + rng.uniform(0, 2, units), -95 + rng.uniform(0, 2, units)
    u = np.repeat(np.arange(units), periods)
    tt = np.tile(np.arange(periods), units)
    d = ((u < 6) & (tt >= 3)).astype(int)
    y = rng.normal(size=units)[u] + 0.1 * tt + d + rng.normal(scale=0.3, size=len(u))
    df = pd.DataFrame({"u": u, "t": tt, "lat": lat[u], "lon": lon[u], "d": d, "y": y})
    return df, dict(design="spillover", outcome="y", unit="u", time="t", treatment="d", coordinates=["lat", "lon"])


def _spillover_cross_section(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    df, fields = _spillover(rng)
    last = df[df["t"] == df["t"].max()].drop(columns="t")
    return last, {k: v for k, v in fields.items() if k != "time"}


def _switchback(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    from causal_kit.datasets import simulate_switchback

    df = simulate_switchback(n_units=4, n_periods=8, period_length=3, carryover=1, seed=int(rng.integers(0, 1000)))
    return df.drop(columns="in_force"), dict(design="switchback", outcome="orders", unit="city", time="hour",
                                             treatment="policy", switchback={"period_length": 3, "carryover": 1})


def _price(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    from causal_kit.datasets import simulate_price_test

    df = simulate_price_test(n_products=12, n_periods=6, design="switch", seed=int(rng.integers(0, 1000)))
    return df[["product", "week", "price", "units"]], dict(design="price_test", outcome="units", treatment="price",
                                                           unit="product", time="week")


#: method -> (base builder, design for the spec or None when the builder sets it, fast options)
TARGETS: dict[str, tuple[Any, str | None, dict[str, Any]]] = {
    "ab": (_ab, None, {}),
    "did": (_staggered, "did", {"n_boot": 199}),
    "event_study": (_staggered, "event_study", {}),
    "staggered_did": (_staggered, "staggered_did", {"n_boot": 99}),
    "sun_abraham": (_staggered, "staggered_did", {}),
    "synthetic_control": (_synthetic, "synthetic_control", {"n_reps": 20}),
    "augmented_sc": (_synthetic, "synthetic_control", {"n_reps": 20, "n_lambda": 5}),
    "sdid": (_synthetic, "sdid", {"n_reps": 20}),
    "dml": (_observational, None, {"learner_y": "linear", "learner_d": "linear", "n_folds": 2, "refute": False}),
    "ipw": (_observational, None, {}),
    "psm": (_observational, None, {}),
    "iv": (_iv, None, {}),
    "rdd": (_rdd, None, {"diagnostics": False}),
    "did2s": (_staggered, "staggered_did", {}),
    "did_imputation": (_staggered, "staggered_did", {}),
    "did_multiplegt": (_switching, "staggered_did", {"effects": 2}),
    "bsts": (_its, None, {"n_paths": 100}),
    "surrogate": (_surrogate, None, {"n_folds": 2}),
    "trimmed_match": (_paired, None, {}),
    "multi_cell": (_multi_cell, None, {"readout": "did"}),
    "holdback": (_holdback, None, {"readout": "did"}),
    "spillover": (_spillover, None, {}),
    "exposure_mapping": (_spillover_cross_section, None, {"n_draws": 300}),
    "switchback": (_switchback, None, {"n_draws": 199}),
    "price_test": (_price, None, {}),
}


# ---------------------------------------------------------------------- breakages
HUGE = [1e300, -1e300, 1e200, 1e160]
SCALES = [1e-300, 1e-12, 1e12, 1e150, 1e300]


@st.composite
def breakages(draw: Any, df: pd.DataFrame, roles: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Apply 0-3 random breakages to a copy of ``df``; return it and their names."""
    df = df.copy()
    applied: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from([
            "nan", "inf", "huge", "scale", "constant", "text", "mixed_ids", "few_rows", "duplicate",
            "negate", "shuffle", "cohort", "bool", "rename", "object_numbers",
        ]))
        col = draw(st.sampled_from(roles)) if roles else None
        if col is None or col not in df.columns or len(df) == 0:
            continue
        row = draw(st.integers(0, len(df) - 1))
        numeric = pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col])
        if kind == "nan":
            df[col] = df[col].astype(float) if numeric else df[col].astype(object)
            df.iloc[row, df.columns.get_loc(col)] = np.nan
        elif kind == "inf" and numeric:
            df[col] = df[col].astype(float)
            df.iloc[row, df.columns.get_loc(col)] = draw(st.sampled_from([np.inf, -np.inf]))
        elif kind == "huge" and numeric:
            df[col] = df[col].astype(float)
            df.iloc[row, df.columns.get_loc(col)] = draw(st.sampled_from(HUGE))
        elif kind == "scale" and numeric:
            df[col] = df[col].astype(float) * draw(st.sampled_from(SCALES))
        elif kind == "constant":
            df[col] = draw(st.sampled_from([0, 1, 5.0, -2.5]))
        elif kind == "text":
            df[col] = df[col].astype(str)
        elif kind == "mixed_ids":
            values = df[col].astype(object)
            half = np.arange(len(df)) % 2 == 0
            values[half] = values[half].astype(str)
            df[col] = values
        elif kind == "few_rows":
            df = df.head(draw(st.sampled_from([1, 2, 3, 5, 8])))
        elif kind == "duplicate":
            df = pd.concat([df, df.iloc[[row]]], ignore_index=True)
        elif kind == "negate" and numeric:
            df[col] = -df[col]
        elif kind == "shuffle":
            df = df.sample(frac=1, random_state=row).reset_index(drop=True)
        elif kind == "cohort" and "g" in df.columns:
            df["g"] = df["g"].astype(object)
            df.loc[df["g"] == draw(st.sampled_from([3, 4])), "g"] = draw(
                st.sampled_from([2.5, -3, np.inf, np.nan, "0", 99, 0]))
        elif kind == "bool" and numeric:
            df[col] = df[col] > df[col].median()
        elif kind == "rename":
            df = df.rename(columns={col: col + "_typo"})
        elif kind == "object_numbers" and numeric:
            df[col] = df[col].astype(object)
        else:
            continue
        applied.append(f"{kind}:{col}")
    return df, applied


def _roles(fields: dict[str, Any]) -> list[str]:
    cols: list[str] = []
    for key, value in fields.items():
        if key in {"design", "cutoff", "name", "spillover", "switchback"}:
            continue
        cols.extend(value if isinstance(value, list) else [value])
    return cols


def _check_results(found: Any, applied: list[str], outcome: str | None) -> None:
    results = found if isinstance(found, list) else [found]
    constant_outcome = any(a == f"constant:{outcome}" for a in applied)
    for r in results:
        if not (isinstance(r.se, float) and math.isfinite(r.se)):
            assert r.worst_status != "pass", f"{r.method}: se={r.se} but diagnostics pass ({applied})"
        if constant_outcome and r.p_value is not None and math.isfinite(r.p_value):
            assert r.p_value >= r.alpha, f"{r.method}: p={r.p_value} on a constant outcome ({applied})"


def _fuzz_estimator(method: str, data: Any) -> None:
    build, design, options = TARGETS[method]
    seed = data.draw(st.integers(0, 3), label="data seed")
    df, fields = build(np.random.default_rng(seed))
    if design is not None:
        fields = {**fields, "design": design}
    if method in {"did", "event_study"} and data.draw(st.booleans(), label="treatment instead of cohort"):
        fields = {k: v for k, v in fields.items() if k != "cohort"} | {"treatment": "d"}
    extra: dict[str, Any] = {}
    if method == "ab":
        extra = data.draw(st.sampled_from([{}, {"covariates": ["x"]}, {"weights": "w"}, {"cluster": "c"}]),
                          label="ab roles")
    if method in {"staggered_did", "rdd", "ipw"} and data.draw(st.booleans(), label="covariates"):
        extra = {"covariates": ["x"]} if "x" in df.columns else {"covariates": ["z"]} if "z" in df.columns else {}
    if method == "rdd":
        fields["cutoff"] = data.draw(st.sampled_from([0.0, 0.0, 0.5, 5.0, float("nan"), float("inf")]), label="cutoff")
    fields = {**fields, **extra}
    broken, applied = data.draw(breakages(df, _roles(fields)), label="breakages")
    spec_kw = dict(
        name="fuzz", estimators=[{"method": method, "options": options}],
        na_action=data.draw(st.sampled_from(["raise", "drop"]), label="na_action"),
        alpha=data.draw(st.sampled_from([0.05, 0.1, 0.01]), label="alpha"),
        seed=data.draw(st.sampled_from([0, 7, 2**32 - 1]), label="seed"),
        **fields,
    )
    try:
        spec = ck.ExperimentSpec(**spec_kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = ck.estimate(broken, spec)
    except CausalKitError:
        return
    _check_results(found, applied, fields.get("outcome", fields.get("long_term_outcome")))


def _history(rng: np.random.Generator) -> pd.DataFrame:
    from causal_kit.datasets import simulate_geo_panel

    return simulate_geo_panel(n_geos=10, n_days=45, seed=int(rng.integers(0, 1000)))


def _fuzz_plan(data: Any) -> None:
    history = _history(np.random.default_rng(data.draw(st.integers(0, 3), label="data seed")))
    broken, applied = data.draw(breakages(history, ["geo", "date", "kpi", "cost"]), label="breakages")
    overrides = dict(
        n_treated=data.draw(st.sampled_from([1, 2, 3, 9, 12]), label="n_treated"),
        duration=data.draw(st.sampled_from([5, 7, 40]), label="duration"),
        n_candidates=2, n_windows=3, candidate_estimators=("did",), progress=False,
        cost_column=data.draw(st.sampled_from([None, "cost"]), label="cost column"),
    )
    spec = ck.ExperimentSpec(name="plan", design="did", outcome="kpi", unit="geo", time="date", treatment="treated")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            design = ck.design.plan(broken, spec, **overrides)
    except CausalKitError:
        return
    assert design.cost is None or math.isfinite(design.cost), f"design cost {design.cost} ({applied})"
    if any(a == "constant:kpi" for a in applied):
        raise AssertionError(f"a constant KPI history gave a design ({applied})")


def test_every_registered_estimator_is_fuzzed():
    assert set(TARGETS) == set(ESTIMATORS)


@pytest.mark.parametrize("method", sorted(TARGETS))
@_settings(FAST_EXAMPLES)
@given(data=st.data())
def test_fuzz_estimator_fast(method, data):
    _fuzz_estimator(method, data)


@_settings(FAST_EXAMPLES)
@given(data=st.data())
def test_fuzz_design_plan_fast(data):
    _fuzz_plan(data)


@pytest.mark.slow
@pytest.mark.parametrize("method", sorted(TARGETS))
@_settings(SLOW_EXAMPLES)
@given(data=st.data())
def test_fuzz_estimator_slow(method, data):
    _fuzz_estimator(method, data)


@pytest.mark.slow
@_settings(SLOW_EXAMPLES)
@given(data=st.data())
def test_fuzz_design_plan_slow(data):
    _fuzz_plan(data)
