"""Week ranges of the two halves of the funnel, derived once from the asset graph.

The funnel splits at developer_events: the sources (raw_<source>, the
identity map, developer_events) are partitioned by event week, the cohorts
(everything downstream) by signup week. A cohort reads the event weeks of its
window (a time-window partition mapping: `start` weeks before its signup week
to `end` after), so event week E feeds the cohorts E-end .. E-start.

`FunnelWeeks.of(asset_graph)` reads the first partition and that window from
the graph; the CLI, backfills, the schedule and the sensor all ask it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import dagster as dg

# Dagster has no public name for the tags that give a run its partition or a range of
# partitions (`partition_key` takes one key only); these are what its own backfills set.
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from funnel_assets.lib.contracts import SOURCES
from funnel_assets.lib.landing import day_files, week_of

WEEK = timedelta(days=7)
EVENTS_ASSET = "developer_events"
VENDOR_ASSET = "vendor_landing_files"  # the vendor files converted into landing files, upstream of every raw asset
SOURCES_SELECTION = dg.AssetSelection.assets(EVENTS_ASSET).upstream()
COHORTS_SELECTION = dg.AssetSelection.assets(EVENTS_ASSET).downstream(include_self=False)
# a cohort asset with this tag carries the data's as-of time in every cohort's rows (days since, as of):
# a new week changes its rows for every cohort, not only for those whose window the week feeds
AS_OF_TAG = "funnel/as_of"
SLICE_TAG = "funnel/slice"  # sources | cohorts | everything: which part of the funnel a run refreshes


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

    @classmethod
    def from_tags(cls, tags) -> WeekRange | None:
        if ASSET_PARTITION_RANGE_START_TAG not in tags:
            return None
        first = date.fromisoformat(tags[ASSET_PARTITION_RANGE_START_TAG])
        return cls(first, date.fromisoformat(tags.get(ASSET_PARTITION_RANGE_END_TAG, first.isoformat())))

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

    @property
    def days(self) -> int:
        """Days of events the open cohorts read: their window, plus the closed and the current week."""
        return 7 * (self.end - self.start + 2)


def partition_label(tags) -> str | None:
    """The partition a run covers, as the UI writes it: a week, or `first...last`."""
    if PARTITION_NAME_TAG in tags:
        return tags[PARTITION_NAME_TAG]
    weeks = WeekRange.from_tags(tags)
    if weeks is None:
        return None
    return weeks.first.isoformat() if weeks.first == weeks.last else f"{weeks.first}...{weeks.last}"


def cohort_window(asset_graph) -> CohortWindow:
    """The widest window any cohort asset reads developer_events with."""
    events = dg.AssetKey(EVENTS_ASSET)
    mappings = [asset_graph.get_partition_mapping(child, events) for child in asset_graph.get(events).child_keys]
    offsets = [(m.start_offset, m.end_offset) for m in mappings if isinstance(m, dg.TimeWindowPartitionMapping)]
    if not offsets:
        return CohortWindow(0, 0)
    return CohortWindow(min(s for s, _ in offsets), max(e for _, e in offsets))


def closed_week(now: datetime) -> date:
    """The Monday of the last week that has fully ended at `now` (UTC)."""
    return week_of(now.astimezone(timezone.utc).date()) - WEEK


@dataclass(frozen=True)
class FunnelWeeks:
    """The weeks one asset graph has: its first partition, and the window its cohorts read."""

    first: date
    window: CohortWindow

    @classmethod
    def of(cls, asset_graph) -> FunnelWeeks:
        partitions_def = asset_graph.get(dg.AssetKey(EVENTS_ASSET)).partitions_def
        return cls(partitions_def.start.date(), cohort_window(asset_graph))

    def open_cohorts(self, closed: date) -> WeekRange:
        """Signup weeks whose window still takes events of the week that just closed."""
        return self.window.open_cohorts(closed).clip(self.first, closed)

    def cohorts_reading(self, events: WeekRange, last_cohort: date) -> WeekRange | None:
        """Signup weeks whose window reads any of the event weeks, up to `last_cohort`."""
        return self.window.cohorts_reading(events).clip(self.first, last_cohort)

    def look_back(self, week: date) -> date:
        """The earliest event week a cohort reading `week` reads (an anonymous link re-attributes that far back)."""
        return max(week + self.window.start * WEEK, self.first)


def identity_sources(asset_graph) -> set[str]:
    """Sources the identity map is built from: a change there re-attributes later events too."""
    sources = set()
    for key in asset_graph.get_all_asset_keys():
        node = asset_graph.get(key)
        if node.group_name == "identity":
            sources |= {p.to_user_string().removeprefix("raw_") for p in node.parent_keys}
    return sources


def landing_weeks(data_dir) -> set[date]:
    """Weeks that hold at least one landing file of any source."""
    return {week_of(f.day) for source in SOURCES for f in day_files(data_dir, source)}
