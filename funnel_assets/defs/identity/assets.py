"""The identity map, kept in the identity store (SQLite or PostgreSQL).

Each asset derives its table from the raw layer, writes it to the store
through sqlmodel, and mirrors the store's table (pipeline rows plus rows the
platform wrote directly) into the warehouse for the joins downstream.
"""

from pathlib import Path

import dagster as dg

from funnel_assets.defs.partitions import SINGLE_RUN
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.engines import ENGINE_KIND, read_sql
from funnel_assets.lib.identity_store import MODELS
from funnel_assets.lib.materialize import column_schema

SQL = Path(__file__).parent / "sql"


def _sync(context: dg.AssetExecutionContext, funnel: FunnelResource, table: str) -> dg.MaterializeResult:
    model = MODELS[table]
    with funnel.connect() as engine, funnel.identity_store() as store:
        derived = engine.frame(read_sql(SQL / f"{table}.sql"))
        written = store.replace_pipeline_rows(model, derived)
        stored = store.read(model)
        engine.put_frame(table, stored)
        schema = column_schema(engine, table)
    context.log.info(f"{table}: {written} rows from the landing data, {len(stored)} in the store")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(stored),
            "dagster/column_schema": schema,
            "from_landing": written,
            "written_by_platform": len(stored) - written,
            "store": dg.MetadataValue.text(store.engine.url.render_as_string(hide_password=True)),
        }
    )


@dg.asset(
    group_name="identity",
    deps=["raw_auth_users"],
    kinds={"sqlite", "postgres", ENGINE_KIND},
    owners=["team:data-platform"],
    tags={"layer": "identity"},
    backfill_policy=SINGLE_RUN,
)
def identity_users(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per developer (auth user): pseudonymous user and org ids, account type, signup time, hashed e-mail."""
    return _sync(context, funnel, "identity_users")


@dg.asset(
    group_name="identity",
    deps=["raw_api_keys"],
    kinds={"sqlite", "postgres", ENGINE_KIND},
    owners=["team:data-platform"],
    tags={"layer": "identity"},
    backfill_policy=SINGLE_RUN,
)
def identity_key_owners(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per key issue: api key -> user -> org, valid from the key's creation until its revocation."""
    return _sync(context, funnel, "identity_key_owners")


@dg.asset(
    group_name="identity",
    deps=["raw_analytics_events"],
    kinds={"sqlite", "postgres", ENGINE_KIND},
    owners=["team:data-platform"],
    tags={"layer": "identity"},
    backfill_policy=SINGLE_RUN,
)
def identity_anonymous_links(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per anonymous id stitched to a user (an identify, or any event carrying both ids)."""
    return _sync(context, funnel, "identity_anonymous_links")
