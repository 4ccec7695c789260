"""Cross-source data-quality checks: each its own step, after the assets it reads.

The single-source checks (reconciliation, contract and drift, duplicates,
unreadable lines, events after or before their day, client clocks, completeness, volume,
freshness) are evaluated by the raw assets themselves while they hold the
week's data (defs/ingest/assets.py); these read other assets too: the other
raw source a cause lives in, or the identity map.
"""


import dagster as dg

from funnel_assets.defs.partitions import WEEKLY
from funnel_assets.defs.quality.config import CrossSourceQualityConfig
from funnel_assets.orchestration.evaluations import check_results
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.quality.catalogue import CROSS_SOURCE_CHECKS, Check
from funnel_assets.lib.quality.cross import evaluate_cross_check


def _cross_source_check(check: Check) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        name=check.name,
        asset=check.asset,
        additional_deps=list(check.reads),
        blocking=check.blocking,
        partitions_def=WEEKLY,
        description=f"{check.description} Severity {check.severity}.",
    )
    def evaluate(
        context: dg.AssetCheckExecutionContext, funnel: FunnelResource, config: CrossSourceQualityConfig
    ) -> dg.AssetCheckResult:
        window = context.op_execution_context.partition_time_window
        with funnel.connect() as engine:
            outcome = evaluate_cross_check(engine, check, window.start.date(), window.end.date(), config.thresholds())
        (result,) = check_results(context, [outcome])
        return result

    return evaluate


cross_source_checks = [_cross_source_check(check) for check in CROSS_SOURCE_CHECKS]
