"""Column lineage: which upstream columns each column of an asset comes from.

Written as `{column: ["upstream_asset.column", ...]}` next to each asset and
turned into Dagster's TableColumnLineage, so in the UI a metric column traces
back through the stage table and the event timeline to the source fields.
"""

from __future__ import annotations

import dagster as dg


def column_lineage(columns: dict[str, list[str]]) -> dg.TableColumnLineage:
    return dg.TableColumnLineage(
        deps_by_column={
            column: [dg.TableColumnDep(asset_key=ref.split(".")[0], column_name=ref.split(".")[1]) for ref in refs]
            for column, refs in columns.items()
        }
    )
