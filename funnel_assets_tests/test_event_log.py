"""The instance's event log (orchestration/event_log.py): Dagster's own SQLite files, read back the same
by Dagster's stock storage, with its engines kept open between events."""

from __future__ import annotations

import threading

import dagster as dg

from funnel_assets.cli import instance_config
from funnel_assets.orchestration.event_log import OPEN_SHARDS, FunnelSqliteEventLogStorage

WEEKS = dg.StaticPartitionsDefinition(["2025-01-06", "2025-01-13", "2025-01-20"])


@dg.asset(partitions_def=WEEKS, check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
def numbers(context):
    yield dg.Output(1, metadata={"week": context.partition_key})
    yield dg.AssetCheckResult(passed=context.partition_key != "2025-01-13", metadata={"week": context.partition_key})


def _records(instance: dg.DagsterInstance, event_type) -> list:
    return list(instance.get_event_records(dg.EventRecordsFilter(event_type=event_type), limit=1000))


def test_runs_recorded_through_it_read_the_same_with_dagsters_own_storage(tmp_path):
    home = tmp_path / "instance"
    home.mkdir()
    (home / "dagster.yaml").write_text(instance_config(home))
    instance = dg.DagsterInstance.from_config(str(home))
    assert isinstance(instance.event_log_storage, FunnelSqliteEventLogStorage)

    runs = []
    for _ in range(OPEN_SHARDS + 2):  # more runs than engines kept: the oldest are closed and reopened
        for week in WEEKS.get_partition_keys():
            result = dg.materialize([numbers], instance=instance, partition_key=week, raise_on_error=False)
            runs.append(result.run_id)
    reader_saw = []
    reader = threading.Thread(target=lambda: reader_saw.append(len(instance.get_records_for_run(runs[0]).records)))
    reader.start()  # another thread of the same process (funnel run's progress watcher) reads through it
    reader.join()
    ours = {
        "materialized": [(r.run_id, r.partition_key) for r in _records(instance, dg.DagsterEventType.ASSET_MATERIALIZATION)],
        "checks": [(r.run_id, r.partition_key, r.event_log_entry.dagster_event.event_specific_data.passed)
                   for r in _records(instance, dg.DagsterEventType.ASSET_CHECK_EVALUATION)],
        "first run": [r.event_log_entry.dagster_event_type for r in instance.get_records_for_run(runs[0]).records],
    }
    instance.dispose()

    stock_home = tmp_path / "stock"
    stock_home.mkdir()
    (stock_home / "dagster.yaml").write_text(f"storage:\n  sqlite:\n    base_dir: {home}\n")
    stock = dg.DagsterInstance.from_config(str(stock_home))
    assert type(stock.event_log_storage).__name__ == "SqliteEventLogStorage"
    theirs = {
        "materialized": [(r.run_id, r.partition_key) for r in _records(stock, dg.DagsterEventType.ASSET_MATERIALIZATION)],
        "checks": [(r.run_id, r.partition_key, r.event_log_entry.dagster_event.event_specific_data.passed)
                   for r in _records(stock, dg.DagsterEventType.ASSET_CHECK_EVALUATION)],
        "first run": [r.event_log_entry.dagster_event_type for r in stock.get_records_for_run(runs[0]).records],
    }
    assert theirs == ours
    assert len(ours["materialized"]) == len(runs) == 3 * (OPEN_SHARDS + 2)
    assert sorted(passed for *_, passed in ours["checks"]).count(False) == OPEN_SHARDS + 2  # one failing week per round
    assert reader_saw == [len(ours["first run"])] and dg.DagsterEventType.STEP_SUCCESS in ours["first run"]
    latest = stock.get_latest_materialization_event(dg.AssetKey("numbers"))
    assert latest.run_id == runs[-1]
    stock.dispose()
