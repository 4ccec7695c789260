"""raw_<source>: landing files checked against their contract, one asset per source."""

import dagster as dg

from funnel_assets.defs.partitions import SINGLE_RUN, WEEKLY
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.contracts import SOURCES, Contract, load_contract
from funnel_assets.lib.ingest import ingest
from funnel_assets.lib.landing import files_in
from funnel_assets.lib.materialize import column_schema, partition_bounds

LINEAGE_COLUMNS = {
    "_event_week": "Monday of the week of the landing file's day (the partition).",
    "_source_file": "Landing file the row came from, relative to the data folder.",
    "_source_line": "Line number in that file (1-based).",
    "_contract_version": "Contract version the row was checked against.",
    "_extra_fields": "Fields present in the line but not in the contract (schema drift).",
}


def _description(contract: Contract) -> str:
    return (
        f"{contract.grain.capitalize()} of {contract.source}, partitioned by the week of the landing file's day. "
        f"{contract.description} Checked against contract v{contract.version}; rejected and duplicate lines "
        f"go to the quarantine table with file, line and reason."
    )


def _raw_asset(source: str) -> dg.AssetsDefinition:
    contract = load_contract(source)
    table = f"raw_{source}"
    reconciles = f"{table}_reconciles_input_lines"
    descriptions = {f.name: f.description for f in contract.fields} | LINEAGE_COLUMNS

    @dg.asset(
        name=table,
        group_name="ingest",
        description=_description(contract),
        partitions_def=WEEKLY,
        backfill_policy=SINGLE_RUN,
        kinds={"duckdb", "json"},
        owners=["team:data-platform"],
        tags={"layer": "raw", "contains_pii": str(any(f.pii for f in contract.fields)).lower()},
        metadata={
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(f.name, f.sql_type.lower(), description=f.description) for f in contract.fields]
                + [dg.TableColumn(name, description=text) for name, text in LINEAGE_COLUMNS.items()]
            ),
            "contract": f"data_contracts/{source}/v{contract.version}.yaml",
            "unique_key": ", ".join(contract.unique_key),
        },
        check_specs=[
            dg.AssetCheckSpec(
                reconciles,
                asset=table,
                blocking=True,
                partitions_def=WEEKLY,
                description="Every landing line is accounted for: input lines = accepted + quarantined + duplicates.",
            )
        ],
    )
    def raw_source(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
        start, end = partition_bounds(context)
        files = files_in(funnel.data_path, source, start.date(), end.date())
        context.log.info(f"{table}: reading {len(files)} landing files from {funnel.data_path / 'landing' / source}")
        with funnel.engine() as engine:
            counts = ingest(engine, contract, files, funnel.data_path, table, start.date(), end.date())
            schema = column_schema(engine, table, descriptions)
        accounted = counts.accepted + counts.quarantined + counts.duplicates
        return dg.MaterializeResult(
            check_results=[
                dg.AssetCheckResult(
                    check_name=reconciles,
                    passed=accounted == counts.input_lines,
                    metadata={"observed_value": accounted, "threshold": counts.input_lines},
                )
            ],
            metadata={
                "dagster/row_count": counts.accepted,
                "dagster/column_schema": schema,
                "input_lines": counts.input_lines,
                "accepted": counts.accepted,
                "quarantined": counts.quarantined,
                "duplicates": counts.duplicates,
                "files": counts.files,
            }
        )

    return raw_source


raw_assets = [_raw_asset(source) for source in SOURCES]
