"""Scheduled sequential A/B readouts through the CLI: looks from the registry, decision in --json."""

from __future__ import annotations

import json

from _cli_helpers import _isolated_registry, run  # noqa: F401 (autouse fixture)

from causal_kit.registry import Registry

SPEC = (
    "name: seq-ab\ndesign: ab\noutcome: y\ntreatment: treat\npre_covariate: pre\n"
    "sequential:\n  method: alpha_spending\n  looks: [2500, 5000, 10000]\n"
)




def test_three_scheduled_looks_then_a_shrunk_extract(tmp_path, load, capsys):
    spec = tmp_path / "seq.yaml"
    spec.write_text(SPEC)
    reg = tmp_path / "reg.duckdb"
    df = load("ab_cuped_sim")
    decisions = []
    for look, rows in enumerate((2500, 5000, 10_000), start=1):
        data = tmp_path / f"look{look}.csv"
        df.iloc[:rows].to_csv(data, index=False)
        code, out, err = run(capsys, "--json", "--registry", reg, "estimate", spec, "--data", data)
        assert code == 0, err
        row = json.loads(out)["results"][0]
        assert row["sequential"]["look"] == look and row["sequential"]["n_looks_planned"] == 3
        assert row["sequential"]["boundary_z"] > 1.9
        decisions.append(row["sequential"]["decision"])
    assert decisions[-1] in ("stop_efficacy", "final")
    hist = Registry(reg).history("seq-ab")
    assert list(hist["look"]) == [1, 2, 3] and list(hist["look_key"]) == ["2500", "5000", "10000"]
    assert list(hist["decision"]) == decisions
    looks = Registry(reg).prior_looks("seq-ab")
    assert [q["n_obs"] for q in looks] == [2500, 5000, 10_000]
    # the human line says which look this is and what to do
    code, out, err = run(capsys, "--registry", reg, "estimate", spec, "--data", tmp_path / "look3.csv")
    assert code == 0 and "look 3 of 3" in out
    # a later extract with fewer rows than the last look: exit 2, one line naming the problem
    code, out, err = run(capsys, "--registry", reg, "estimate", spec, "--data", tmp_path / "look1.csv")
    assert code == 2 and "the data shrank" in err and "Traceback" not in err


def test_weekly_geo_readout_with_planned_looks(tmp_path, capsys):
    from causal_kit.datasets import simulate_geo_panel

    panel = simulate_geo_panel(n_geos=15, n_days=105, treated=4, test_start="2024-03-25", effect=0.0, seed=2)
    spec = tmp_path / "geo.yaml"
    spec.write_text(
        "name: geo-seq\ndesign: did\noutcome: kpi\nunit: geo\ntime: date\ntreatment: treated\n"
        "sequential:\n  method: alpha_spending\n  looks: ['2024-03-31', '2024-04-07', '2024-04-14']\n"
    )
    reg = tmp_path / "reg.duckdb"
    for look, day in enumerate(("2024-03-31", "2024-04-07", "2024-04-14"), start=1):
        data = tmp_path / f"geo{look}.csv"
        panel[panel["date"] <= day].to_csv(data, index=False)
        code, out, err = run(capsys, "--json", "--registry", reg, "estimate", spec, "--data", data)
        assert code == 0, err
        seq = json.loads(out)["results"][0]["sequential"]
        assert seq["look"] == look and seq["n_looks_planned"] == 3
    assert seq["decision"] in ("final", "stop_efficacy")
    assert list(Registry(reg).history("geo-seq")["look"]) == [1, 2, 3]
