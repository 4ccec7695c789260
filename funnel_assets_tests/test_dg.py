"""`dg launch` and `dg dev` (dagster-dg-cli) from the repository root, as the Dagster docs describe them."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from funnel_assets.cli import ensure_instance_config
from funnel_assets_tests.landing import write_landing
from funnel_assets_tests.test_identity_store import _records
from funnel_assets_tests.test_ui_browser import DagsterDev

ROOT = Path(__file__).resolve().parents[1]
DG = Path(sys.executable).parent / "dg"


@pytest.fixture
def world(tmp_path) -> tuple[Path, dict[str, str]]:
    write_landing(tmp_path / "data", _records())
    home = tmp_path / "dagster_home"
    home.mkdir()
    ensure_instance_config(home)  # deploy/dagster.yaml, as funnel and `make ui` write it
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "FUNNEL_DATA_DIR": str(tmp_path / "data"),
        "FUNNEL_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "FUNNEL_ALERT_LOG": str(tmp_path / "alerts.jsonl"),
        # dg runs the project's own environment: this one
        "VIRTUAL_ENV": str(Path(sys.executable).parents[1]),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return home, env


def test_dg_launch_runs_the_weekly_job_over_a_range_of_weeks(world, tmp_path):
    home, env = world
    done = subprocess.run(
        [str(DG), "launch", "--job", "funnel_weekly_job", "--partition-range", "2025-03-03...2025-03-10"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        (run,) = instance.get_runs()
        assert (run.job_name, run.status) == ("funnel_weekly_job", dg.DagsterRunStatus.SUCCESS)
    finally:
        instance.dispose()
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from mart_ttfac_by_cohort").fetchone()[0] > 0
    finally:
        con.close()


def test_dg_dev_serves_the_code_location_by_its_name_whatever_the_folder_is_called(world, tmp_path):
    home, env = world
    dev = DagsterDev(home, env, tmp_path / "dg_dev.log", command=[str(DG), "dev"])  # no workspace file
    try:
        dev.wait_until_up(timeout=180)
        names = dev.graphql("{ workspaceOrError { ... on Workspace { locationEntries { name } } } }")
        assert [e["name"] for e in names["workspaceOrError"]["locationEntries"]] == ["funnel_assets"]
        for _ in range(3):  # requests the UI makes: none may log a warning about the location's name
            assert dev.graphql("{ version }")["version"]
    finally:
        dev.stop()
    warnings = [line for line in dev.log.read_text(errors="replace").splitlines()
                if "WARNING" in line.upper() and "location" in line.lower()]
    assert warnings == []
