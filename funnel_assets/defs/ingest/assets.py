"""raw_<source>: landing files checked against their contract, one asset per source; before them, the
landing files converted from the configured vendor sources."""

import dagster as dg

from funnel_assets.lib.engines import ENGINE_KIND
from funnel_assets.defs.partitions import SINGLE_RUN, WEEKLY
from funnel_assets.defs.quality.config import RawQualityConfig
from funnel_assets.orchestration.evaluations import check_results, check_spec
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.adapters.sync import MANIFEST, sync_vendor_sources
from funnel_assets.lib.contracts import SOURCES, SourceContracts, load_contracts
from funnel_assets.lib.ingest import ingest
from funnel_assets.lib.landing import day_files, files_in
from funnel_assets.lib.materialize import column_schema, partition_bounds
from funnel_assets.lib.quality.catalogue import raw_checks
from funnel_assets.lib.quality.raw import RawScope, evaluate_raw_checks
from funnel_assets.orchestration.weeks import VENDOR_ASSET


@dg.asset(name=VENDOR_ASSET, group_name="ingest", kinds={"json"}, owners=["team:data-platform"],
          tags={"layer": "landing", "contains_pii": "true"}, backfill_policy=SINGLE_RUN)
def vendor_landing_files(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per vendor file of `vendor_sources` converted into landing format v1 (`landing/.converted.json`), not partitioned.

    New and changed vendor files are converted into the landing folder before any raw asset reads it, in
    every run that ingests (`funnel run`, the weekly schedule, the late-file sensor, the UI); an unchanged
    file is not read again. Nothing to do when no vendor source is configured.
    """
    report = sync_vendor_sources(funnel.vendor_inputs, funnel.data_path)
    summary = report.summary(funnel.data_path)
    context.log.info(summary)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(report.converted) + report.unchanged,
            "converted": len(report.converted),
            "replaced": len(report.replaced),
            "unchanged": report.unchanged,
            "summary": summary,
            "manifest": str(funnel.data_path / MANIFEST),
        }
    )


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
    descriptions = {c.name: c.description for c in contracts.raw_columns}

    @dg.multi_asset(
        name=table,
        specs=[
            dg.AssetSpec(
                table,
                group_name="ingest",
                description=_description(contracts),
                kinds={ENGINE_KIND, "json"},
                owners=["team:data-platform"],
                tags={"layer": "raw", "contains_pii": str(any(f.pii for f in contracts.columns)).lower()},
                deps=[VENDOR_ASSET],
                metadata={
                    "dagster/column_schema": dg.TableSchema(
                        columns=[dg.TableColumn(c.name, (c.sql_type or "string").lower(), description=c.description)
                                 for c in contracts.raw_columns]
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
        with funnel.connect() as engine:
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
