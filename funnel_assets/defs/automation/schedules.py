"""Schedules: the weekly refresh of the funnel and the (opt-in) raw-data retention."""

import dagster as dg

from funnel_assets.defs.automation.jobs import (
    WeekRange,
    closed_week,
    funnel_weekly_job,
    open_cohorts,
    raw_retention_job,
    slice_request,
)


@dg.schedule(
    cron_schedule="0 6 * * 1",  # Monday 06:00 UTC: the week closed at midnight, its last files have landed
    execution_timezone="UTC",
    job=funnel_weekly_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def funnel_weekly_job_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Two runs: the sources of the week that just closed, then the cohorts still open to its events.

    Runs are queued in this order, and the instance runs one at a time (the
    warehouse is one DuckDB file, see deploy/dagster.yaml), so the cohorts read
    the new week's developer_events.
    """
    closed = closed_week(context.scheduled_execution_time)
    graph = context.repository_def.asset_graph
    return [
        slice_request(graph, "sources", WeekRange(closed, closed), "weekly", run_key=f"sources-{closed}"),
        slice_request(graph, "cohorts", open_cohorts(closed), "weekly", run_key=f"cohorts-{closed}"),
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
