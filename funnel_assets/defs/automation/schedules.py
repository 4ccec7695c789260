"""Schedules: the weekly refresh of the funnel and the (opt-in) raw-data retention."""

import dagster as dg

from funnel_assets.defs.automation.jobs import funnel_weekly_job, raw_retention_job
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.orchestration.launch import WeeksRun
from funnel_assets.orchestration.weeks import FunnelWeeks, WeekRange, closed_week


@dg.schedule(
    cron_schedule="0 6 * * 1",  # Monday 06:00 UTC: the week closed at midnight, its last files have landed
    execution_timezone="UTC",
    job=funnel_weekly_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def funnel_weekly_job_schedule(context: dg.ScheduleEvaluationContext, funnel: FunnelResource) -> list[dg.RunRequest]:
    """Two runs: the sources of the week that just closed, then the cohorts still open to its events.

    The sources run converts the configured vendor sources first.

    Runs are queued in this order, and the instance runs one at a time (the
    warehouse is one DuckDB file, see deploy/dagster.yaml), so the cohorts read
    the new week's developer_events.
    """
    closed = closed_week(context.scheduled_execution_time)
    graph = context.repository_def.asset_graph
    return [
        WeeksRun.of(graph, "sources", WeekRange(closed, closed), "weekly", bool(funnel.vendor_inputs))
        .request(run_key=f"sources-{closed}"),
        WeeksRun.of(graph, "cohorts", FunnelWeeks.of(graph).open_cohorts(closed), "weekly").request(run_key=f"cohorts-{closed}"),
    ]


raw_retention_job_schedule = dg.ScheduleDefinition(
    name="raw_retention_job_schedule",
    job=raw_retention_job,
    cron_schedule="0 4 * * 0",  # Sunday 04:00 UTC, away from the Monday refresh
    execution_timezone="UTC",
    # deleting data is a decision: switch it on in the UI (or set RUNNING) once the windows are agreed
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Deletes raw rows older than the retention window (RetentionConfig); off until switched on.",
)
