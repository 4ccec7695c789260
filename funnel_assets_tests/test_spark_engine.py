"""The Spark engine's storage: Parquet partitioned by week, idempotent partition replacement, UTC timestamps."""

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from funnel_assets.lib.engines.spark_engine import CATALOG, SparkEngine

WEEKS = [date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20)]
WEEK = "_event_week >= cast($week_start as date) and _event_week < cast($week_end as date)"

EVENTS_SQL = """
    select _event_week, n, event_time, request_id
    from _all_events
    where n < $per_week and _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)
"""


def _all_events(engine: SparkEngine) -> None:
    """One row per (week, n): request n of a week, n hours after the week starts."""
    rows = [(w, n, datetime.combine(w, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=n), f"req_{w}_{n}")
            for w in WEEKS for n in range(6)]
    frame = pd.DataFrame(rows, columns=["_event_week", "n", "event_time", "request_id"])
    engine.put_frame("_all_events", frame.astype({"event_time": "datetime64[us, UTC]"}), temporary=True)


def _week_range(start: date, weeks: int = 1) -> dict:
    begin = datetime.combine(start, datetime.min.time(), tzinfo=timezone.utc)
    return {"week_start": begin, "week_end": begin + timedelta(weeks=weeks)}


def _write(engine: SparkEngine, start: date, weeks: int, per_week: int) -> int:
    bounds = _week_range(start, weeks)
    _all_events(engine)
    params = {"per_week": per_week, **bounds}
    return engine.replace_rows("raw_events", EVENTS_SQL, params, WEEK, bounds, partition_by=("_event_week",))


def _rows(engine: SparkEngine) -> list[tuple]:
    return engine.rows("select _event_week, n, event_time, request_id from raw_events order by all")[1]


@pytest.fixture
def warehouse(spark, tmp_path) -> Path:
    return tmp_path / "warehouse"


def test_replacing_the_same_weeks_twice_leaves_the_same_rows(spark, warehouse):
    engine = SparkEngine(spark, str(warehouse))
    assert _write(engine, WEEKS[0], 3, per_week=4) == 12
    first = _rows(engine)
    assert _write(engine, WEEKS[0], 3, per_week=4) == 12
    assert _rows(engine) == first
    assert len(first) == 12
    # stored as Parquet, one folder per week
    assert sorted(p.name for p in (warehouse / "raw_events").iterdir() if p.is_dir()) == [
        f"_event_week={w.isoformat()}" for w in WEEKS]
    engine.close()


def test_a_replaced_week_leaves_the_other_weeks_untouched_and_an_emptied_week_goes(spark, warehouse):
    engine = SparkEngine(spark, str(warehouse))
    _write(engine, WEEKS[0], 3, per_week=2)
    before = {r for r in _rows(engine) if r[0] != WEEKS[1]}
    files = {p: p.stat().st_mtime_ns for w in (WEEKS[0], WEEKS[2])
             for p in (warehouse / "raw_events" / f"_event_week={w}").glob("*.parquet")}
    assert _write(engine, WEEKS[1], 1, per_week=5) == 5
    after = _rows(engine)
    assert [r for r in after if r[0] == WEEKS[1]] == [
        (WEEKS[1], n, datetime(2025, 1, 13, n, tzinfo=timezone.utc), f"req_2025-01-13_{n}") for n in range(5)]
    assert {r for r in after if r[0] != WEEKS[1]} == before
    assert {p: p.stat().st_mtime_ns for p in files} == files  # the other weeks' files were not rewritten
    # the week rewritten with no rows is empty, not left as it was
    assert _write(engine, WEEKS[1], 1, per_week=0) == 0
    assert [r for r in _rows(engine) if r[0] == WEEKS[1]] == []
    assert {r for r in _rows(engine)} == before
    engine.close()


