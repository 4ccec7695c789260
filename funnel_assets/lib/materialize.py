"""What every SQL-backed asset does: run its file for the partitions of the
run, replace those partitions, and describe the result for the UI."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import dagster as dg

from funnel_assets.lib.engines import Engine, read_sql
from funnel_assets.lib.tables import in_funnel_order, readable

# the engines' type names as the UI shows them (others in lower case)
_SHOWN_TYPES = {"TIMESTAMP WITH TIME ZONE": "timestamptz"}


def partition_bounds(context: dg.AssetExecutionContext) -> tuple[datetime, datetime]:
    """[start, end) of the weeks this run covers (one week, or a backfill's range)."""
    window = context.partition_time_window
    return window.start.astimezone(timezone.utc), window.end.astimezone(timezone.utc)


def column_schema(engine: Engine, table: str, descriptions: dict[str, str] | None = None) -> dg.TableSchema:
    rows = engine.schema(table)
    descriptions = descriptions or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, _SHOWN_TYPES.get(kind, kind.lower()), description=descriptions.get(name))
            for name, kind in rows
        ]
    )


def materialize_sql(
    context: dg.AssetExecutionContext,
    engine: Engine,
    table: str,
    sql_path: Path | None,
    params: dict[str, Any],
    partition_column: str,
    preview: bool = False,
    descriptions: dict[str, str] | None = None,
    select_sql: str | None = None,
    ranges: list[tuple[datetime, datetime]] | None = None,
    prepare: Callable[[dict[str, Any]], None] | None = None,
) -> dg.MaterializeResult:
    """Replace this run's partitions of `table` with the rows `sql_path` (or the statement `select_sql`) selects:
    in one statement, or one per range of `ranges` (consecutive, covering the run's weeks) when the weeks' rows
    are too many to build at once. `prepare` stages what a range's statement reads, called with its bounds."""
    start, end = partition_bounds(context)
    bounds = {"week_start": start, "week_end": end}
    written = 0
    for first, last in ranges or [(start, end)]:
        part = {"week_start": first, "week_end": last}
        if prepare is not None:
            prepare(part)
        written += engine.replace_rows(
            table,
            read_sql(sql_path) if select_sql is None else select_sql,
            {**params, **part},
            f"{partition_column} >= cast($week_start as date) and {partition_column} < cast($week_end as date)",
            part,
            partition_by=(partition_column,),
        )
    context.log.info(f"{table}: {written} rows for weeks {start:%Y-%m-%d} to {end:%Y-%m-%d}")
    metadata: dict[str, Any] = {
        "dagster/row_count": written,
        "dagster/column_schema": column_schema(engine, table, descriptions),
        "weeks": f"{start:%Y-%m-%d} .. {end:%Y-%m-%d} (exclusive)",
    }
    if preview:
        frame = engine.frame(
            f"select * from {table} where {partition_column} >= cast($week_start as date) "
            f"and {partition_column} < cast($week_end as date) order by all limit 30",
            bounds,
        )
        # as the CLI prints it: funnel order, rates as percentages, durations in human units
        metadata["preview"] = dg.MetadataValue.md(readable(in_funnel_order(frame)).to_markdown(index=False))
    return dg.MaterializeResult(metadata=metadata)
