"""Mix/rate decomposition: a hand-computed two-dimension table, exact additivity, Shapley axioms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_kit.errors import DataError
from causal_kit.explain import UnknownColumnError, ZeroDenominatorError, mix_rate


def _hand_table() -> pd.DataFrame:
    # cells (a, b): (numerator, denominator) in period 0 and period 1
    cells = {("a1", "b1"): ((32, 40), (16, 20)), ("a1", "b2"): ((10, 20), (8, 20)),
             ("a2", "b1"): ((12, 20), (20, 40)), ("a2", "b2"): ((4, 20), (6, 20))}
    rows = []
    for (a, b), periods in cells.items():
        for t, (num, den) in enumerate(periods):
            rows.append({"t": t, "A": a, "B": b, "num": num, "den": den})
    return pd.DataFrame(rows)


def test_two_dimension_table_matches_hand_computation():
    # Worked by hand (midpoint weights):
    #   M0 = 58/100 = 0.58, M1 = 50/100 = 0.50, change = -0.08
    #   v(A)  = -0.2*0.65 + 0.2*(0.4+26/60)/2 = -0.0466667;  v(B) = 0 (B's shares do not move)
    #   v(AB) = -0.2*0.8 + 0.2*0.55 = -0.05;  rate = -0.08 - (-0.05) = -0.03
    #   Shapley: phi_A = (v(A) + v(AB) - v(B)) / 2 = -0.0483333, phi_B = (v(B) + v(AB) - v(A)) / 2 = -0.0016667
    #   interaction index I_AB = v(AB) - v(A) - v(B) = -0.0033333
    #   before-weighted view: mix -0.04, rate -0.02, interaction -0.02
    d = mix_rate(_hand_table(), period="t", dimensions=["A", "B"], numerator="num", denominator="den")
    assert d.before == pytest.approx(0.58, abs=1e-14)
    assert d.after == pytest.approx(0.50, abs=1e-14)
    assert d.value("mix: A") == pytest.approx(-0.0483333333333, abs=1e-12)
    assert d.value("mix: B") == pytest.approx(-0.0016666666667, abs=1e-12)
    assert d.value("rate") == pytest.approx(-0.03, abs=1e-14)
    assert d.tables["interactions"]["interaction"].iloc[0] == pytest.approx(-0.0033333333333, abs=1e-12)
    summ = d.tables["summary"].set_index("quantity")["value"]
    assert summ["mix (before rates)"] == pytest.approx(-0.04, abs=1e-14)
    assert summ["rate (before shares)"] == pytest.approx(-0.02, abs=1e-14)
    assert summ["interaction"] == pytest.approx(-0.02, abs=1e-14)
    own = d.tables["shapley"].set_index("dimension")["own_mix"]
    assert own["A"] == pytest.approx(-0.0466666666667, abs=1e-12) and own["B"] == pytest.approx(0.0, abs=1e-14)


def test_segment_table_contributions_add_to_the_change():
    d = mix_rate(_hand_table(), period="t", dimensions=["A", "B"], numerator="num", denominator="den")
    for name in ("cells", "segments: A", "segments: B"):
        assert d.tables[name]["total"].sum() == pytest.approx(d.change, abs=1e-14)
    cells = d.tables["cells"]
    assert cells["mix"].sum() == pytest.approx(-0.05, abs=1e-14)
    assert cells["rate"].sum() == pytest.approx(-0.03, abs=1e-14)


def _frames(draw, n_dims: int):
    n = draw(st.integers(4, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    data = {"t": rng.integers(0, 2, n), "den": rng.integers(1, 50, n).astype(float),
            "num": rng.normal(size=n) * 10}
    for j in range(n_dims):
        data[f"d{j}"] = rng.integers(0, draw(st.integers(1, 4)), n)
    data["t"][:2] = [0, 1]
    return pd.DataFrame(data)


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(1, 4))
def test_components_add_up_exactly(data, n_dims):
    df = _frames(data.draw, n_dims)
    d = mix_rate(df, period="t", dimensions=[f"d{j}" for j in range(n_dims)], numerator="num", denominator="den")
    assert d.residual() == pytest.approx(0.0, abs=1e-10)
    m0 = df.loc[df.t == 0, "num"].sum() / df.loc[df.t == 0, "den"].sum()
    m1 = df.loc[df.t == 1, "num"].sum() / df.loc[df.t == 1, "den"].sum()
    assert d.change == pytest.approx(m1 - m0, abs=1e-10)
    summ = d.tables["summary"].set_index("quantity")["value"]
    # efficiency: the dimensions' Shapley values add up to the full cross-segmentation's mix
    assert d.tables["shapley"]["shapley_mix"].sum() == pytest.approx(summ["mix"], abs=1e-10)
    assert summ["mix (before rates)"] + summ["rate (before shares)"] + summ["interaction"] == pytest.approx(
        d.change, abs=1e-10)
    # swapping the periods flips every component's sign
    back = mix_rate(df, period="t", dimensions=[f"d{j}" for j in range(n_dims)], numerator="num",
                    denominator="den", before=1, after=0)
    np.testing.assert_allclose(back.components["value"], -d.components["value"], atol=1e-10)


def test_symmetry_identical_dimensions_get_equal_values():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"t": rng.integers(0, 2, 500), "x": rng.integers(0, 4, 500), "v": rng.normal(size=500)})
    df["x_copy"] = df["x"].map(lambda k: f"level{k}")
    d = mix_rate(df, period="t", dimensions=["x", "x_copy"], numerator="v")
    assert d.value("mix: x") == pytest.approx(d.value("mix: x_copy"), abs=1e-14)


def test_sampled_shapley_is_exact_in_sum_and_close_to_exact_values():
    rng = np.random.default_rng(7)
    n = 4000
    df = pd.DataFrame({"t": rng.integers(0, 2, n), **{f"d{j}": rng.integers(0, 3, n) for j in range(4)}})
    df["y"] = df["d0"] * 0.5 + df["d1"] * df["t"] + rng.normal(size=n)
    dims = [f"d{j}" for j in range(4)]
    exact = mix_rate(df, period="t", dimensions=dims, numerator="y")
    sampled = mix_rate(df, period="t", dimensions=dims, numerator="y", max_exact=2, n_permutations=3000, seed=11)
    assert sampled.residual() == pytest.approx(0.0, abs=1e-12)
    shap = sampled.tables["shapley"]
    assert (shap["mc_se"] > 0).all()
    z = (shap["shapley_mix"].to_numpy() - exact.tables["shapley"]["shapley_mix"].to_numpy()) / shap["mc_se"]
    assert np.all(np.abs(z) < 4.5)
    again = mix_rate(df, period="t", dimensions=dims, numerator="y", max_exact=2, n_permutations=3000, seed=11)
    pd.testing.assert_frame_equal(again.components, sampled.components)


def test_segment_in_one_period_only_counts_as_mix():
    df = pd.DataFrame({"t": [0, 0, 1, 1, 1], "s": ["a", "b", "a", "b", "new"], "y": [1.0, 2.0, 1.0, 2.0, 5.0]})
    d = mix_rate(df, period="t", dimensions="s", numerator="y")
    cells = d.tables["cells"].set_index("s")
    assert cells.loc["new", "rate"] == 0.0
    assert d.residual() == pytest.approx(0.0, abs=1e-14)
    assert any("only one period" in note for note in d.notes)


def test_caller_frame_is_not_modified():
    df = _hand_table()
    before = df.copy()
    mix_rate(df, period="t", dimensions=["A", "B"], numerator="num", denominator="den")
    pd.testing.assert_frame_equal(df, before)


def test_zero_denominator_segment_is_named():
    df = _hand_table()
    df.loc[(df.t == 1) & (df.A == "a2") & (df.B == "b2"), "den"] = 0
    with pytest.raises(ZeroDenominatorError, match=r"'den' sums to zero or less in 1 segment-period cell.*A=a2, B=b2"):
        mix_rate(df, period="t", dimensions=["A", "B"], numerator="num", denominator="den")


def test_unknown_column_is_named():
    with pytest.raises(UnknownColumnError, match=r"1 column\(s\) not in the data: 'carrier'"):
        mix_rate(_hand_table(), period="t", dimensions=["A", "carrier"], numerator="num")


def test_period_needs_two_values():
    df = _hand_table().assign(t=lambda x: x.t.replace({1: 2})).pipe(lambda x: pd.concat([x, x.assign(t=5)]))
    with pytest.raises(DataError, match=r"column 't' has 3 distinct values"):
        mix_rate(df, period="t", dimensions="A", numerator="num")


def test_missing_segment_label_is_named():
    df = _hand_table().astype({"A": object})
    df.loc[0, "A"] = None
    with pytest.raises(DataError, match=r"segment column 'A' has 1 missing values"):
        mix_rate(df, period="t", dimensions="A", numerator="num")
