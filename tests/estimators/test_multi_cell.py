"""Multi-cell geo tests: per-cell readouts against one control, multiplicity, contrasts, best cell."""

from __future__ import annotations

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.datasets import simulate_multi_cell
from causal_kit.errors import DataError, SpecError
from causal_kit.estimators.multi_cell import holm

ROLES = dict(outcome="kpi", unit="geo", time="date", treatment="treated", cell="cell")


def spec_for(**kw):
    opts = kw.pop("options", {"readout": "did"})
    return ck.ExperimentSpec(name="cells", design="multi_cell", options=opts, **ROLES, **kw)


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(0).uniform(0, 0.2, 7)
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-12)


def test_each_cell_is_the_readout_on_its_cell_and_the_control_at_alpha_over_k():
    df = ck.datasets.load("multi_cell_sim")
    res = ck.estimate(df, spec_for(spend="spend"))
    cells = res.tables["cells"].set_index("cell")
    for c in ("low", "high"):
        sub = df[df["cell"].isin([c, "control"])].drop(columns="cell")
        one = ck.estimate(sub, ck.ExperimentSpec(name="one", design="did", alpha=0.025,
                                                 **{k: v for k, v in ROLES.items() if k != "cell"}))
        assert cells.loc[c, "estimate"] == pytest.approx(one.estimate, rel=1e-12)
        assert (cells.loc[c, "ci_low"], cells.loc[c, "ci_high"]) == pytest.approx(one.ci, rel=1e-12)
        assert cells.loc[c, "p_value"] == pytest.approx(one.p_value, rel=1e-12)
        spend = df.loc[(df["cell"] == c) & (df["treated"] == 1), "spend"].sum()
        assert cells.loc[c, "iroas"] == pytest.approx(one.estimate * one.exposure / spend, rel=1e-12)
    np.testing.assert_allclose(cells["p_adjusted"], holm(cells["p_value"].to_numpy()))
    assert cells["prob_best"].sum() == pytest.approx(1.0)
    best = res.details["best_cell"]
    assert cells.loc[best, "rank"] == 1 and res.details["ranked_by"] == "iroas"
    assert res.estimate == cells.loc[best, "estimate"] and res.p_value == cells.loc[best, "p_adjusted"]
    c = res.tables["contrasts"].iloc[0]
    assert c["difference"] == pytest.approx(cells.loc[c["cell_a"], "estimate"] - cells.loc[c["cell_b"], "estimate"])
    assert c["se"] == pytest.approx(np.hypot(cells.loc[c["cell_a"], "se"], cells.loc[c["cell_b"], "se"]))
    assert any(d.name.startswith("low: ") for d in res.diagnostics)
    again = ck.estimate(df, spec_for(spend="spend"))
    assert again.tables["cells"]["prob_best"].tolist() == res.tables["cells"]["prob_best"].tolist()


def test_recovers_each_cells_lift_on_a_large_panel():
    df = simulate_multi_cell(n_geos=60, n_days=150, cells={"low": 0.03, "high": 0.10}, n_per_cell=15, seed=5)
    res = ck.estimate(df, spec_for())
    cells = res.tables["cells"].set_index("cell")
    for c, lift in (("low", 0.03), ("high", 0.10)):
        post = df[(df["cell"] == c) & (df["treated"] == 1)]
        truth = float((post["kpi"] - post["kpi"] / (1 + lift)).mean())
        assert cells.loc[c, "ci_low"] <= truth <= cells.loc[c, "ci_high"]
    assert res.details["ranked_by"] == "effect"


def test_multi_cell_named_errors():
    df = ck.datasets.load("multi_cell_sim")
    with pytest.raises(SpecError, match="needs at least 2 treatment cells"):
        ck.estimate(df[df["cell"] != "high"], spec_for())
    with pytest.raises(DataError, match="has no unit in the control cell 'holdout'"):
        ck.estimate(df, spec_for(options={"readout": "did", "control_cell": "holdout"}))
    shared = df.copy()
    g = shared.loc[shared["cell"] == "low", "geo"].iloc[0]
    shared.loc[(shared["geo"] == g) & (shared["date"] == shared["date"].max()), "cell"] = "high"
    with pytest.raises(DataError, match="cells must not share geos"):
        ck.estimate(shared, spec_for())
    leak = df.copy()
    c = leak.loc[leak["cell"] == "control", "geo"].iloc[0]
    leak.loc[(leak["geo"] == c) & (leak["date"] == leak["date"].max()), "treated"] = 1
    with pytest.raises(DataError, match="control geos must stay untreated"):
        ck.estimate(leak, spec_for())
    with pytest.raises(SpecError, match="The 'readout' parameter of MultiCell"):
        ck.estimate(df, spec_for(options={"readout": "ab"}))
    with pytest.raises(SpecError, match="cell"):
        ck.ExperimentSpec(name="x", design="multi_cell", outcome="kpi", unit="geo", time="date", treatment="treated")
