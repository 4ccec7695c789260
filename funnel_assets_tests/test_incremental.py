"""`funnel run` on a warehouse that has seen the data re-reads only new or changed files, and gives the marts
a full rebuild gives.

Simulated data with its last week's files held back is run; the files are
restored and `funnel run` again rebuilds only what they feed; every mart (and
the stage tables) then equals, row for row, a fresh `funnel run --full` on all
files. Then a file of an old week changes, and the same holds again.
"""

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from funnel_assets.cli import main
from funnel_assets.lib.contracts import SOURCES
from funnel_assets.lib.engine import connect
from funnel_assets.lib.landing import day_files
from funnel_assets.lib.simulator import generate

KEY = "a-key-of-the-incremental-tests"
COMPARED = "table_name like 'mart_%' or table_name in ('developer_stages', 'visitor_intents', 'org_stages')"


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
        names = engine.frame(f"select table_name from information_schema.tables where {COMPARED} order by 1").table_name
        frames = {name: engine.frame(f'select * from "{name}"') for name in names}
    # rows in a stable order whatever the column types (lists included)
    return {name: f.iloc[f.astype(str).apply(tuple, axis=1).argsort()].reset_index(drop=True) for name, f in frames.items()}


def _assert_same_tables(incremental: Path, full: Path) -> None:
    ours, theirs = _tables(incremental), _tables(full)
    assert set(ours) == set(theirs) and "mart_stage_conversion" in ours and "mart_org_production_rate" in ours
    for name in theirs:
        assert len(theirs[name]) > 0 or name.startswith("mart_"), name
        pd.testing.assert_frame_equal(ours[name], theirs[name], obj=name)


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

    assert "the warehouse was up to date" in _run(data, warehouse, capsys, "--demo-data")


def _full(data: Path, folder: Path, capsys) -> Path:
    warehouse = folder / "w.duckdb"
    out = _run(data, warehouse, capsys, "--demo-data", "--full")
    assert "incremental:" not in out
    return warehouse
