"""`funnel run` on a warehouse that has seen the data re-reads only new or changed files, and gives the marts
a full rebuild gives.

Simulated data with its last week's files held back is run; the files are
restored and `funnel run` again rebuilds only what they feed; every mart (and
the stage tables) then equals, row for row, a fresh `funnel run --full` on all
files. Then a file of an old week changes, and the same holds again; then the newest week's files are
removed, and the same holds once more.
"""

import os
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from funnel_assets.cli import main
from funnel_assets.defs.resources import FunnelRules
from funnel_assets.lib.contracts import SOURCES
from funnel_assets.lib.engines import connect
from funnel_assets.lib.landing import day_files
from funnel_assets.lib.simulator import generate
from funnel_assets.orchestration.incremental import FileChange
from funnel_assets.orchestration.launch import plan_for
from funnel_assets.orchestration.weeks import WeekRange

KEY = "a-key-of-the-incremental-tests"
COMPARED = ("developer_stages", "visitor_intents", "org_stages")  # and every mart_ table


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("FUNNEL_PSEUDONYM_KEY", KEY)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # each warehouse's own instance, beside it
    folder = tmp_path / "data"
    generate(folder, developers=150, weeks=3, seed=21, requests=8_000)
    return folder


def _run(data: Path, warehouse: Path, capsys, *more: str) -> str:
    assert main(["run", "--data", str(data), "--warehouse", str(warehouse), *more]) == 0
    return capsys.readouterr().out


def _tables(warehouse: Path) -> dict[str, pd.DataFrame]:
    with connect(warehouse, KEY, read_only=True) as engine:
        names = [t for t in engine.tables() if t.startswith("mart_") or t in COMPARED]
        frames = {name: engine.frame(f'select * from "{name}"') for name in names}
    # rows in a stable order whatever the column types (lists included)
    return {name: f.iloc[f.astype(str).apply(tuple, axis=1).argsort()].reset_index(drop=True) for name, f in frames.items()}


def _assert_same_tables(incremental: Path, full: Path) -> None:
    ours, theirs = _tables(incremental), _tables(full)
    assert set(ours) == set(theirs) and "mart_stage_conversion" in ours and "mart_org_production_rate" in ours
    differ = []
    for name in theirs:
        assert len(theirs[name]) > 0 or name.startswith("mart_"), name
        try:
            pd.testing.assert_frame_equal(ours[name], theirs[name], obj=name)
        except AssertionError as error:
            differ.append(str(error).splitlines()[0])
    assert not differ, differ


def _last_week_files(data: Path) -> list[Path]:
    files = [f for source in SOURCES for f in day_files(data, source)]
    last = max(f.week for f in files)
    return [f.path for f in files if f.week == last]


def test_incremental_runs_equal_a_full_rebuild(data, tmp_path, capsys):
    held = tmp_path / "held_back"
    last_week = _last_week_files(data)
    for path in last_week:
        target = held / path.relative_to(data)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    warehouse = tmp_path / "incremental" / "w.duckdb"
    first = _run(data, warehouse, capsys, "--demo-data")
    assert "incremental:" not in first  # a new warehouse is built in full

    for path in last_week:
        shutil.move(held / path.relative_to(data), path)
    out = _run(data, warehouse, capsys, "--demo-data")
    assert f"incremental: {len(last_week)} new landing files" in out, out
    _assert_same_tables(warehouse, _full(data, tmp_path / "full1", capsys))

    # a file of an old week changes (a request less), another is only touched: the change alone is read again
    gateway = day_files(data, "gateway_requests")
    changed = next(f.path for f in gateway[3:] if len(f.path.read_text().splitlines()) > 2)
    changed.write_text("".join(changed.read_text().splitlines(keepends=True)[:-1]))
    touched = gateway[1].path
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    out = _run(data, warehouse, capsys, "--demo-data")
    assert "incremental: 1 changed landing files; re-reading gateway_requests for weeks" in out, out
    _assert_same_tables(warehouse, _full(data, tmp_path / "full2", capsys))

    # the newest week's files are taken away again: that week's rows go, as if it had never landed
    for path in last_week:
        path.unlink()
    out = _run(data, warehouse, capsys, "--demo-data")
    assert f"incremental: {len(last_week)} removed landing files" in out, out
    _assert_same_tables(warehouse, _full(data, tmp_path / "full3", capsys))

    assert "the warehouse was up to date" in _run(data, warehouse, capsys, "--demo-data")


