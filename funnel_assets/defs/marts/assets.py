"""The metric marts, one row per signup-week cohort (and breakdown)."""

from pathlib import Path

import dagster as dg

from funnel_assets.lib.engines import ENGINE_KIND
from funnel_assets.defs.partitions import COHORT_WINDOW, SINGLE_RUN, WEEKLY
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.cells import members_sql, stage_members, stage_transitions
from funnel_assets.lib.stage_names import STAGES
from funnel_assets.lib.lineage import column_lineage
from funnel_assets.lib.materialize import materialize_sql, partition_bounds
from funnel_assets.orchestration.weeks import AS_OF_TAG

SQL = Path(__file__).parent / "sql"

# What each mart column means; shown in the UI's column schema.
COLUMNS = {
    "cohort_week": "Monday (UTC) of the signup week; for intent -> account_created, of the intent week",
    "from_stage": "Stage the transition starts from",
    "to_stage": "Stage the transition leads to",
    "window_days": "Days after the from stage within which the to stage counts",
    "entered": "Developers (visitors, for intent) who reached the from stage",
    "converted": "Of those, how many reached the to stage no later than the window after it",
    "rate": "converted / entered once the row is complete, else null",
    "rate_so_far": "converted / entered now, provisional while the window is open",
    "is_complete": "The data's as-of time is past the window of the last developer who could enter",
    "benchmark_band": "top_quartile, above_median, median, below_median or warning against the seed's bands; incomplete while open",
    "benchmark_median_low": "Lower end of the benchmark's median range",
    "benchmark_median_high": "Upper end of the benchmark's median range",
    "complete_at": "When the row becomes complete",
    "as_of": "The data's as-of time: the latest event time seen",
    "developers": "Developers of the cohort (in this breakdown)",
    "called": "Developers with a first successful API call",
    "never_called": "Developers without one",
    "p25_s": "25th percentile of time to first API call, seconds",
    "p50_s": "Median time to first API call, seconds",
    "p75_s": "75th percentile of time to first API call, seconds",
    "p90_s": "90th percentile of time to first API call, seconds",
    "client_kind": "sdk, raw_http or unknown, from the user agent",
    "client_name": "The SDK (acme-python, ...) or HTTP client (curl, ...)",
    "requests": "Requests of the cohort's developers made with this client",
    "developer_share": "Share of the cohort's callers whose first successful call used this client",
    "request_share": "Share of the cohort's requests made with this client",
    "depth": "Distinct endpoints of the successful calls in the 24 h from the first one",
    "share": "Share of the cohort's callers at this depth",
    "share_at_least": "Share of the cohort's callers at this depth or more",
    "production_rate": "Share of these developers in production within the horizon (90 days) after signup",
    "user_pid": "The developer's pseudonym (keyed hash of the auth user id)",
    "from_at": "When the developer reached the from stage",
    "days_since_from": "Days from the from stage to the data's as-of time",
    "email_engagement": "high (opened >= 3, clicked >= 1), medium (opened >= 1) or none",
    "suggested_action": "From the seed's e-mail segments: monitor, targeted help offer or other channel",
    "channel": "Acquisition channel of the first pre-signup page view",
    "account_type": "individual or organization",
    "first_day_error_codes": "Distinct non-2xx status codes in the developer's first 24 hours of requests",
    "last_stage_reached": "The furthest funnel stage the developer has reached",
    "bin_order": "Position of the time bin, shortest first",
    "bin": "Time from the from stage to the to stage: minutes, hours, days",
    "upper_s": "Upper end of the bin in seconds (inclusive); null for the last",
    "within_window": "The bin lies inside the transition's window (counted as converted)",
    "cumulative_share": "Share of the developers who reached the to stage in this bin or an earlier one",
}
STAGES_DEP = dg.AssetDep("developer_stages")
EVENTS_DEP = dg.AssetDep("developer_events", partition_mapping=COHORT_WINDOW)


