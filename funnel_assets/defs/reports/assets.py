"""The HTML report: the marts as pictures, in one file that opens offline."""

import dagster as dg
import pandas as pd

from funnel_assets.defs.partitions import SINGLE_RUN
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.orchestration.evaluations import latest_check_results
from funnel_assets.lib.materialize import column_schema
from funnel_assets.lib.report import MARTS, write_report

REPORT_FILE = "report.html"  # `<warehouse name>.report.html`: each warehouse has its own


@dg.asset(
    deps=[dg.AssetDep(m) for m in MARTS],
    group_name="reports",
    kinds={"plotly", "html"},
    owners=["team:growth"],
    tags={"layer": "reports"},
    backfill_policy=SINGLE_RUN,
)
def funnel_report(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per chart of the funnel report, `<warehouse name>.report.html` beside the warehouse (not partitioned).

    The funnel per cohort, the cohort x transition heatmap (incomplete cells
    marked), the benchmark trend and bottleneck bands, TTFAC percentiles,
    production rates, SDK share, first-day errors, time to convert, drop-offs
    by suggested action and the data-quality summary; each chart names the
    `funnel trace` command for its cells. The metadata links to the file.
    """
    out = funnel.beside_warehouse(REPORT_FILE).resolve()
    with funnel.connect() as engine:
        charts = write_report(engine, out, latest_check_results(context.instance, funnel.warehouse), funnel.warehouse)
        listing = pd.DataFrame(
            [{"chart": c.name, "title": c.title, "points": c.points, "trace_command": c.trace} for c in charts]
        )
        engine.put_frame("funnel_report", listing)
        schema = column_schema(engine, "funnel_report")
    context.log.info(f"funnel_report: {len(charts)} charts in {out}")
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(out)),
            "open": dg.MetadataValue.url(out.as_uri()),
            "dagster/row_count": len(charts),
            "dagster/column_schema": schema,
            "charts": dg.MetadataValue.md(listing.to_markdown(index=False)),
        }
    )
