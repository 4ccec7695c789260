"""The organisation funnel's stage table (see `funnel_assets.lib.orgs`)."""

from pathlib import Path

import dagster as dg

from funnel_assets.lib.engines import ENGINE_KIND
from funnel_assets.defs.partitions import COHORT_WINDOW, SINGLE_RUN, WEEKLY
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.materialize import materialize_sql, partition_bounds
from funnel_assets.defs.stages.assets import cohort_ranges
from funnel_assets.lib.orgs import ORG_MEMBER_WEEKS, stage_org_developers, stage_org_members

SQL = Path(__file__).parent / "sql"


@dg.asset(
    group_name="stages",
    partitions_def=WEEKLY,
    backfill_policy=SINGLE_RUN,
    deps=["identity_users", "identity_key_owners", dg.AssetDep("developer_events", partition_mapping=COHORT_WINDOW)],
    kinds={ENGINE_KIND, "sql"},
    owners=["team:growth"],
    tags={"layer": "stages"},
)
def org_stages(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per organisation, partitioned by the signup week of its first developer.

    Each stage's first time over all the organisation's developers, the
    developer (pseudonym) and event that set it, and how many developers had
    joined by then. A request or key creation counts for the organisation
    that owned the key at the time (identity_key_owners), even after its
    developer moved on; other events for the organisation the developer
    joined last. Individuals stay out. The stage definitions are
    developer_stages.sql's, run over each developer's events in the organisation.
    """
    start, end = partition_bounds(context)
    params = funnel.rules.params()
    with funnel.connect() as engine:
        stage_org_members(engine)
        return materialize_sql(
            context, engine, "org_stages", SQL / "org_stages.sql", params, "cohort_week",
            ranges=cohort_ranges(engine, start, end, ORG_MEMBER_WEEKS),
            prepare=lambda weeks: stage_org_developers(engine, {**params, **weeks}),
        )
