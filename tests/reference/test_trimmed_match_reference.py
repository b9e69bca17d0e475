"""Trimmed match against the authors' published values.

Source: Chen and Au (2019), "Robust causal inference for incremental return on ad spend with
randomized paired geo experiments"; the values are those printed by the authors' open-source
implementation in its README example and unit tests, which compare to 3 decimals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.estimators.trimmed_match import TrimmedMatch

RESP = [1.0, 10.0, 3.0, 8.0]
SPEND = [1.0, 5.0, 2.0, 5.0]


def paired_frame(delta_response, delta_spend):
    """One treated geo (the deltas) and one control geo (zeros) per pair."""
    rows = []
    for i, (dr, dc) in enumerate(zip(delta_response, delta_spend)):
        rows.append(dict(geo=f"t{i}", pair=i, treated=1, response=dr, spend=dc))
        rows.append(dict(geo=f"c{i}", pair=i, treated=0, response=0.0, spend=0.0))
    return pd.DataFrame(rows)


def fit(delta_response, delta_spend, confidence=0.80, **options):
    spec = ck.ExperimentSpec(name="ref", design="trimmed_match", outcome="response", spend="spend",
                             unit="geo", pair="pair", treatment="treated", alpha=1 - confidence)
    return TrimmedMatch(**options).fit(paired_frame(delta_response, delta_spend), spec)


def test_readme_example_automatic_trim():
    res = fit([1, 10, 3, 8, 5], [1, 5, 2, 5, 3], confidence=0.80)
    assert res.estimate == pytest.approx(1.60, abs=5e-4)
    assert res.ci[0] == pytest.approx(1.52, abs=5e-3)  # published to 2 decimals
    assert res.ci[1] == pytest.approx(1.66, abs=5e-3)


def test_no_trimming_is_the_empirical_ratio():
    res = fit(RESP, SPEND, confidence=0.90, trim_rate=0.0)
    assert abs(res.estimate - 22 / 13) < 1e-12
    assert res.se == pytest.approx(0.138, abs=5e-4)
    assert res.ci == pytest.approx((1.250, 1.905), abs=5e-4)


def test_trim_rate_020():
    res = fit(RESP, SPEND, confidence=0.90, trim_rate=0.20)
    assert abs(res.estimate - 11 / 7) < 1e-12
    assert res.se == pytest.approx(0.041, abs=5e-4)
    assert res.ci == pytest.approx((-29.374, 1.619), abs=5e-4)
    pairs = res.tables["pairs"]
    assert set(pairs.loc[pairs["trimmed"], "pair"]) == {0, 1}


def test_automatic_trim_chooses_025():
    res = fit(RESP, SPEND, confidence=0.90, max_trim_rate=0.25)
    assert abs(res.estimate - 11 / 7) < 1e-12
    assert res.details["trim_rate"] == pytest.approx(0.25)
    assert res.se == pytest.approx(0.041, abs=5e-4)
    assert res.ci == pytest.approx((-29.374, 1.619), abs=5e-4)


@pytest.mark.parametrize(("spend", "expected"), [([1, 1, 1, 1, 1], 3.0), ([1, 2, 3, 4, 5], 1.0)])
def test_default_settings(spend, expected):
    res = fit([1, 2, 3, 4, 5], spend)
    assert res.estimate == pytest.approx(expected, abs=5e-4)


def test_epsilons_sum_to_zero_over_untrimmed_pairs():
    res = fit(RESP, SPEND, confidence=0.90, trim_rate=0.20)
    pairs = res.tables["pairs"]
    assert pairs.loc[~pairs["trimmed"], "epsilon"].sum() == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(pairs["epsilon"], pairs["delta_response"] - res.estimate * pairs["delta_spend"])
