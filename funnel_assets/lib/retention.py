"""Retention: which weeks of which tables are old enough to delete, and deleting them.

Windows count whole weeks: a table keeps every row of the week its cutoff
falls in and after; rows of earlier weeks (by `_event_week` / `event_week`)
go. Only tables listed here can expire; stage tables and marts never do.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from funnel_assets.lib.engines import Engine, read_sql
from funnel_assets.lib.landing import week_of

# Raw event sources and the quarantine. auth_users and api_keys are not here:
# the identity map is rebuilt from all of them on every run.
RAW_LAYER = ("raw_gateway_requests", "raw_analytics_events", "raw_email_events", "raw_support_tickets", "quarantine")
EVENTS_LAYER = ("developer_events",)

# The closed week and the week in progress always stay, whatever the setting.
MINIMUM_RAW_DAYS = 14


def retention_cutoffs(as_of: date, raw_days: int, events_days: int, minimum_events_days: int) -> dict[str, date]:
    """The first week each expiring table keeps; a layer with 0 days keeps everything."""
    if raw_days and raw_days < MINIMUM_RAW_DAYS:
        raise ValueError(f"raw_days={raw_days}: keep at least {MINIMUM_RAW_DAYS} days (or 0 for forever)")
    if events_days and events_days < minimum_events_days:
        raise ValueError(
            f"events_days={events_days}: open cohorts still read {minimum_events_days} days of developer_events; "
            "a shorter window would change them on their next refresh"
        )
    cutoffs: dict[str, date] = {}
    if raw_days:
        cutoffs |= {table: week_of(as_of - timedelta(days=raw_days)) for table in RAW_LAYER}
    if events_days:
        cutoffs |= {table: week_of(as_of - timedelta(days=events_days)) for table in EVENTS_LAYER}
    return cutoffs


def expire_rows(engine: Engine, sql_dir: Path, cutoffs: dict[str, date]) -> dict[str, int]:
    """Run `expire_<table>.sql` for each table that exists; rows deleted per table."""
    deleted = {}
    for table, cutoff in cutoffs.items():
        if not engine.table_exists(table):
            continue
        deleted[table] = int(engine.scalar(read_sql(sql_dir / f"expire_{table}.sql"), {"cutoff_week": cutoff}))
    return deleted