def test_tables_schema_and_existence_survive_a_new_session_of_the_same_warehouse(spark, warehouse):
    engine = SparkEngine(spark, str(warehouse))
    assert not engine.table_exists("raw_events") and engine.tables() == []
    _write(engine, WEEKS[0], 1, per_week=1)
    engine.put_frame("config", pd.DataFrame({"name": ["a", "b"], "value": [1, 2]}))
    engine.close()

    again = SparkEngine(spark, str(warehouse))  # another run: reads what is stored
    assert again.tables() == ["config", "raw_events"]
    assert again.table_exists("raw_events") and not again.table_exists("missing")
    assert CATALOG not in again.tables()
    assert again.schema("raw_events") == [
        ("_event_week", "date"), ("n", "bigint"), ("event_time", "timestamp"), ("request_id", "string")]
    assert again.partition_columns("raw_events") == ("_event_week",)
    assert again.frame("select * from config order by name").to_dict("list") == {"name": ["a", "b"], "value": [1, 2]}
    again.close()


def test_timestamps_round_trip_in_utc_as_microseconds(spark, warehouse):
    import pyarrow.parquet as pq

    engine = SparkEngine(spark, str(warehouse))
    instant = datetime(2025, 3, 30, 1, 30, 15, 123456, tzinfo=timezone.utc)  # a DST night in Europe
    engine.put_frame("instants", pd.DataFrame({"at": pd.Series([instant], dtype="datetime64[us, UTC]")}))
    assert engine.scalar("select at from instants") == instant
    assert engine.scalar("select cast(at as string) from instants") == "2025-03-30 01:30:15.123456"
    assert engine.scalar("select count(*) from instants where at = $t", {"t": instant}) == 1
    stored = pq.read_table(next((warehouse / "instants").glob("*.parquet")))
    assert str(stored.schema.field("at").type).startswith("timestamp[us")
    engine.close()


def test_temporary_tables_are_snapshots_and_shadow_a_stored_table_until_dropped(spark, warehouse):
    engine = SparkEngine(spark, str(warehouse))
    _write(engine, WEEKS[0], 1, per_week=3)
    engine.temp_table("_counted", "select count(*) as n from raw_events")
    _write(engine, WEEKS[0], 1, per_week=1)
    assert engine.scalar("select n from _counted") == 3  # computed when made, as on DuckDB
    engine.temp_view("raw_events", "select * from raw_events where n < 0")
    assert engine.scalar("select count(*) from raw_events") == 0
    engine.drop_temp("raw_events")
    assert engine.scalar("select count(*) from raw_events") == 1
    engine.close()


def test_an_unpartitioned_table_keeps_the_rows_outside_the_replaced_range(spark, warehouse):
    engine = SparkEngine(spark, str(warehouse))
    _all_events(engine)
    everything = "select * from _all_events where n < 2"
    engine.replace_rows("flat", everything, {}, "true", {})
    bounds = _week_range(WEEKS[1])
    assert engine.replace_rows("flat", "select * from _all_events where n < 2 and _event_week = cast($week_start as date)",
                               bounds, "_event_week = cast($week_start as date)", bounds) == 2
    assert engine.scalar("select count(*) from flat") == 6
    assert engine.replace_rows("flat", "select * from _all_events where false", {},
                               "_event_week = cast($week_start as date)", bounds) == 0
    assert engine.rows("select distinct _event_week from flat order by 1")[1] == [(WEEKS[0],), (WEEKS[2],)]
    engine.close()


def test_parameters_are_bound_lists_and_instants_included(spark, warehouse):
    engine = SparkEngine(spark, str(warehouse))
    _all_events(engine)
    at = datetime(2025, 1, 13, 3, tzinfo=timezone(timedelta(hours=2)))  # 01:00 UTC
    assert sorted(engine.rows("select request_id from _all_events where event_time = $at", {"at": at})[1]) == [
        ("req_2025-01-13_1",)]
    assert engine.scalar("select count(*) from _all_events where array_contains($ids, request_id)",
                         {"ids": ["req_2025-01-06_0", "req_2025-01-20_5", "nothing"]}) == 2
    engine.close()