# why a mart is refreshed for every cohort by an incremental run (AS_OF_TAG, orchestration/incremental.py)
AS_OF_IN_EVERY_ROW = "every_row"  # every cohort's rows carry the data's as-of time, not only the open cohorts'
LATER_EVENTS = "later_events"  # a cohort's rows count its developers' events of any later week


def _mart(lineage: dict[str, list[str]] | None = None, every_cohort: str | None = None, **kwargs):
    """`every_cohort`: AS_OF_IN_EVERY_ROW or LATER_EVENTS, when any new week changes every cohort's rows."""
    metadata = {"dagster/column_lineage": column_lineage(lineage)} if lineage else {}
    return dg.asset(
        metadata=metadata,
        group_name="marts",
        partitions_def=WEEKLY,
        backfill_policy=SINGLE_RUN,
        kinds={ENGINE_KIND, "sql"},
        owners=["team:growth"],
        tags={"layer": "marts", **({AS_OF_TAG: every_cohort} if every_cohort else {})},
        **kwargs,
    )


def _materialize(
    context: dg.AssetExecutionContext, funnel: FunnelResource, table: str, members_of: tuple[str, ...] = ()
) -> dg.MaterializeResult:
    """Run the mart's SQL file; first stage the members it counts (its own, and those of `members_of`)."""
    start, end = partition_bounds(context)
    with funnel.connect() as engine:
        stage_transitions(engine, [t.model_dump() for t in funnel.rules.transition_rules])
        for mart in (table, *members_of) if members_sql(table).exists() else members_of:
            stage_members(engine, mart, {**funnel.rules.params(), "week_start": start, "week_end": end})
        return materialize_sql(
            context, engine, table, SQL / f"{table}.sql", funnel.rules.params(), "cohort_week",
            preview=True, descriptions=COLUMNS,
        )


STAGE_TIMES = [f"developer_stages.{stage}_at" for stage in STAGES]


