"""The developer timeline and the stage table built from it."""

from datetime import date, datetime, time, timezone
from pathlib import Path

import dagster as dg
import pandas as pd

from funnel_assets.defs.partitions import COHORT_WINDOW, SINGLE_RUN, WEEKLY
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.clients import classify
from funnel_assets.lib.contracts import SOURCES
from funnel_assets.lib.engines import ENGINE_KIND, Engine, read_sql
from funnel_assets.lib.landing import cut_weeks
from funnel_assets.lib.lineage import column_lineage
from funnel_assets.lib.materialize import materialize_sql, partition_bounds
from funnel_assets.lib.routes import openapi_paths, template_segments

SQL = Path(__file__).parent / "sql"

EVENT_LINEAGE = {
    "event_time": [
        "raw_gateway_requests.timestamp", "raw_analytics_events.corrected_timestamp", "raw_auth_users.created_at",
        "raw_api_keys.created_at", "raw_email_events.timestamp", "raw_support_tickets.created_at",
    ],
    "user_pid": [
        "identity_key_owners.user_pid", "identity_anonymous_links.user_pid", "identity_users.user_pid",
        "raw_analytics_events.user_id",
    ],
    "key_pid": ["raw_gateway_requests.key_id", "identity_key_owners.key_pid"],
    "key_mode": ["identity_key_owners.mode"],
    "route": ["raw_gateway_requests.path"],
    "endpoint": ["raw_gateway_requests.method", "raw_gateway_requests.path"],
    "status": ["raw_gateway_requests.status"],
    "client_kind": ["raw_gateway_requests.user_agent"],
    "client_name": ["raw_gateway_requests.user_agent"],
    "page_path": ["raw_analytics_events.properties"],
    "channel": ["raw_analytics_events.properties"],
    "event_name": ["raw_analytics_events.event"],
    "environment": ["raw_analytics_events.properties"],
    "campaign": ["raw_email_events.campaign"],
}

STAGE_LINEAGE = {
    "intent_at": ["developer_events.event_time", "developer_events.page_path", "identity_users.created_at"],
    "account_created_at": ["identity_users.created_at"],
    "credential_provisioned_at": ["developer_events.event_time", "developer_events.event_type"],
    "first_api_call_at": ["developer_events.event_time", "developer_events.status"],
    "first_integration_milestone_at": ["developer_events.event_time", "developer_events.event_name"],
    "active_integration_at": ["developer_events.event_time", "developer_events.endpoint", "developer_events.status"],
    "production_deployment_at": [
        "developer_events.event_time", "developer_events.key_mode", "developer_events.event_name",
        "developer_events.environment",
    ],
    "channel": ["developer_events.channel"],
    "client_kind": ["developer_events.client_kind"],
    "client_name": ["developer_events.client_name"],
    "first_session_depth": ["developer_events.endpoint", "developer_events.event_time"],
    "email_engagement": ["developer_events.event_type", "developer_events.campaign"],
    "account_type": ["identity_users.account_type"],
}



def _register_path_routes(engine: Engine, funnel: FunnelResource) -> None:
    """The route of every distinct request path in the warehouse (path_routes.sql), once per run: the API's own
    templates (an OpenAPI document) when configured, else inferred. Each range of weeks joins to it."""
    templates = openapi_paths(Path(funnel.rules.openapi_path)) if funnel.rules.openapi_path else []
    engine.put_frame("_route_templates", template_segments(templates), temporary=True)
    engine.temp_table("_path_routes", read_sql(SQL / "path_routes.sql"), funnel.rules.params())


def _register_client_classes(engine: Engine, funnel: FunnelResource, start, end) -> None:
    """Classify each distinct user agent once, in Python, rather than every request.

    A temporary table: user agents are free text, kept in the raw layer only."""
    agents = engine.frame(
        "select distinct user_agent from raw_gateway_requests "
        "where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date) "
        "and user_agent is not null",
        {"week_start": start, "week_end": end},
    )["user_agent"]
    rules = funnel.rules.client_rules
    classes = [classify(agent, rules) for agent in agents]
    engine.put_frame(
        "_client_classes",
        pd.DataFrame(
            {
                "user_agent": pd.Series(agents, dtype="string"),
                "client_kind": pd.Series([k for k, _ in classes], dtype="string"),
                "client_name": pd.Series([n for _, n in classes], dtype="string"),
            }
        ),
        temporary=True,
    )


# events built (developer_events), or turned into stages (developer_stages), in one statement at most: beyond,
# the joins spill more than a machine's disk may hold (at 100 M requests, over 35 GB and over 25 GB); each week's
# events depend on no other week's, a developer's stages on no other developer's, so ranges give the same rows
EVENTS_AT_ONCE = 20_000_000


