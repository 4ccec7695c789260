"""The jobs the schedules and sensors launch, and the week arithmetic that picks their partitions.

`funnel_weekly_job` holds every funnel asset; a run of it targets one of two
slices with one partition range each (every weekly asset takes a range in a
single run):

- sources: raw_<source>, the identity map and developer_events, by event week;
- cohorts: everything downstream of developer_events, by signup week.

A cohort reads the event weeks of COHORT_WINDOW (4 before its signup week to
13 after), so event week E feeds the cohorts E-13 .. E+4, and a cohort is open
(still refreshed) while the week that just closed is within its 13 weeks.
"""

from datetime import date, datetime, timezone
from pathlib import Path

import dagster as dg

from funnel_assets.defs.partitions import COHORT_WINDOW, WEEKLY
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.backfill import COHORTS_SELECTION, SOURCES_SELECTION, WEEK, CohortWindow, WeekRange
from funnel_assets.lib.landing import week_of
from funnel_assets.lib.retention import expire_rows, retention_cutoffs

FUNNEL_ASSETS = dg.AssetSelection.groups("ingest", "identity", "stages", "marts", "reports")
SQL = Path(__file__).parent / "sql"
SLICE_TAG = "funnel/slice"  # sources | cohorts: which half of the funnel a run refreshes
WINDOW = CohortWindow(COHORT_WINDOW.start_offset, COHORT_WINDOW.end_offset)

funnel_weekly_job = dg.define_asset_job(
    "funnel_weekly_job",
    selection=FUNNEL_ASSETS,
    description=(
        "Every funnel asset. Schedules and sensors run it as two slices: the sources "
        "(raw, identity, developer_events) for event weeks, then the cohorts (stages, marts and the report) for signup weeks."
    ),
)


def first_week() -> date:
    return WEEKLY.start.date()


def closed_week(now: datetime) -> date:
    """The Monday of the last week that has fully ended at `now` (UTC)."""
    return week_of(now.astimezone(timezone.utc).date()) - WEEK


def open_cohorts(closed: date) -> WeekRange:
    """Signup weeks whose window still takes events of the week that just closed."""
    return WINDOW.open_cohorts(closed).clip(first_week(), closed)


def cohorts_reading(events: WeekRange, last_cohort: date) -> WeekRange | None:
    """Signup weeks whose window reads any of the event weeks, up to `last_cohort`."""
    return WINDOW.cohorts_reading(events).clip(first_week(), last_cohort)


def slice_request(asset_graph, name: str, weeks: WeekRange, reason: str, run_key: str | None = None) -> dg.RunRequest:
    """One run of `funnel_weekly_job` refreshing the sources or the cohorts over a range of weeks."""
    selection = (SOURCES_SELECTION if name == "sources" else COHORTS_SELECTION) & FUNNEL_ASSETS
    return dg.RunRequest(
        run_key=run_key,
        asset_selection=sorted(selection.resolve(asset_graph)),
        tags={**weeks.tags(), SLICE_TAG: name, "funnel/reason": reason},
    )


def minimum_events_days() -> int:
    """Days of developer_events the open cohorts read: their 13 weeks, the 4 before, the closed and current weeks."""
    return 7 * (COHORT_WINDOW.end_offset - COHORT_WINDOW.start_offset + 2)


class RetentionConfig(dg.Config):
    """How long rows are kept, per layer, in days (0: forever)."""

    raw_days: int = 180
    events_days: int = 0
    as_of: str = ""  # YYYY-MM-DD the windows count back from; empty: today (UTC) when the run starts


@dg.op(out=dg.Out(dict))
def expire_old_rows(context: dg.OpExecutionContext, config: RetentionConfig, funnel: FunnelResource) -> dict:
    """Delete raw rows (and, if configured, developer_events rows) of weeks older than the retention window.

    Entity sources (auth_users, api_keys) and analytics events that link an
    anonymous id to a user are kept: the identity map is rebuilt from them.
    Stage tables and marts are never touched, and nothing downstream is
    recomputed, so cohorts already computed keep their numbers.
    """
    as_of = date.fromisoformat(config.as_of) if config.as_of else datetime.now(timezone.utc).date()
    cutoffs = retention_cutoffs(as_of, config.raw_days, config.events_days, minimum_events_days())
    with funnel.engine() as engine:
        deleted = expire_rows(engine, SQL, cutoffs)
    for table, rows in deleted.items():
        context.log.info(f"{table}: {rows} rows of weeks before {cutoffs[table]} deleted")
        if table.startswith("raw_") or table == "developer_events":
            context.log_event(
                dg.AssetObservation(
                    asset_key=table,
                    metadata={"retention_deleted_rows": rows, "retention_kept_from_week": cutoffs[table].isoformat()},
                )
            )
    return deleted


@dg.job(description="Delete raw rows older than the retention window (per layer, in days); stage tables and marts keep their rows.")
def raw_retention_job():
    expire_old_rows()
