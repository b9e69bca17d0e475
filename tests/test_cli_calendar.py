"""``causal-kit calendar list|show|close`` and ``causal-kit design --register``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from _cli_helpers import _isolated_registry, run  # noqa: F401 (autouse fixture)

from causal_kit.datasets.simulate import simulate_geo_panel
from causal_kit.registry import Calendar

SPEC = (
    "name: {name}\ndesign: did\noutcome: kpi\nunit: geo\ntime: date\ntreatment: treated\n"
    "plan:\n  n_treated: 2\n  duration: 14\n  n_windows: 2\n  n_candidates: 1\n  candidate_estimators: [did]\n"
    "  inference: approximate\n  assignment: stratified\n  start: '{start}'\n"
)


@pytest.fixture
def history(tmp_path):
    path = tmp_path / "history.csv"
    simulate_geo_panel(n_geos=12, n_days=70, seed=2).to_csv(path, index=False)
    return path


def _spec(tmp_path, name, start="2030-01-01", extra=""):
    path = tmp_path / f"{name}.yaml"
    path.write_text(SPEC.format(name=name, start=start) + extra)
    return path


FREE = "  exclude: [geo_009, geo_010, geo_011, geo_012]\n"  # left free for a concurrent study to treat


def test_design_register_then_list_show_close(tmp_path, capsys, history):
    reg = tmp_path / "reg.duckdb"
    code, out, err = run(capsys, "design", _spec(tmp_path, "promo", extra=FREE), "--history", history,
                         "--registry", reg, "--register")
    assert code == 0, err
    assert "calendar: promo registered for 2030-01-01 to 2030-01-14" in out
    listed = Calendar(reg).list()
    assert listed[["name", "start", "end", "n_treated", "n_control"]].to_dict("records") == [
        {"name": "promo", "start": "2030-01-01", "end": "2030-01-14", "n_treated": 2, "n_control": 6}]
    code, out, err = run(capsys, "calendar", "list", "--registry", reg)
    assert code == 0 and "promo" in out and "2030-01-14" in out
    code, out, err = run(capsys, "--json", "calendar", "show", "promo", "--registry", reg)
    shown = json.loads(out)
    assert code == 0 and len(shown["units"]["treatment"]) == 2 and len(shown["units"]["control"]) == 6
    # a second study in the same window plans around the first: its treated geos are excluded and
    # its control geos are never treated (only the four geos it left out can be)
    code, out, err = run(capsys, "--json", "design", _spec(tmp_path, "price"), "--history", history,
                         "--registry", reg, "--register", "--json-out", tmp_path / "price.json")
    assert code == 0, err
    price = Calendar(reg).show("price")["units"]
    assert set(price["excluded"]) == set(shown["units"]["treatment"])
    assert set(price["treatment"]) <= {"geo_009", "geo_010", "geo_011", "geo_012"}
    diags = {d["name"]: d for d in json.loads((tmp_path / "price.json").read_text())["diagnostics"]}
    assert "promo" in diags["calendar_treated_elsewhere"]["message"]
    code, out, err = run(capsys, "--json", "calendar", "list", "--registry", reg, "--out", tmp_path / "cal.html")
    assert code == 0 and json.loads(out)["report"].endswith("cal.html")
    page = (tmp_path / "cal.html").read_text()
    assert "2 studies in the calendar" in page and "<strong>price</strong>" in page
    code, out, err = run(capsys, "calendar", "start", "promo", "--registry", reg)
    assert code == 0 and "promo running" in out
    code, out, err = run(capsys, "calendar", "close", "promo", "--registry", reg)
    assert code == 0 and "promo closed" in out
    code, out, err = run(capsys, "--json", "calendar", "list", "--status", "closed", "--registry", reg)
    assert [s["name"] for s in json.loads(out)["studies"]] == ["promo"]


def test_calendar_errors_exit_2_with_one_line(tmp_path, capsys, history):
    reg = tmp_path / "reg.duckdb"
    code, out, err = run(capsys, "calendar", "close", "nope", "--registry", reg)
    assert code == 2 and "no study named 'nope'" in err and "Traceback" not in err
    code, out, err = run(capsys, "calendar", "show", "nope", "--registry", reg)
    assert code == 2 and "no study named 'nope'" in err
    code, out, err = run(capsys, "design", _spec(tmp_path, "x"), "--history", history, "--no-registry", "--register")
    assert code == 2 and "drop --no-registry" in err
    code, out, err = run(capsys, "calendar", "list", "--no-registry")
    assert code == 2 and "reads the registry" in err
    code, out, err = run(capsys, "design", _spec(tmp_path, "a"), "--history", history, "--registry", reg, "--register")
    assert code == 0, err
    code, out, err = run(capsys, "design", _spec(tmp_path, "a"), "--history", history, "--registry", reg, "--register")
    assert code == 2 and "a study named 'a' is already in the calendar" in err


def test_conflicting_overlap_is_refused_at_design_time(tmp_path, capsys, history):
    reg = tmp_path / "reg.duckdb"
    code, out, err = run(capsys, "design", _spec(tmp_path, "promo"), "--history", history, "--registry", reg,
                         "--register")
    assert code == 0, err
    treated = Calendar(reg).show("promo")["units"]["treatment"]
    code, out, err = run(capsys, "design", _spec(tmp_path, "price", extra="  conflicts: warn\n"), "--history",
                         history, "--registry", reg, "--register")
    assert code == 2 and "conflicts with live studies" in err and "study 'promo'" in err
    assert any(u in err for u in treated)
    assert Calendar(reg).list()["name"].tolist() == ["promo"]


@pytest.mark.slow
def test_eight_concurrent_design_register_processes_lose_no_entry(tmp_path, history):
    reg = tmp_path / "shared.duckdb"
    env = {**os.environ, "CAUSAL_KIT_REGISTRY": str(reg)}
    procs = []
    for w in range(8):  # one window each (consecutive months), so no assignment conflicts with another
        spec = _spec(tmp_path, f"s{w}", start=f"2030-{w + 1:02d}-01")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "causal_kit.cli", "--quiet", "design", str(spec), "--history", str(history),
             "--register"], stderr=subprocess.PIPE, env=env))
    errors = [p.communicate(timeout=600)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    listed = Calendar(reg).list()
    assert sorted(listed["name"]) == [f"s{w}" for w in range(8)]
    assert (listed["n_treated"] == 2).all() and (listed["n_control"] == 10).all()
