"""ExperimentSpec: construction, YAML/JSON io, hashing and one test per validation error."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causal_kit import ExperimentSpec
from causal_kit.errors import CausalKitError, DataError, SpecError


def ab_spec(**kw):
    base = dict(name="ab", design="ab", outcome="y", treatment="t")
    base.update(kw)
    return ExperimentSpec(**base)


def panel_spec(**kw):
    base = dict(name="p", design="did", outcome="y", treatment="d", unit="u", time="t")
    base.update(kw)
    return ExperimentSpec(**base)


@pytest.fixture
def ab_frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"t": rng.integers(0, 2, 50), "y": rng.normal(size=50), "x": rng.normal(size=50)})


@pytest.fixture
def panel_frame():
    rows = [(u, t, float(u + t), int(u == 0 and t >= 2)) for u in range(4) for t in range(4)]
    return pd.DataFrame(rows, columns=["u", "t", "y", "d"])


def test_errors_are_value_errors_and_rooted():
    assert issubclass(SpecError, ValueError) and issubclass(DataError, ValueError)
    assert issubclass(SpecError, CausalKitError) and issubclass(DataError, CausalKitError)


def test_frozen_and_extra_forbidden():
    spec = ab_spec()
    with pytest.raises(Exception, match="frozen"):
        spec.alpha = 0.1  # type: ignore[misc]
    with pytest.raises(SpecError, match="spec.outcom: is not a spec field"):
        ExperimentSpec(name="x", design="ab", outcom="y", treatment="t")


def test_unknown_design():
    with pytest.raises(SpecError, match=r"spec.design: Input should be 'ab'"):
        ExperimentSpec(name="x", design="magic", outcome="y", treatment="t")


def test_alpha_out_of_range():
    with pytest.raises(SpecError, match="spec.alpha: Input should be less than 1"):
        ab_spec(alpha=1.5)


def test_design_missing_roles():
    with pytest.raises(SpecError, match="design 'rdd' needs the role\\(s\\) 'running', 'cutoff'"):
        ExperimentSpec(name="x", design="rdd", outcome="y")


def test_ratio_needs_both_parts():
    with pytest.raises(SpecError, match="needs both 'numerator' and 'denominator'"):
        ExperimentSpec(name="x", design="ab", treatment="t", numerator="c", outcome="y")


def test_yaml_round_trip_and_safe_load():
    spec = panel_spec(covariates=["a", "b"], question="Did it work?", estimators=["did", {"method": "sdid", "options": {"n_jobs": 1}}])
    again = ExperimentSpec.from_yaml(spec.to_yaml())
    assert again == spec and again.spec_hash == spec.spec_hash
    assert again.estimators[1].options == {"n_jobs": 1}


def test_malformed_yaml():
    with pytest.raises(SpecError, match="not valid YAML at line 3"):
        ExperimentSpec.from_yaml("name: x\ndesign: [ab\n")


def test_yaml_must_be_mapping():
    with pytest.raises(SpecError, match="must be a mapping"):
        ExperimentSpec.from_yaml("- a\n- b\n")


def test_yaml_rejects_python_tags():
    with pytest.raises(SpecError, match="not valid YAML"):
        ExperimentSpec.from_yaml("name: !!python/object/apply:os.system ['echo hi']\ndesign: ab\n")


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        ExperimentSpec.from_yaml(str(tmp_path / "nope.yaml"))


def test_hash_stable_across_key_order():
    a = ExperimentSpec.from_dict({"name": "x", "design": "ab", "outcome": "y", "treatment": "t", "alpha": 0.1})
    b = ExperimentSpec.from_dict({"alpha": 0.1, "treatment": "t", "outcome": "y", "design": "ab", "name": "x"})
    assert a.spec_hash == b.spec_hash
    assert a.spec_hash != a.update(alpha=0.05).spec_hash


def test_json_schema_and_json_io():
    schema = ExperimentSpec.json_schema()
    assert "design" in schema["properties"] and schema["additionalProperties"] is False
    spec = ab_spec()
    assert ExperimentSpec.from_json(spec.to_json()) == spec
    json.dumps(schema)


def test_validate_missing_column(ab_frame):
    with pytest.raises(DataError, match=r"column 'z' \(spec.pre_covariate\) is not in the data"):
        ab_spec(pre_covariate="z").validate(ab_frame)


def test_validate_wrong_dtype(ab_frame):
    bad = ab_frame.assign(y=["a"] + list(ab_frame["y"].iloc[1:]))
    with pytest.raises(DataError, match=r"'y' \(spec.outcome\) must be numeric.*1 non-numeric values \(row 0"):
        ab_spec().validate(bad)


def test_validate_nan_in_role(ab_frame):
    bad = ab_frame.copy()
    bad.loc[[4, 9], "y"] = np.nan
    with pytest.raises(DataError, match=r"'y' \(spec.outcome\) has 2 missing values \(rows 4, 9\).*na_action"):
        ab_spec().validate(bad)


def test_validate_non_binary_treatment(panel_frame):
    bad = panel_frame.assign(d=panel_frame["d"] * 2)
    with pytest.raises(DataError, match=r"'d' \(spec.treatment\) must be binary 0/1 .*Recode"):
        panel_spec().validate(bad)


def test_validate_duplicate_unit_time(panel_frame):
    bad = pd.concat([panel_frame, panel_frame.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataError, match=r"2 rows that share a unit-time pair"):
        panel_spec().validate(bad)


def test_validate_no_treated(panel_frame):
    with pytest.raises(DataError, match="no treated rows"):
        panel_spec().validate(panel_frame.assign(d=0))


def test_validate_no_control_units(panel_frame):
    with pytest.raises(DataError, match="needs never-treated control units"):
        panel_spec().validate(panel_frame.assign(d=(panel_frame["t"] >= 2).astype(int)))


def test_validate_no_control_rows_in_dml():
    df = pd.DataFrame({"y": [1.0, 2, 3], "t": [1, 1, 1], "x": [1.0, 2, 3]})
    spec = ExperimentSpec(name="d", design="dml", outcome="y", treatment="t", covariates=["x"])
    with pytest.raises(DataError, match="has no control rows"):
        spec.validate(df)


def test_validate_passes_and_does_not_mutate(ab_frame):
    before = ab_frame.copy()
    ab_spec().validate(ab_frame)
    pd.testing.assert_frame_equal(before, ab_frame)


def test_polars_input_converted():
    pl = pytest.importorskip("polars", reason="polars is an optional input type")
    ab_spec().validate(pl.DataFrame({"t": [0, 1, 0, 1], "y": [1.0, 2.0, 3.0, 4.0]}))


def test_validate_infinite_values(ab_frame):
    bad = ab_frame.assign(y=ab_frame["y"].where(ab_frame.index != 7, np.inf))
    with pytest.raises(DataError, match=r"'y' \(spec.outcome\) has 1 infinite values \(row 7\)"):
        ab_spec().validate(bad)


def test_validate_numbers_stored_as_text(ab_frame):
    bad = ab_frame.assign(y=ab_frame["y"].astype(str))
    with pytest.raises(DataError, match=r"'y' \(spec.outcome\) must be numeric.*numbers stored as text"):
        ab_spec().validate(bad)


def test_cohort_not_comparable_with_time():
    from causal_kit._panel import build_panel

    df = pd.DataFrame({"u": [1, 1, 2, 2], "t": ["a", "b", "a", "b"], "y": [1.0, 2, 3, 4], "g": [2.0, 2.0, 0.0, 0.0]})
    spec = ExperimentSpec(name="p", design="staggered_did", outcome="y", unit="u", time="t", cohort="g")
    with pytest.raises(DataError, match=r"'g' \(spec.cohort\) .* cannot be compared with column 't'"):
        build_panel(df, spec)


def test_spec_hash_ignores_fields_left_at_their_defaults():
    """A spec's hash survives new optional fields: only what the user set is hashed."""
    base = ExperimentSpec(name="t", design="ab", outcome="y", treatment="treat")
    assert base.spec_hash == ExperimentSpec(name="t", design="ab", outcome="y", treatment="treat", alpha=0.05).spec_hash
    assert base.spec_hash != base.update(alpha=0.1).spec_hash
    assert base.spec_hash == ExperimentSpec.from_yaml(base.to_yaml()).spec_hash