def test_sixteen_weeks_and_one_more_equal_a_full_rebuild(tmp_path, capsys, monkeypatch):
    """Long enough that cohorts complete: the drivers pool complete cohorts, the leading indicators compare a
    cohort with the trailing ones, the SDK usage and the docs friction count events of any later week. After
    one more week, every mart equals a full rebuild."""
    monkeypatch.setenv("FUNNEL_PSEUDONYM_KEY", KEY)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    data = tmp_path / "data"
    generate(data, developers=400, weeks=16, seed=23, requests=20_000)
    held = tmp_path / "held_back"
    last_week = _last_week_files(data)
    for path in last_week:
        (held / path.relative_to(data)).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, held / path.relative_to(data))
    warehouse = tmp_path / "incremental" / "w.duckdb"
    _run(data, warehouse, capsys, "--demo-data")
    before = _tables(warehouse)
    for path in last_week:
        shutil.move(held / path.relative_to(data), path)
    assert "incremental:" in _run(data, warehouse, capsys, "--demo-data")
    full = _full(data, tmp_path / "full", capsys)
    _assert_same_tables(warehouse, full)

    after = _tables(full)
    for mart in ("mart_conversion_drivers", "mart_leading_indicators", "mart_sdk_usage", "mart_docs_friction"):
        assert len(after[mart]) > 0, mart
    # the week that landed changed the rows of cohorts outside the run's reach: their developers' requests
    changed = {name for name in after if name in before and not before[name].equals(after[name])}
    assert "mart_sdk_usage" in changed, changed


def _full(data: Path, folder: Path, capsys) -> Path:
    warehouse = folder / "w.duckdb"
    out = _run(data, warehouse, capsys, "--demo-data", "--full")
    assert "incremental:" not in out
    return warehouse


# --- the decision alone, on a year of weeks ---------------------------------------------------------

YEAR = WeekRange(date(2025, 1, 6), date(2025, 1, 6) + timedelta(weeks=52))


def _plan(definitions, changes, as_of=None, rules=None):
    graph = definitions.resolve_asset_graph()
    return plan_for(graph, rules or FunnelRules(), changes, YEAR, as_of)


def test_a_new_week_rebuilds_its_raw_week_the_look_back_and_the_cohorts_whose_reach_takes_them(definitions):
    last = YEAR.last
    new = [FileChange(source, f"landing/{source}/x", last, "new") for source in SOURCES]
    todo = _plan(definitions, new, as_of=datetime.combine(last - timedelta(days=1), datetime.min.time(), timezone.utc))
    assert todo.sources == tuple(sorted(SOURCES)) and todo.raw == WeekRange(last, last)
    assert todo.events == WeekRange(last - timedelta(weeks=4), last)  # the intent look-back of the cohort window
    # 90-day horizon + 30-day window after the signup week: 18 weeks before the earliest event week rebuilt
    assert todo.cohorts == WeekRange(last - timedelta(weeks=4 + 18), last)
    assert todo.as_of_cohorts == YEAR


def test_the_reach_follows_the_rules_and_an_old_as_of_time_widens_the_cohorts(definitions):
    last = YEAR.last
    gateway = [FileChange("gateway_requests", "landing/gateway_requests/x", last, "new")]
    assert _plan(definitions, gateway).cohorts == WeekRange(last - timedelta(weeks=18), last)
    longer = FunnelRules(horizon_days=180)  # before 7 + 180 + 30 = 217 days after it: the 30th week after
    assert _plan(definitions, gateway, rules=longer).cohorts == WeekRange(last - timedelta(weeks=30), last)
    shorter = FunnelRules(horizon_days=30, transitions=[{"from_stage": "account_created", "to_stage": "first_api_call",
                                                         "window_days": 7}])
    # never less than the cohort window the assets declare (13 weeks)
    assert _plan(definitions, gateway, rules=shorter).cohorts == WeekRange(last - timedelta(weeks=13), last)
    # the drivers' outcome closes 7 + 180 days after the signup week: in its 26th week
    later_outcome = FunnelRules(diagnostics={"outcome_days": 180})
    assert _plan(definitions, gateway, rules=later_outcome).cohorts == WeekRange(last - timedelta(weeks=26), last)
    stale = datetime(2025, 10, 1, tzinfo=timezone.utc)  # the data last reached a Wednesday weeks ago
    assert _plan(definitions, gateway, as_of=stale).cohorts.first == date(2025, 9, 29) - timedelta(weeks=18)


def test_an_old_changed_file_rereads_its_source_from_that_week_on(definitions):
    week = YEAR.first + timedelta(weeks=10)
    todo = _plan(definitions, [FileChange("email_events", "landing/email_events/x", week, "changed")])
    assert todo.sources == ("email_events",)
    assert todo.raw == todo.events == WeekRange(week, YEAR.last)
    assert _plan(definitions, []).changes == () and _plan(definitions, []).cohorts is None