def _event_ranges(engine: Engine, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The run's weeks in ranges of at most EVENTS_AT_ONCE requests and analytics events (one range, mostly)."""
    counts = engine.frame(
        "select _event_week as week, count(*) as n from raw_gateway_requests "
        "where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date) group by 1 "
        "union all "
        "select _event_week, count(*) from raw_analytics_events "
        "where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date) group by 1",
        {"week_start": start, "week_end": end},
    )
    sizes: dict[date, int] = {}
    for row in counts.itertuples():
        week = pd.Timestamp(row.week).date()
        sizes[week] = sizes.get(week, 0) + int(row.n)
    return _cut(sizes, start, end)


# each developer's signup week (developer_stages' cohort)
SIGNUP_WEEKS = "select cast(date_trunc('week', created_at) as date) as week from identity_users"


def cohort_ranges(engine: Engine, start: datetime, end: datetime,
                   cohort_weeks: str = SIGNUP_WEEKS) -> list[tuple[datetime, datetime]]:
    """The run's cohort weeks in ranges whose developers have at most about EVENTS_AT_ONCE events: each week's
    developers (a row of `cohort_weeks` each, its column `week`) times the events per developer (at 100 M
    requests the one statement of developer_stages spilled past the 25 GB of free disk). A developer's stages
    depend on their own events alone: ranges give the same rows."""
    signups = engine.frame(
        f"select week, count(*) as n from ({cohort_weeks}) "
        "where week >= cast($week_start as date) and week < cast($week_end as date) group by 1",
        {"week_start": start, "week_end": end},
    )
    per_developer = engine.scalar("select count(*) from developer_events") / max(
        int(engine.scalar("select count(*) from identity_users")), 1)
    sizes = {pd.Timestamp(row.week).date(): int(row.n * per_developer) for row in signups.itertuples()}
    return _cut(sizes, start, end)


def _cut(sizes: dict[date, int], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    at = lambda day: datetime.combine(day, time(), timezone.utc)  # noqa: E731
    return [(at(a), at(b)) for a, b in cut_weeks(sizes, start.date(), end.date(), EVENTS_AT_ONCE)]


@dg.asset(
    group_name="stages",
    partitions_def=WEEKLY,
    backfill_policy=SINGLE_RUN,
    deps=[f"raw_{s}" for s in SOURCES] + ["identity_users", "identity_key_owners", "identity_anonymous_links"],
    kinds={ENGINE_KIND, "sql"},
    owners=["team:data-platform"],
    tags={"layer": "events"},
    metadata={"dagster/column_lineage": column_lineage(EVENT_LINEAGE)},
)
def developer_events(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per attributed event, partitioned by event week.

    Every source in one typed timeline: sign-ups, key creations, API requests
    (attributed through the key that was valid at the time, path mapped to its
    route template, user agent classified), analytics events (anonymous ids
    stitched to users), e-mail events and tickets (joined by hashed e-mail).
    Ids are pseudonymous and free text is scrubbed of e-mail addresses, tokens
    and secrets (lib/scrub.py); requests on keys no user held at the time are left out.
    """
    start, end = partition_bounds(context)
    with funnel.connect() as engine:
        _register_client_classes(engine, funnel, start, end)
        _register_path_routes(engine, funnel)
        result = materialize_sql(
            context, engine, "developer_events", SQL / "developer_events.sql", funnel.rules.params(), "event_week",
            ranges=_event_ranges(engine, start, end),
        )
        # a request has at most one owner (developer_events.sql), so the requests less the gateway events are
        # those left out; counted, not anti-joined on the scrubbed id (which scrubs every request id again)
        unattributed = engine.scalar(
            "select (select count(*) from raw_gateway_requests "
            "        where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)) "
            "     - (select count(*) from developer_events "
            "        where event_week >= cast($week_start as date) and event_week < cast($week_end as date) "
            "          and source = 'gateway')",
            {"week_start": start, "week_end": end},
        )
    return dg.MaterializeResult(metadata={**result.metadata, "unattributed_requests": int(unattributed)})


@dg.asset(
    group_name="stages",
    partitions_def=WEEKLY,
    backfill_policy=SINGLE_RUN,
    deps=["identity_users", dg.AssetDep("developer_events", partition_mapping=COHORT_WINDOW)],
    kinds={ENGINE_KIND, "sql"},
    owners=["team:growth"],
    tags={"layer": "stages"},
    metadata={"dagster/column_lineage": column_lineage(STAGE_LINEAGE)},
)
def developer_stages(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per developer, partitioned by signup week (Monday, UTC).

    The first time of each of the seven stages, each recorded independently
    (never inferred from another), with the id of the event that set it; plus
    acquisition channel, account type, client of the first successful call,
    first-session depth and e-mail engagement.
    """
    start, end = partition_bounds(context)
    with funnel.connect() as engine:
        return materialize_sql(
            context, engine, "developer_stages", SQL / "developer_stages.sql", funnel.rules.params(), "cohort_week",
            ranges=cohort_ranges(engine, start, end),
        )


@dg.asset(
    group_name="stages",
    partitions_def=WEEKLY,
    backfill_policy=SINGLE_RUN,
    deps=["identity_users", dg.AssetDep("developer_events", partition_mapping=COHORT_WINDOW)],
    kinds={ENGINE_KIND, "sql"},
    owners=["team:growth"],
    tags={"layer": "stages"},
)
def visitor_intents(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per visitor with an observed intent, partitioned by intent week.

    A visitor is an anonymous id, or the user its anonymous ids are stitched
    to; its intent is its first docs / pricing / signup page view. Users whose
    first such view came after sign-up are not visitors. The top of the funnel
    (intent -> account_created) is counted over these rows.
    """
    with funnel.connect() as engine:
        return materialize_sql(
            context, engine, "visitor_intents", SQL / "visitor_intents.sql", funnel.rules.params(), "intent_week"
        )
