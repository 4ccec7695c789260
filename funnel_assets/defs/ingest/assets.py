"""raw_<source>: landing files checked against their contract, one asset per source."""

import dagster as dg

from funnel_assets.defs.partitions import SINGLE_RUN, WEEKLY
from funnel_assets.defs.quality.config import RawQualityConfig
from funnel_assets.defs.quality.evaluations import check_results, check_spec
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.contracts import SOURCES
from funnel_assets.lib.ingest import (
    CORRECTED_TIMESTAMP,
    FIRST_VERSION,
    VERSION_TIME,
    SourceContracts,
    ingest,
    load_contracts,
)
from funnel_assets.lib.landing import day_files, files_in
from funnel_assets.lib.materialize import column_schema, partition_bounds
from funnel_assets.lib.quality.catalogue import raw_checks
from funnel_assets.lib.quality.raw import RawScope, evaluate_raw_checks

LINEAGE_COLUMNS = {
    "_event_week": "Monday of the week of the landing file's day (the partition).",
    "_source_file": "Landing file the row came from, relative to the data folder.",
    "_source_line": "Line number in that file (1-based).",
    "_contract_version": "Contract version the line declared (schema_version; 1 when absent) and was checked against.",
    "_extra_fields": "Fields present in the line but not in its contract version (schema drift).",
}
DERIVED_COLUMNS = {
    CORRECTED_TIMESTAMP: (
        "The event time corrected for the client's clock: received_at - (sent_at - timestamp) when sent_at and "
        "received_at are further apart than the clock tolerance, else timestamp."
    ),
}
VERSION_COLUMNS = {
    VERSION_TIME: (
        "State sources: the record's own update time (the first present of the contract's versioned_by fields, "
        "else its time field); with the landing file and line it orders an entity's versions, the latest current."
    ),
    FIRST_VERSION: (
        "State sources: on a later version of an entity, the file:line of its first landed version; null on the "
        "first version."
    ),
}


def _description(contracts: SourceContracts) -> str:
    versions = ", ".join(f"v{v}" for v in contracts.version_numbers)
    return (
        f"{contracts.latest.grain.capitalize()} of {contracts.source}, partitioned by the week of the landing file's "
        f"day. {contracts.latest.description} Each line is checked against the contract version it declares "
        f"({versions}; `schema_version`, 1 when absent); unreadable, rejected and duplicate lines go to the quarantine "
        f"table with file, line and reason, and `ingested_files` counts every landing file's lines."
        + (" A state source: a later record of the same key is a newer version, kept (history), not a duplicate; "
           "the latest version of each is current." if contracts.latest.is_state else "")
    )


def _raw_asset(source: str) -> dg.AssetsDefinition:
    contracts = load_contracts(source)
    table = f"raw_{source}"
    derived = {name: text for name, text in DERIVED_COLUMNS.items() if contracts.corrects_client_clock}
    derived |= VERSION_COLUMNS if contracts.latest.is_state else {}
    descriptions = {f.name: f.description for f in contracts.columns} | derived | LINEAGE_COLUMNS

    @dg.multi_asset(
        name=table,
        specs=[
            dg.AssetSpec(
                table,
                group_name="ingest",
                description=_description(contracts),
                kinds={"duckdb", "json"},
                owners=["team:data-platform"],
                tags={"layer": "raw", "contains_pii": str(any(f.pii for f in contracts.columns)).lower()},
                metadata={
                    "dagster/column_schema": dg.TableSchema(
                        columns=[dg.TableColumn(f.name, f.sql_type.lower(), description=f.description)
                                 for f in contracts.columns]
                        + [dg.TableColumn(name, "varchar" if name == FIRST_VERSION else "timestamptz", description=text)
                           for name, text in derived.items()]
                        + [dg.TableColumn(name, description=text) for name, text in LINEAGE_COLUMNS.items()]
                    ),
                    "contract": ", ".join(f"data_contracts/{source}/v{v}.yaml" for v in contracts.version_numbers),
                    "unique_key": ", ".join(contracts.unique_key),
                },
            )
        ],
        partitions_def=WEEKLY,
        backfill_policy=SINGLE_RUN,
        check_specs=[check_spec(check) for check in raw_checks(source)],
        # a multi-asset, so its checks can be left out (the UI, `without_checks()`): it evaluates the selected ones
        can_subset=True,
    )
    def raw_source(context: dg.AssetExecutionContext, funnel: FunnelResource, config: RawQualityConfig):
        start, end = partition_bounds(context)
        files = files_in(funnel.data_path, source, start.date(), end.date())
        every_day = {s: [f.day for f in day_files(funnel.data_path, s)] for s in SOURCES}
        latest = [max(days) for days in every_day.values() if days]
        thresholds = config.thresholds()
        context.log.info(f"{table}: reading {len(files)} landing files from {funnel.data_path / 'landing' / source}")
        with funnel.engine() as engine:
            counts = ingest(
                engine, contracts, files, funnel.data_path, table, start.date(), end.date(),
                clock_tolerance_seconds=thresholds.clock_tolerance_seconds,
            )
            scope = RawScope(contracts, start.date(), end.date(), tuple(every_day[source]), max(latest, default=None))
            selected = {key.name for key in context.selected_asset_check_keys}
            outcomes = evaluate_raw_checks(engine, scope, thresholds, selected)
            schema = column_schema(engine, table, descriptions)
        # yielded, not returned: a subset run (some checks left out) expects only the selected outputs
        yield dg.MaterializeResult(
            asset_key=table,
            metadata={
                "dagster/row_count": counts.accepted,
                "dagster/column_schema": schema,
                "input_lines": counts.input_lines,
                "accepted": counts.accepted,
                "quarantined": counts.quarantined,
                "unreadable": counts.unreadable,
                "duplicates": counts.duplicates,
                "later_versions": counts.later_versions,
                "files": counts.files,
            },
        )
        yield from check_results(context, outcomes)

    return raw_source


raw_assets = [_raw_asset(source) for source in SOURCES]
