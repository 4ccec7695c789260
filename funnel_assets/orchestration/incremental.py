"""Which landing files need re-reading and which weeks rebuilding, on a warehouse that has seen the data before.

A landing file is unchanged when `ingested_files` holds it with the same size
and modification time, or, when those differ, the same content hash; else it
is new or changed; a recorded file that is gone is removed. What a set of
such files makes stale, and why:

- raw: the changed sources, from the first week with a change to the last
  week of data. A raw week depends on the weeks before it (a duplicate's first
  occurrence, a state entity's first version), so the weeks after a change are
  read again; unchanged sources are not read at all.
- developer_events: the same weeks, and for a source of the identity map
  also the intent look-back before the change (a new anonymous link attributes
  earlier page views).
- cohorts: the signup weeks whose reach takes any of those event weeks, or the
  week of the data's previous as-of time (a completeness flag that flips).
  The reach is the cohort window of the asset graph (weeks.py), extended to
  what the funnel rules read: a stage reached up to `horizon_days` after
  signup, then the longest transition window.
- cohort assets tagged AS_OF_TAG: every cohort, since each row carries the
  as-of time, or counts its developers' events of any later week. The
  leading indicators, which compare a cohort with the trailing ones, need no
  more than the cohorts above: a changed cohort changes the rows of the
  cohorts after it, and those run to the last week of data.

Nothing here touches a connection: the warehouse is read through the engine's
`frame()` and `table_exists()`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import dagster as dg
import pandas as pd

from funnel_assets.lib.contracts import SOURCES
from funnel_assets.lib.ingest import FILES_TABLE, content_hash
from funnel_assets.lib.landing import day_files, week_of
from funnel_assets.orchestration.weeks import AS_OF_TAG, COHORTS_SELECTION, EVENTS_ASSET, CohortWindow, FunnelWeeks, WeekRange
from funnel_assets.orchestration.writer_lock import WAREHOUSE_TAG

RECORDED = ("source", "_source_file", "_event_week", "size_bytes", "modified_ns", "content_sha256")


@dataclass(frozen=True)
class FileChange:
    source: str
    file: str  # relative to the data folder, as ingested_files names it
    week: date
    change: str  # new | changed | removed


def landing_changes(engine, data_dir: Path) -> list[FileChange] | None:
    """Landing files that differ from what the warehouse ingested: new, changed, or recorded and now gone.

    None when the warehouse has no record of ingested files with their size, time and hash: it has not seen
    this data, and everything is to be built."""
    if not engine.table_exists(FILES_TABLE):
        return None
    if set(RECORDED) - set(engine.frame(f"select * from {FILES_TABLE} limit 0").columns):
        return None  # a warehouse from before files were recorded with their hash
    recorded = engine.frame(f"select source, _source_file as file, _event_week as week, size_bytes, modified_ns, "
                            f"content_sha256 from {FILES_TABLE}")
    if recorded.empty:
        return None
    seen = {row.source + "\0" + row.file: row for row in recorded.itertuples()}
    changes, present = [], set()
    for source in SOURCES:
        for day_file in day_files(data_dir, source):
            file = day_file.path.relative_to(data_dir).as_posix()
            present.add(source + "\0" + file)
            row = seen.get(source + "\0" + file)
            if row is None:
                changes.append(FileChange(source, file, day_file.week, "new"))
                continue
            stat = os.stat(day_file.path)
            if (stat.st_size, stat.st_mtime_ns) == (row.size_bytes, row.modified_ns):
                continue
            if content_hash(day_file.path) != row.content_sha256:
                changes.append(FileChange(source, file, day_file.week, "changed"))
    for key, row in seen.items():
        if key not in present:
            changes.append(FileChange(row.source, row.file, pd.Timestamp(row.week).date(), "removed"))
    return changes


def data_as_of(engine) -> datetime | None:
    """The as-of time the marts were last computed with: the latest event time in developer_events."""
    if not engine.table_exists(EVENTS_ASSET):
        return None
    value = engine.frame(f"select max(event_time) as as_of from {EVENTS_ASSET}").as_of.iloc[0]
    return None if value is None or value != value else value.to_pydatetime().astimezone(timezone.utc)


def cohort_reach(graph_window: CohortWindow, horizon_days: int, longest_window_days: int,
                 outcome_days: int = 0) -> CohortWindow:
    """The event weeks a cohort's marts read, relative to its signup week.

    A developer of signup week S signs up before S + 7 days; a stage counted for them comes no later than
    horizon_days after that, and the stage a transition leads to up to its window later still. The drivers'
    outcome (`outcome_days` after signup) closes, and the cohort joins their pool, within the reach too."""
    # days after S that can still change a row of S
    last_day = 7 + max(horizon_days + longest_window_days, outcome_days)
    return CohortWindow(graph_window.start, max(graph_window.end, math.ceil(last_day / 7) - 1))


@dataclass(frozen=True)
class Plan:
    """What an incremental run rebuilds; a range is None when nothing needs it."""

    changes: tuple[FileChange, ...]
    sources: tuple[str, ...]  # raw_<source> to re-ingest
    raw: WeekRange | None
    events: WeekRange | None
    cohorts: WeekRange | None  # every cohort asset
    as_of_cohorts: WeekRange | None  # the cohort assets tagged AS_OF_TAG

    def describe(self) -> str:
        if not self.changes:
            return "incremental: no landing file is new, changed or removed since the last run; nothing to rebuild"
        kinds = {kind: sum(c.change == kind for c in self.changes) for kind in ("new", "changed", "removed")}
        files = ", ".join(f"{n} {kind}" for kind, n in kinds.items() if n)
        return (f"incremental: {files} landing files; re-reading {', '.join(self.sources)} for weeks {self.raw}, "
                f"developer_events weeks {self.events}, cohorts {self.cohorts}")


def plan(changes: list[FileChange], weeks: FunnelWeeks, reach: CohortWindow, identity: set[str],
         data_weeks: WeekRange, as_of: datetime | None) -> Plan:
    """The weeks `changes` make stale (see the module docstring), for data covering `data_weeks`."""
    if not changes:
        return Plan((), (), None, None, None, None)
    first, last = max(data_weeks.first, weeks.first), data_weeks.last
    raw = WeekRange(max(min(c.week for c in changes), first), last)
    events_first = min(weeks.look_back(c.week) if c.source in identity else c.week for c in changes)
    events = WeekRange(max(events_first, first), last)
    # the previous as-of week: cohorts whose completeness could flip now that the data reaches further
    flips_from = events.first if as_of is None else min(events.first, week_of(as_of.date()))
    cohorts = reach.cohorts_reading(WeekRange(flips_from, last)).clip(first, last)
    return Plan(tuple(changes), tuple(sorted({c.source for c in changes})), raw, events, cohorts,
                WeekRange(first, last))


def as_of_assets(graph) -> set[dg.AssetKey]:
    """Cohort assets any new week changes for every cohort: every row carries the data's as-of time, or counts
    the developers' events of any later week."""
    return {key for key in COHORTS_SELECTION.resolve(graph) if graph.get(key).tags.get(AS_OF_TAG)}


def previous_run_succeeded(instance: dg.DagsterInstance, warehouse: Path) -> bool:
    """Whether the last run that wrote the warehouse (recorded in this instance) succeeded.

    A run that failed or died may have recorded files as ingested without finishing what they feed, so the
    run after it rebuilds everything."""
    runs = instance.get_runs(dg.RunsFilter(tags={WAREHOUSE_TAG: str(Path(warehouse).resolve())}), limit=1)
    return bool(runs) and runs[0].status == dg.DagsterRunStatus.SUCCESS
