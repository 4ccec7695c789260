"""Schedules: the weekly refresh of the funnel and the (opt-in) raw-data retention."""

import dagster as dg

from funnel_assets.defs.automation.jobs import funnel_weekly_job, raw_retention_job
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.contracts import SOURCES
from funnel_assets.orchestration.incremental import FileChange
from funnel_assets.orchestration.launch import plan_for, runs_for
from funnel_assets.orchestration.weeks import FunnelWeeks, WeekRange, closed_week, landing_weeks


@dg.schedule(
    cron_schedule="0 6 * * 1",  # Monday 06:00 UTC: the week closed at midnight, its last files have landed
    execution_timezone="UTC",
    job=funnel_weekly_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def funnel_weekly_job_schedule(context: dg.ScheduleEvaluationContext, funnel: FunnelResource) -> list[dg.RunRequest]:
    """The week that just closed, as `funnel run` takes a new week (orchestration/incremental.py).

    Every source's files of the closed week are new: the runs re-ingest that
    week (converting the configured vendor sources first), re-derive
    developer_events from the intent look-back before it, rebuild the
    cohorts whose reach takes it, then the as-of marts for every cohort.

    Runs are queued in this order, and the instance runs one at a time (the
    warehouse is one DuckDB file, see deploy/dagster.yaml), so each reads what
    the one before it wrote.
    """
    closed = closed_week(context.scheduled_execution_time)
    graph = context.repository_def.asset_graph
    landed = [w for w in landing_weeks(funnel.data_path) if w <= closed]
    data_weeks = WeekRange(min(landed, default=FunnelWeeks.of(graph).first), closed)
    closed_files = [FileChange(source, f"landing/{source}", closed, "new") for source in SOURCES]
    todo = plan_for(graph, funnel.rules, closed_files, data_weeks, as_of=None)
    runs = runs_for(todo, graph, "weekly", bool(funnel.vendor_inputs))
    return [run.request(run_key=f"{run.slice}-{closed}-{i}") for i, run in enumerate(runs)]


raw_retention_job_schedule = dg.ScheduleDefinition(
    name="raw_retention_job_schedule",
    job=raw_retention_job,
    cron_schedule="0 4 * * 0",  # Sunday 04:00 UTC, away from the Monday refresh
    execution_timezone="UTC",
    # deleting data is a decision: switch it on in the UI (or set RUNNING) once the windows are agreed
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Deletes raw rows older than the retention window (RetentionConfig); off until switched on.",
)
