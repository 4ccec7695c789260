"""A soak of killed runs: `funnel run` killed at random points, then run again, leaves what a clean run leaves.

Real processes and a real SIGKILL, several times over one warehouse; each kill
lands at a different moment of the run (seeded, so a failure repeats). After
the last, uninterrupted run every table equals the clean run's row for row,
and no run is left STARTED in the instance.
"""

import random
import signal
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from funnel_assets.cli import main
from funnel_assets.lib.engines import connect
from funnel_assets_tests.test_one_writer import _funnel, _wait_for_writer

KILLS = 3


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("soak") / "data"
    assert main(["generate", "--out", str(out), "--developers", "200", "--weeks", "3", "--requests", "10000"]) == 0
    return out


def _run_args(data: Path, warehouse: Path) -> list[str]:
    return ["run", "--data", str(data), "--warehouse", str(warehouse), "--demo-data"]


def _tables(warehouse: Path) -> dict[str, pd.DataFrame]:
    with connect(warehouse, "unused", read_only=True) as engine:
        names = list(engine.frame("select table_name from information_schema.tables order by 1").table_name)
        return {name: engine.frame(f'select * from "{name}" order by all') for name in names}


def test_runs_killed_at_random_points_leave_the_tables_of_a_clean_run(tmp_path, data):
    clean_root, soaked_root = tmp_path / "clean", tmp_path / "soaked"
    clean_root.mkdir()
    soaked_root.mkdir()
    clean = _funnel(clean_root, *_run_args(data, clean_root / "w.duckdb"))
    _, err = clean.communicate(timeout=600)
    assert clean.returncode == 0, err

    warehouse = soaked_root / "w.duckdb"
    chance = random.Random(20261201)
    killed_runs = []
    for _ in range(KILLS):
        run = _funnel(soaked_root, *_run_args(data, warehouse))
        try:
            killed_runs.append(_wait_for_writer(warehouse, run).run_id)
            time.sleep(chance.uniform(0.5, 8.0))
        finally:
            run.send_signal(signal.SIGKILL)
            run.wait(timeout=30)
    last = _funnel(soaked_root, *_run_args(data, warehouse))
    _, err = last.communicate(timeout=600)
    assert last.returncode == 0, err

    instance = dg.DagsterInstance.from_config(str(soaked_root / "dagster_home"))
    try:
        assert not instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        # every killed run that had started is marked failed (one may have died before Dagster recorded it)
        statuses = {instance.get_run_by_id(r).status for r in killed_runs if instance.get_run_by_id(r)}
        assert statuses <= {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS}
    finally:
        instance.dispose()

    expected, found = _tables(clean_root / "w.duckdb"), _tables(warehouse)
    assert sorted(found) == sorted(expected)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(found[name], frame, obj=name)
