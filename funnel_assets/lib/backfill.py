"""Week ranges of the two halves of the funnel, and backfills of signup weeks.

The funnel splits at developer_events: the sources (raw_<source>, the
identity map, developer_events) are partitioned by event week, the cohorts
(everything downstream) by signup week. A cohort reads the event weeks of its
window (a time-window partition mapping: `start` weeks before its signup week
to `end` after), so event week E feeds the cohorts E-end .. E-start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from funnel_assets.lib.contracts import SOURCES
from funnel_assets.lib.landing import day_files, week_of
from funnel_assets.lib.runner import StepProgress, materialize_weeks, runnable

WEEK = timedelta(days=7)
EVENTS_ASSET = "developer_events"
SOURCES_SELECTION = dg.AssetSelection.assets(EVENTS_ASSET).upstream()
COHORTS_SELECTION = dg.AssetSelection.assets(EVENTS_ASSET).downstream(include_self=False)
BACKFILL_TAG = "funnel/backfill"


@dataclass(frozen=True)
class WeekRange:
    """Mondays [first, last], both included."""

    first: date
    last: date

    def tags(self) -> dict[str, str]:
        """Run tags that make every weekly asset of the run take the whole range."""
        return {
            ASSET_PARTITION_RANGE_START_TAG: self.first.isoformat(),
            ASSET_PARTITION_RANGE_END_TAG: self.last.isoformat(),
        }

    def clip(self, first: date, last: date) -> WeekRange | None:
        clipped = WeekRange(max(self.first, first), min(self.last, last))
        return clipped if clipped.first <= clipped.last else None

    def __str__(self) -> str:
        return f"{self.first}..{self.last}"


@dataclass(frozen=True)
class CohortWindow:
    """Event weeks a cohort reads, relative to its signup week: [start, end] (start <= 0 <= end)."""

    start: int
    end: int

    def cohorts_reading(self, events: WeekRange) -> WeekRange:
        """Signup weeks whose window reads any of the event weeks."""
        return WeekRange(events.first - self.end * WEEK, events.last - self.start * WEEK)

    def events_read_by(self, cohorts: WeekRange) -> WeekRange:
        """Event weeks the windows of the signup weeks read."""
        return WeekRange(cohorts.first + self.start * WEEK, cohorts.last + self.end * WEEK)

    def open_cohorts(self, closed: date) -> WeekRange:
        """Signup weeks whose window still takes events of the week that just closed."""
        return WeekRange(closed - self.end * WEEK, closed)


def cohort_window(asset_graph) -> CohortWindow:
    """The widest window any cohort asset reads developer_events with."""
    events = dg.AssetKey(EVENTS_ASSET)
    mappings = [asset_graph.get_partition_mapping(child, events) for child in asset_graph.get(events).child_keys]
    offsets = [(m.start_offset, m.end_offset) for m in mappings if isinstance(m, dg.TimeWindowPartitionMapping)]
    if not offsets:
        return CohortWindow(0, 0)
    return CohortWindow(min(s for s, _ in offsets), max(e for _, e in offsets))


def landing_weeks(data_dir) -> set[date]:
    """Weeks that hold at least one landing file of any source."""
    return {week_of(f.day) for source in SOURCES for f in day_files(data_dir, source)}


def backfill(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    resource: dg.ConfigurableResource,
    first_week: date,
    last_week: date,
    report: Callable[[StepProgress], None] | None = None,
) -> list[dg.ExecuteInProcessResult]:
    """Rebuild the cohorts of signup weeks [first_week, last_week] (Mondays) from the landing files.

    Run 1 re-ingests the event weeks those cohorts read (the weeks of their
    window that have landing files) with the identity map and
    developer_events; run 2, only if run 1 succeeded, rebuilds the cohort
    assets for the signup weeks. Each run replaces the partitions it writes,
    so repeating a backfill gives the same tables. Both runs are recorded in
    the instance (tag funnel/backfill) and show in the UI.
    """
    if first_week.weekday() or last_week.weekday():
        raise ValueError(f"weeks are named by their Monday: {first_week} / {last_week}")
    if first_week > last_week:
        raise ValueError(f"--from {first_week} is after --to {last_week}")
    graph = defs.resolve_asset_graph()
    partitions_def = graph.get(dg.AssetKey(EVENTS_ASSET)).partitions_def
    first_partition = date.fromisoformat(partitions_def.get_first_partition_key())
    last_partition = date.fromisoformat(partitions_def.get_last_partition_key())
    cohorts = WeekRange(first_week, last_week).clip(first_partition, last_partition)
    if cohorts is None:
        raise ValueError(f"no signup week between {first_week} and {last_week} is a partition ({first_partition}..{last_partition})")

    window = cohort_window(graph)
    weeks = [w for w in landing_weeks(resource.data_path) if first_partition <= w <= last_partition]
    needed = window.events_read_by(cohorts)
    in_window = [w for w in weeks if needed.first <= w <= needed.last]
    assets = runnable(defs)
    label = f"{cohorts.first}..{cohorts.last}"
    results = []
    if in_window:
        events = WeekRange(min(in_window), max(in_window))
        results.append(_run(instance, assets, resource, SOURCES_SELECTION.resolve(graph), events, label, report))
        if not results[-1].success:
            return results
    results.append(_run(instance, assets, resource, COHORTS_SELECTION.resolve(graph), cohorts, label, report))
    return results


def _run(instance, assets, resource, keys, weeks: WeekRange, label: str, report) -> dg.ExecuteInProcessResult:
    return materialize_weeks(
        assets, resource, instance, weeks.first, weeks.last, report, selection=sorted(keys), tags={BACKFILL_TAG: label}
    )
