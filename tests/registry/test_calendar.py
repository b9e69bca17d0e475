"""Experiment calendar: add / list / show / close, named errors, conflicts, concurrent registrations."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from causal_kit.errors import DataError, SpecError
from causal_kit.registry import Calendar, CalendarConflictError, CalendarError, Registry


@pytest.fixture
def cal(tmp_path):
    return Calendar(tmp_path / "reg.duckdb")


def _promo(cal, **kw):
    args = dict(units={"treatment": ["g1", "g2"], "control": ["g3", "g4"], "excluded": ["g9"]},
                start="2024-03-01", end="2024-03-28", owner="growth")
    cal.add("promo", **{**args, **kw})


def test_add_list_show_close_round_trip(cal):
    _promo(cal)
    listed = cal.list()
    assert listed[["name", "owner", "start", "end", "status"]].to_dict("records") == [
        {"name": "promo", "owner": "growth", "start": "2024-03-01", "end": "2024-03-28", "status": "planned"}]
    assert listed[["n_treated", "n_control", "n_excluded", "n_cells"]].iloc[0].tolist() == [2, 2, 1, 1]
    shown = cal.show("promo")
    assert shown["units"] == {"control": ["g3", "g4"], "excluded": ["g9"], "treatment": ["g1", "g2"]}
    table = cal.units_table()
    assert set(table["role"]) == {"treated", "control", "excluded"} and len(table) == 5
    cal.start("promo")
    assert cal.list()["status"].tolist() == ["running"]
    with pytest.raises(CalendarError, match=r"no study named 'nope'"):
        cal.start("nope")
    cal.close("promo", end="2024-03-20")
    assert cal.list()[["status", "end"]].iloc[0].tolist() == ["closed", "2024-03-20"]
    assert cal.units_table().empty  # a closed study is no longer live
    assert len(cal.units_table(include_closed=True)) == 5
    assert cal.list(status="planned").empty
    with pytest.raises(CalendarError, match=r"study 'promo' is closed"):
        cal.start("promo")


def test_calendar_shares_the_registry_file(tmp_path):
    reg = Registry(tmp_path / "reg.duckdb")
    cal = Calendar(reg)
    _promo(cal)
    assert Calendar(tmp_path / "reg.duckdb").list()["name"].tolist() == ["promo"]
    assert reg.runs().empty  # runs table untouched, file usable by both


def test_missing_file_reads_as_an_empty_calendar(tmp_path):
    cal = Calendar(tmp_path / "none.duckdb")
    assert cal.list().empty and cal.units_table().empty
    assert not (tmp_path / "none.duckdb").exists()


def test_integer_periods(cal):
    cal.add("wk", units={"treatment": [1, 2], "control": [3]}, start=10, end=14)
    assert cal.list()[["start", "end"]].iloc[0].tolist() == ["10", "14"]
    with pytest.raises(CalendarConflictError, match=r"study 'wk' treats 1 unit\(s\) this study would use as control \(1\)"):
        cal.add("wk2", units={"treatment": [5], "control": [1]}, start=14, end=20)
    cal.add("wk3", units={"treatment": [5], "control": [1]}, start=15, end=20)  # after wk ends: no overlap


def test_conflict_is_refused_naming_the_study_and_units(cal):
    _promo(cal)
    with pytest.raises(CalendarConflictError, match=r"study 'promo' treats 2 unit\(s\) this study would use as control \(g1, g2\)"):
        cal.add("price", units={"treatment": ["g5"], "control": ["g1", "g2", "g6"]}, start="2024-03-20", end="2024-04-20")
    with pytest.raises(CalendarConflictError, match=r"study 'promo' already treats 1 unit\(s\) this study would treat \(g2\)"):
        cal.add("price", units={"treatment": ["g2"], "control": ["g6"]}, start="2024-03-20", end="2024-04-20")
    with pytest.raises(CalendarConflictError, match=r"study 'promo' uses as control 1 unit\(s\) this study would treat \(g3\)"):
        cal.add("price", units={"treatment": ["g3"], "control": ["g6"]}, start="2024-03-20", end="2024-04-20")
    assert cal.list()["name"].tolist() == ["promo"]  # refused adds leave nothing behind
    cal.add("price", units={"treatment": ["g5"], "control": ["g3", "g6"], "excluded": ["g1"]},
            start="2024-03-20", end="2024-04-20")  # shared control and excluded units are fine
    cal.add("late", units={"treatment": ["g1"], "control": ["g7"]}, start="2024-05-01", end="2024-05-20")
    cal.add("overlap_ok", units={"treatment": ["g8"], "control": ["g1"]}, start="2024-03-01", end="2024-03-05",
            allow_overlap=True)
    assert len(cal.list()) == 4


@pytest.mark.parametrize("kwargs, message", [
    (dict(start="2024-03-28", end="2024-03-01"), r"planned end 2024-03-01 is before the start 2024-03-28"),
    (dict(start="2024-03-01", end=5), r"must both be dates or both integer periods"),
    (dict(start="March", end="2024-03-01"), r"must be a date \(e.g. 2024-03-01\) or an integer period; got 'March'"),
    (dict(units={"treatment": ["g1"], "control": ["g1"]}), r"unit 'g1' is in two cells"),
    (dict(units={"control": ["g1"]}), r"treats no unit"),
    (dict(units={"treatment": ["g1"]}), r"no control unit"),
    (dict(known_units=["g1", "g2", "g3"]), r"names 2 unknown unit\(s\) \(g4, g9\)"),
    (dict(status="closed"), r"'status' parameter of Calendar.add must be 'planned' or 'running'"),
])
def test_bad_additions_are_named_errors(cal, kwargs, message):
    with pytest.raises((CalendarError, DataError), match=message):
        _promo(cal, **kwargs)
    assert cal.list().empty


def test_taken_name_closing_unknown_and_showing_unknown_study(cal):
    _promo(cal)
    with pytest.raises(CalendarError, match=r"a study named 'promo' is already in the calendar \(status planned\)"):
        _promo(cal)
    _promo(cal, replace=True, owner="pricing")
    assert cal.list()["owner"].tolist() == ["pricing"]
    with pytest.raises(CalendarError, match=r"no study named 'nope' in the calendar .* holds 1 studies \(promo\)"):
        cal.close("nope")
    with pytest.raises(CalendarError, match=r"no study named 'nope'"):
        cal.show("nope")
    with pytest.raises(CalendarError, match=r"the end 2024-02-01 is before its start 2024-03-01"):
        cal.close("promo", end="2024-02-01")
    with pytest.raises(CalendarError, match=r"'status' parameter of Calendar.list"):
        cal.list(status="live")
    assert issubclass(CalendarError, DataError) and issubclass(CalendarConflictError, SpecError)


def test_assignment_frame_is_accepted(cal):
    frame = pd.DataFrame({"unit": ["a", "b", "c"], "cell": ["treatment", "treatment_2", "control"]})
    cal.add("two_cells", units=frame, start="2024-01-01", end="2024-01-31")
    assert cal.list()["n_cells"].tolist() == [2]
    with pytest.raises(CalendarError, match=r"lacks column\(s\) \['cell'\]"):
        cal.add("bad", units=frame.drop(columns="cell"), start="2024-01-01", end="2024-01-31")


_ADDER = textwrap.dedent(
    """
    import sys
    from causal_kit.registry import Calendar
    path, w = sys.argv[1], int(sys.argv[2])
    cal = Calendar(path)
    for i in range(3):
        cal.add(f"s{w}_{i}", units={"treatment": [f"t{w}_{i}"], "control": ["shared"]},
                start=f"2024-0{1 + i}-01", end=f"2024-0{1 + i}-20")
    """
)


@pytest.mark.slow
def test_eight_concurrent_adders_lose_nothing(tmp_path):
    path = tmp_path / "shared.duckdb"
    procs = [subprocess.Popen([sys.executable, "-c", _ADDER, str(path), str(w)], stderr=subprocess.PIPE)
             for w in range(8)]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    listed = Calendar(path).list()
    assert sorted(listed["name"]) == sorted(f"s{w}_{i}" for w in range(8) for i in range(3))
    assert (listed["n_treated"] == 1).all() and (listed["n_control"] == 1).all()


_CLASHER = textwrap.dedent(
    """
    import sys
    from causal_kit.registry import Calendar, CalendarConflictError
    path, w = sys.argv[1], int(sys.argv[2])
    try:
        Calendar(path).add(f"s{w}", units={"treatment": ["hot"], "control": [f"c{w}"]},
                           start="2024-01-01", end="2024-01-20")
        print("added")
    except CalendarConflictError as exc:
        print("refused", exc)
    """
)


@pytest.mark.slow
def test_concurrent_colliding_adds_let_exactly_one_through(tmp_path):
    path = tmp_path / "shared.duckdb"
    procs = [subprocess.Popen([sys.executable, "-c", _CLASHER, str(path), str(w)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for w in range(6)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [o[1].decode() for o in outs]
    lines = [o[0].decode() for o in outs]
    assert sum(line.startswith("added") for line in lines) == 1
    winner = Calendar(path).list()["name"].tolist()
    assert len(winner) == 1
    refused = [line for line in lines if line.startswith("refused")]
    assert all(f"study {winner[0]!r} already treats 1 unit(s) this study would treat (hot)" in r for r in refused)
