"""Checks past the raw layer: one step per asset (developer_stages, each mart, the identity map), right after it.

Each step reads the asset's rows for the run's weeks and lets Great Expectations
judge them (lib/quality/downstream.py). Every check blocks: a failing one stops
what is downstream of its asset and fails the run, naming the check.
"""

import dagster as dg

from funnel_assets.defs.partitions import WEEKLY
from funnel_assets.orchestration.evaluations import check_results, check_spec
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.quality.downstream import KEY_OWNERS, MART_SHAPES, STAGES, checks_on, evaluate_downstream_checks


def _downstream_checks(asset: str, partitions_def: dg.PartitionsDefinition | None) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        name=f"{asset}_row_checks",
        specs=[check_spec(check, partitions_def) for check in checks_on(asset)],
        # the UI and subset runs may select some of them: only those are evaluated
        can_subset=True,
    )
    def evaluate(context: dg.AssetCheckExecutionContext, funnel: FunnelResource):
        start = end = None
        if partitions_def is not None:
            window = context.op_execution_context.partition_time_window
            start, end = window.start.date(), window.end.date()
        selected = {key.name for key in context.selected_asset_check_keys}
        with funnel.connect() as engine:
            outcomes = evaluate_downstream_checks(engine, asset, start, end, selected)
        yield from check_results(context, outcomes, partitioned=partitions_def is not None)

    return evaluate


downstream_checks = [
    _downstream_checks(STAGES, WEEKLY),
    *(_downstream_checks(shape.table, WEEKLY) for shape in MART_SHAPES),
    _downstream_checks(KEY_OWNERS, None),
]
