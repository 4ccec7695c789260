"""Check outcomes as Dagster asset-check results, one evaluation per week.

A run over a single week returns one result per check, which Dagster records
for that partition. A run over a range of weeks (a single-run backfill) must
still return one result per check, recorded without a partition: it carries
the whole range (the worst week against the threshold, totals, `per_week`),
and decides whether the step is blocked. Before it, one evaluation per week
is logged with its partition, so each week's result shows in the UI and in
`funnel checks` like a per-partition run's: every week that had data, and
every week that failed (a week without any file is not evaluated on its own).
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from funnel_assets.defs.partitions import WEEKLY
from funnel_assets.lib.quality.catalogue import Check
from funnel_assets.lib.quality.outcome import Outcome


def check_spec(check: Check, partitions_def: dg.PartitionsDefinition | None = WEEKLY) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        check.name,
        asset=check.asset,
        blocking=check.blocking,
        partitions_def=partitions_def,
        additional_deps=list(check.reads),
        description=f"{check.description} Severity {check.severity}.",
    )


def _severity(name: str) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if name == "ERROR" else dg.AssetCheckSeverity.WARN


def _metadata(values: dict[str, Any]) -> dict[str, Any]:
    converted = {}
    for key, value in values.items():
        if value is None:
            converted[key] = dg.MetadataValue.null()
        elif isinstance(value, (list, dict)):
            converted[key] = dg.MetadataValue.json(value)
        else:
            converted[key] = value
    return converted


def check_results(context, outcomes: list[Outcome], partitioned: bool = True) -> list[dg.AssetCheckResult]:
    """The results to return from the step; over a range of weeks, each week's evaluation is logged first.

    A check on an unpartitioned asset (`partitioned=False`) has one evaluation, whatever weeks the run covers.
    """
    op_context = getattr(context, "op_execution_context", context)
    per_week = partitioned and not op_context.has_partition_key
    results = []
    for outcome in outcomes:
        check = outcome.check
        if per_week:
            for figure in (w for w in outcome.weeks if w.reported):
                op_context.log_event(dg.AssetCheckEvaluation(
                    asset_key=dg.AssetKey(check.asset),
                    check_name=check.name,
                    passed=figure.passed,
                    metadata=_metadata(outcome.week_metadata(figure)),
                    severity=_severity(outcome.severity_of(figure)),
                    blocking=check.blocking,
                    partition=figure.week.isoformat(),
                ))
            metadata = outcome.metadata()
        else:
            metadata = {**outcome.week_metadata(outcome.weeks[0]), **outcome.details} if len(outcome.weeks) == 1 \
                else outcome.metadata()
        results.append(dg.AssetCheckResult(
            asset_key=check.asset,
            check_name=check.name,
            passed=outcome.passed,
            severity=_severity(outcome.severity_of()),
            metadata=_metadata(metadata),
        ))
    return results
