"""One writer per warehouse, and runs that died: real `funnel` processes, a real SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from funnel_assets.cli import main
from funnel_assets.orchestration.writer_lock import current_writer


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("one_writer") / "data"
    assert main(["generate", "--out", str(out), "--developers", "300", "--weeks", "4", "--requests", "20000"]) == 0
    return out


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(root / "dagster_home"), "FUNNEL_ALERT_LOG": str(root / "alerts.jsonl")}


def _funnel(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "funnel_assets.cli", *args], cwd=root, env=_env(root),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_writer(warehouse: Path, process: subprocess.Popen, timeout: float = 240):
    """The writer record of the run `process` started, once it holds the warehouse and has created it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        writer = current_writer(warehouse)
        if writer is not None and writer.pid == process.pid and warehouse.exists():
            return writer
        time.sleep(0.2)
    raise AssertionError("the run never took the warehouse")


def _run(root: Path, data: Path) -> tuple[Path, list[str]]:
    warehouse = root / "w.duckdb"
    return warehouse, ["run", "--data", str(data), "--warehouse", str(warehouse)]


def test_a_second_run_fails_fast_naming_the_writer_and_show_waits_for_it(tmp_path, data):
    warehouse, run = _run(tmp_path, data)
    first = _funnel(tmp_path, *run)
    try:
        writer = _wait_for_writer(warehouse, first)
        shown = _funnel(tmp_path, "show", "mart_production_rate", "--warehouse", str(warehouse), "--format", "json")
        began = time.monotonic()
        second = _funnel(tmp_path, *run)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 1
        assert time.monotonic() - began < 20  # fails fast, not after a step's worth of lock errors
        line = f"error: warehouse {warehouse} is being written by run {writer.run_id}, pid {first.pid}, since {writer.since}"
        assert err.strip().splitlines() == [line]
        assert first.poll() is None  # the first run goes on

        out, err = shown.communicate(timeout=300)
        assert shown.returncode == 0, err
        assert f"waiting: warehouse {warehouse} is being written by run {writer.run_id}" in err
        assert "Could not set lock" not in err
        assert first.wait(timeout=300) == 0  # show waited for the whole run to end
        assert [row["cohort_week"] for row in json.loads(out)]  # and read its result
    finally:
        first.kill()
    assert current_writer(warehouse) is None


def test_a_killed_run_is_marked_failed_by_the_next_run_with_an_alert(tmp_path, data):
    warehouse, run = _run(tmp_path, data)
    killed = _funnel(tmp_path, *run)
    try:
        dead = _wait_for_writer(warehouse, killed)
        time.sleep(2)  # well inside a step
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)

    instance = dg.DagsterInstance.from_config(str(tmp_path / "dagster_home"))
    try:
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.STARTED  # what Dagster is left with
        again = _funnel(tmp_path, *run)
        out, err = again.communicate(timeout=300)
        assert again.returncode == 0, err
        dead_run = instance.get_run_by_id(dead.run_id)
        assert dead_run.status == dg.DagsterRunStatus.FAILURE
        assert dead_run.job_name == "funnel_weekly_job"  # a CLI run is a run of the job, as the UI shows it
        assert not instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    finally:
        instance.dispose()
    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert [(a["kind"], a["run_id"]) for a in alerts] == [("run_failed", dead.run_id)]
    assert "died while writing" in alerts[0]["details"]
