"""The organisation marts, one row per cohort of organisations (the week their first developer joined).

Conversion, time to first call and production rate are the developer marts'
own SQL and members files run over `org_stages` (see `funnel_assets.lib.orgs`),
so the windows, horizon and completeness rules are the same by construction.
"""

import dagster as dg

from funnel_assets.defs.marts.assets import AS_OF_IN_EVERY_ROW, COLUMNS, SQL, _mart
from funnel_assets.defs.partitions import COHORT_WINDOW
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.cells import stage_members, stage_transitions
from funnel_assets.lib.materialize import materialize_sql, partition_bounds
from funnel_assets.lib.orgs import DEVELOPER_MART, org_transitions, orgs_as_developers

ORG_COLUMNS = COLUMNS | {
    "cohort_week": "Monday (UTC) of the week the organisation's first developer joined",
    "entered": "Organisations that reached the from stage",
    "converted": "Of those, how many reached the to stage no later than the window after it",
    "developers": "Organisations of the cohort (mart_org_ttfac, mart_org_production_rate); "
                  "developers they had when reaching the stage (mart_org_developers_by_stage)",
    "called": "Organisations with a first successful API call",
    "never_called": "Organisations without one",
    "p25_s": "25th percentile of the organisation's time to first API call (from its first developer joining), seconds",
    "p50_s": "Median of the organisation's time to first API call, seconds",
    "p75_s": "75th percentile of the organisation's time to first API call, seconds",
    "p90_s": "90th percentile of the organisation's time to first API call, seconds",
    "stage": "Funnel stage (intent has no organisation)",
    "early_second_developer": "The organisation's second developer joined within org_second_developer_days of its first",
    "orgs": "Organisations of the cohort in this group",
    "reached": "Of those, how many reached the stage within the horizon",
    "developers_per_org": "Mean developers the organisations had joined when they reached the stage",
}

ORG_STAGES_DEP = dg.AssetDep("org_stages")
EVENTS_DEP = dg.AssetDep("developer_events", partition_mapping=COHORT_WINDOW)


def _materialize(context: dg.AssetExecutionContext, funnel: FunnelResource, table: str) -> dg.MaterializeResult:
    start, end = partition_bounds(context)
    params = {**funnel.rules.params(), "week_start": start, "week_end": end}
    with funnel.connect() as engine:
        stage_transitions(engine, org_transitions([t.model_dump() for t in funnel.rules.transition_rules]))
        developer_mart = DEVELOPER_MART.get(table)
        if developer_mart is None:
            stage_members(engine, table, params)
            return materialize_sql(
                context, engine, table, SQL / f"{table}.sql", funnel.rules.params(), "cohort_week",
                preview=True, descriptions=ORG_COLUMNS,
            )
        with orgs_as_developers(engine):
            stage_members(engine, developer_mart, params)
            return materialize_sql(
                context, engine, table, SQL / f"{developer_mart}.sql", funnel.rules.params(), "cohort_week",
                preview=True, descriptions=ORG_COLUMNS,
            )


@_mart(deps=[ORG_STAGES_DEP, EVENTS_DEP], every_cohort=AS_OF_IN_EVERY_ROW)  # mart_stage_conversion's as_of column
def mart_org_stage_conversion(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per cohort of organisations and transition, partitioned by the week their first developer joined.

    mart_stage_conversion's rules over organisations: of those that reached
    `from_stage`, how many reached `to_stage` no later than `window_days`
    after it; incomplete while the window is open. No intent transition.
    """
    return _materialize(context, funnel, "mart_org_stage_conversion")


@_mart(deps=[ORG_STAGES_DEP, EVENTS_DEP])
def mart_org_ttfac(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per cohort of organisations, partitioned by the week their first developer joined.

    Time from the organisation's first developer joining to its first
    successful API call by any of its developers: p25, p50, p75, p90 seconds,
    how many organisations called and how many never did.
    """
    return _materialize(context, funnel, "mart_org_ttfac")


@_mart(deps=[ORG_STAGES_DEP, EVENTS_DEP])
def mart_org_production_rate(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per cohort of organisations, partitioned by the week their first developer joined.

    Share of the organisations in production no later than 30, 60 and 90
    days after their first developer joined, each with a completeness flag.
    """
    return _materialize(context, funnel, "mart_org_production_rate")


@_mart(deps=[ORG_STAGES_DEP, EVENTS_DEP])
def mart_org_developers_by_stage(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per cohort of organisations, stage and early second developer, partitioned by the week their first developer joined.

    Organisations that reached each stage within the horizon and how many
    developers they had joined by then, split by whether their second
    developer joined within `org_second_developer_days` (default 7) of the
    first: do teams that grow early reach production more often?
    """
    return _materialize(context, funnel, "mart_org_developers_by_stage")