@_mart(
    deps=[STAGES_DEP, EVENTS_DEP, dg.AssetDep("visitor_intents")],
    every_cohort=AS_OF_IN_EVERY_ROW,  # the as_of column
    lineage={
        "entered": STAGE_TIMES + ["visitor_intents.intent_at"],
        "converted": STAGE_TIMES + ["visitor_intents.account_created_at"],
        "rate": STAGE_TIMES + ["visitor_intents.intent_at", "visitor_intents.account_created_at"],
        "is_complete": ["developer_events.event_time"],
    },
)
def mart_stage_conversion(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per signup-week cohort and transition, partitioned by signup week.

    Of the developers who reached `from_stage`, how many reached `to_stage` no
    later than `window_days` after it (a `to` reached earlier counts), with
    the seed's benchmark band. intent -> account_created is counted over
    visitors by intent week. A cohort whose window is still open is
    `incomplete` (rate null, rate_so_far provisional), never a low rate.
    """
    return _materialize(context, funnel, "mart_stage_conversion")


@_mart(
    deps=[STAGES_DEP, EVENTS_DEP],
    lineage={
        f"p{p}_s": ["developer_stages.first_api_call_at", "developer_stages.account_created_at"] for p in (25, 50, 75, 90)
    }
    | {"called": ["developer_stages.first_api_call_at"], "never_called": ["developer_stages.first_api_call_at"]},
)
def mart_ttfac_by_cohort(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per signup-week cohort, partitioned by signup week.

    Time to first API call (first successful call minus account creation) in
    seconds: p25, p50, p75, p90 over the developers who called (linear
    interpolation), how many called and how many never did.
    """
    return _materialize(context, funnel, "mart_ttfac_by_cohort")


@_mart(
    deps=[STAGES_DEP, EVENTS_DEP],
    every_cohort=LATER_EVENTS,  # requests of any later week
    lineage={
        "client_kind": ["developer_stages.client_kind", "developer_events.client_kind"],
        "client_name": ["developer_stages.client_name", "developer_events.client_name"],
        "developers": ["developer_stages.client_name"],
        "requests": ["developer_events.client_name"],
    },
)
def mart_sdk_usage(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per signup-week cohort and client, partitioned by signup week.

    Developers by the client of their first successful call (official SDK by
    language, raw HTTP client, unknown) and all their requests by client,
    with each one's share of the cohort.
    """
    return _materialize(context, funnel, "mart_sdk_usage")


@_mart(
    deps=[STAGES_DEP, EVENTS_DEP],
    lineage={
        "depth": ["developer_stages.first_session_depth"],
        "production_rate": ["developer_stages.production_deployment_at", "developer_stages.account_created_at"],
    },
)
def mart_first_session_depth(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per signup-week cohort and first-session depth, partitioned by signup week.

    Depth = distinct endpoints (method + route template) of the successful
    calls in the 24 hours from the first one. Share of callers at that depth,
    share at that depth or more (the row depth=3 gives the share with >= 3),
    and the production rate (within the horizon) of the developers at it.
    """
    return _materialize(context, funnel, "mart_first_session_depth")


@_mart(
    deps=[STAGES_DEP, EVENTS_DEP],
    lineage={
        f"rate_{d}d": ["developer_stages.production_deployment_at", "developer_stages.account_created_at"]
        for d in (30, 60, 90)
    },
)
def mart_production_rate(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per signup-week cohort, partitioned by signup week.

    Share of the cohort whose production deployment came no later than 30, 60
    and 90 days after account creation, each with a completeness flag.
    """
    return _materialize(context, funnel, "mart_production_rate")


@_mart(deps=[STAGES_DEP, EVENTS_DEP])
def mart_first_day_errors(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per signup-week cohort, endpoint and status code, partitioned by signup week.

    The requests of each developer's first 24 hours (from their first request,
    whatever its status): count, developers, share of the cohort's first-day
    requests, and the endpoint's error rate. High 401 shares point at
    confusing authentication, 400s at an endpoint at undocumented parameters,
    429s at rate limits that hit newcomers.
    """
    return _materialize(context, funnel, "mart_first_day_errors")


@_mart(deps=[STAGES_DEP, EVENTS_DEP])
def mart_segment_conversion(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per signup-week cohort and segment value, partitioned by signup week.

    Segments: acquisition channel, account type, e-mail engagement (high:
    opened >= 3 and clicked >= 1; medium: opened >= 1 otherwise; none) and
    client kind. For each: developers, first call within 7 days, active within
    14 days of the first call, production within 90 days, median TTFAC.
    """
    return _materialize(context, funnel, "mart_segment_conversion")


@_mart(deps=[dg.AssetDep("mart_stage_conversion")])
def mart_bottleneck(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per signup-week cohort, partitioned by signup week.

    The benchmark transition furthest below its benchmark median among the
    cohort's complete rows: where to focus. Null while no row is complete.
    """
    return _materialize(context, funnel, "mart_bottleneck")


@_mart(deps=[STAGES_DEP, EVENTS_DEP, dg.AssetDep("visitor_intents")], every_cohort=AS_OF_IN_EVERY_ROW)  # days_since_from
def mart_dropoffs(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per developer and transition they entered but did not convert within its window, partitioned by signup week.

    The developers `funnel trace mart_stage_conversion --who dropped` lists
    (the same members), once their own window has closed: days since the from
    stage, e-mail engagement segment and the seed's suggested action for it
    (high: monitor, medium: targeted help offer, none: other channel),
    channel, client kind, first-day error codes and the last stage reached.
    Pseudonymous: `funnel trace --reidentify` turns a row into a contact.
    """
    return _materialize(context, funnel, "mart_dropoffs", members_of=("mart_stage_conversion", "mart_first_day_errors"))


@_mart(deps=[STAGES_DEP, EVENTS_DEP, dg.AssetDep("visitor_intents")])
def mart_time_to_convert(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per signup-week cohort, transition and time bin, partitioned by signup week.

    A histogram of the time from `from_stage` to `to_stage` over the members
    of the mart_stage_conversion cell who reached `to_stage`, in bins from
    minutes to days (`before from` for a `to` reached first); `within_window`
    marks the bins the transition's window counts as converted.
    """
    return _materialize(context, funnel, "mart_time_to_convert", members_of=("mart_stage_conversion",))
