"""The instance's event log (orchestration/event_log.py): Dagster's own SQLite files, read back the same
by Dagster's stock storage, with its engines kept open between events."""

from __future__ import annotations

import os
import threading

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from funnel_assets.cli import instance_config
from funnel_assets.orchestration.event_log import BATCH_SIZE_VARIABLE, OPEN_SHARDS, FunnelSqliteEventLogStorage

WEEKS = dg.StaticPartitionsDefinition(["2025-01-06", "2025-01-13", "2025-01-20"])


@dg.asset(partitions_def=WEEKS, check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
def numbers(context):
    yield dg.Output(1, metadata={"week": context.partition_key})
    yield dg.AssetCheckResult(passed=context.partition_key != "2025-01-13", metadata={"week": context.partition_key})


@dg.asset(partitions_def=WEEKS, backfill_policy=dg.BackfillPolicy.single_run())
def weekly_totals(context):
    return dg.MaterializeResult(metadata={"weeks": len(context.partition_keys)})


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


def test_a_run_over_a_range_of_weeks_stores_its_events_in_batches_read_the_same_by_dagsters_own_storage(
        tmp_path, monkeypatch):
    """One materialisation per week of the range, handed over as one batch (and the planned ones before them)."""
    home = tmp_path / "instance"
    home.mkdir()
    (home / "dagster.yaml").write_text(instance_config(home))
    instance = dg.DagsterInstance.from_config(str(home))
    assert int(os.environ[BATCH_SIZE_VARIABLE]) >= len(WEEKS.get_partition_keys())
    stored = []
    original = FunnelSqliteEventLogStorage.store_event_batch
    monkeypatch.setattr(FunnelSqliteEventLogStorage, "store_event_batch",
                        lambda self, events: (stored.append(len(events)), original(self, events)))
    keys = WEEKS.get_partition_keys()
    result = dg.materialize([weekly_totals], instance=instance,
                            tags={ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]})
    monkeypatch.undo()
    assert result.success
    assert stored == [3, 3]  # the planned materialisations, then the materialisations: a batch of a week each
    instance.dispose()

    stock_home = tmp_path / "stock"
    stock_home.mkdir()
    (stock_home / "dagster.yaml").write_text(f"storage:\n  sqlite:\n    base_dir: {home}\n")
    stock = dg.DagsterInstance.from_config(str(stock_home))
    key = dg.AssetKey("weekly_totals")
    materialized = _records(stock, dg.DagsterEventType.ASSET_MATERIALIZATION)
    assert sorted(r.partition_key for r in materialized) == keys
    assert {r.run_id for r in materialized} == {result.run_id}
    assert sorted(stock.get_materialized_partitions(key)) == keys
    assert stock.get_latest_materialization_event(key).run_id == result.run_id
    planned = _records(stock, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    assert sorted(r.partition_key for r in planned) == keys
    in_run = [r.event_log_entry.dagster_event_type for r in stock.get_records_for_run(result.run_id).records]
    assert in_run.count(dg.DagsterEventType.ASSET_MATERIALIZATION) == 3
    stock.dispose()
