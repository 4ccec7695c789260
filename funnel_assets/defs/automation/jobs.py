"""The jobs the schedules and sensors launch.

`funnel_weekly_job` holds every funnel asset; a run of it targets one slice
of the funnel over one range of weeks (orchestration/launch.py: `WeeksRun`):
the sources (raw_<source>, the identity map and developer_events, by event
week), the cohorts (everything downstream of developer_events, by signup
week), or everything (`funnel run`).
"""

from datetime import date, datetime, timezone
from pathlib import Path

import dagster as dg

from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.retention import expire_rows, retention_cutoffs
from funnel_assets.orchestration.launch import FUNNEL_GROUPS, JOB
from funnel_assets.orchestration.weeks import FunnelWeeks

SQL = Path(__file__).parent / "sql"

funnel_weekly_job = dg.define_asset_job(
    JOB,
    selection=dg.AssetSelection.groups(*FUNNEL_GROUPS),
    description=(
        "Every funnel asset. Schedules and sensors run it as two slices: the sources "
        "(raw, identity, developer_events) for event weeks, then the cohorts (stages, marts and the report) for "
        "signup weeks; `funnel run` runs it whole."
    ),
)


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
    # the open cohorts read this many days of developer_events: never expire those. An op job has no
    # asset graph of its own (no repository in `execute_in_process`): read the project's.
    from funnel_assets.definitions import defs

    minimum_events_days = FunnelWeeks.of(defs().resolve_asset_graph()).window.days
    cutoffs = retention_cutoffs(as_of, config.raw_days, config.events_days, minimum_events_days)
    with funnel.connect() as engine:
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
