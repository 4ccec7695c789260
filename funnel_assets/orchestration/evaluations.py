"""Per-week check evaluations: written by the steps, read back by the CLI and the alert sensor.

Writing: check outcomes as Dagster asset-check results, one evaluation per week.

A run over a single week returns one result per check, which Dagster records
for that partition. A run over a range of weeks (a single-run backfill) must
still return one result per check, recorded without a partition: it carries
the whole range (the worst week against the threshold, totals, `per_week`),
and decides whether the step is blocked. Before it, one evaluation per week
is logged with its partition, so each week's result shows in the UI and in
`funnel checks` like a per-partition run's: every week that had data, and
every week that failed (a week without any file is not evaluated on its own).

Reading: the range's summary only repeats its weeks, so the readers below
(`failed_blocking_checks` for a run result, `latest_check_results` for the
instance, `failed_evaluations` for the alerts) take the weeks from the
per-week evaluations and, where they need them, the figures from the summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from funnel_assets.defs.partitions import WEEKLY
from funnel_assets.lib.quality.catalogue import Check
from funnel_assets.lib.quality.outcome import Outcome
from funnel_assets.orchestration.weeks import SLICE_TAG
from funnel_assets.orchestration.writer_lock import WAREHOUSE_TAG


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


# --- reading -------------------------------------------------------------------------


def metadata_values(evaluation) -> dict[str, Any]:
    """An evaluation's metadata as plain values."""
    return {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}


def _check_of(evaluation) -> tuple[str, str]:
    return evaluation.asset_key.to_user_string(), evaluation.check_name


def without_range_summaries(evaluations: list) -> list:
    """The evaluations, less a range's summary of a check whose weeks are there (it would only repeat them)."""
    per_week = {_check_of(e) for e in evaluations if e.partition is not None}
    return [e for e in evaluations if e.partition is not None or _check_of(e) not in per_week]


@dataclass(frozen=True)
class FailedCheck:
    asset: str
    check: str
    partitions: tuple[str, ...]  # the failing weeks; empty when the run covered no partition
    observed_value: Any
    threshold: Any
    failing_rows: Any
    unit: str = ""  # what failing_rows counts: lines, days, weeks, developers, rows
    severity: str = "ERROR"  # ERROR: it blocked (when blocking); WARN: the run went on
    blocking: bool = True
    figures: dict = field(default_factory=dict, compare=False)  # the evaluation's metadata

    def __str__(self) -> str:
        weeks = ""
        if len(self.partitions) > 3:
            weeks = f" for {len(self.partitions)} weeks ({self.partitions[0]} .. {self.partitions[-1]})"
        elif self.partitions:
            weeks = f" for week{'s' if len(self.partitions) > 1 else ''} {', '.join(self.partitions)}"
        failing = f"{self.failing_rows} failing {self.unit}".rstrip()
        if "added_field_lines" in self.figures:  # schema drift: what breaks the contract apart from what only adds
            failing += (f": {self.figures.get('breaking_lines', 0)} break the contract, "
                        f"{self.figures['added_field_lines']} only add a field")
        verb = "failed" if self.severity == "ERROR" else "warned"
        return (f"{self.asset}: check {self.check} {verb}{weeks}: observed {self.observed_value} against threshold "
                f"{self.threshold} ({failing})")


def failed_blocking_checks(result) -> list[FailedCheck]:
    """One entry per blocking (ERROR) check that failed in a run, as returned by `dg.materialize`.

    A run over a range of weeks records each week's evaluation (with its
    partition) and one for the whole range (without): the weeks come from the
    first, the figures from the second. A run over one week has just one.
    """
    return [c for c in _failed_checks(result) if c.blocking and c.severity == "ERROR"]


def warned_checks(result) -> list[FailedCheck]:
    """One entry per check that failed with WARN: the run went on (the alert sensor reports them, with a daemon)."""
    return [c for c in _failed_checks(result) if c.severity == "WARN"]


def _failed_checks(result) -> list[FailedCheck]:
    """Every check that failed; its severity is its range's (or its one week's): ERROR when any week's is."""
    found: dict[tuple[str, str], dict] = {}
    for event in result.all_events:
        if event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        evaluation = event.asset_check_evaluation_data
        if evaluation.passed:
            continue
        entry = found.setdefault(_check_of(evaluation),
                                 {"weeks": [], "figures": None, "severities": set(), "blocking": evaluation.blocking})
        metadata = metadata_values(evaluation)
        entry["severities"].add(evaluation.severity.value)
        if evaluation.partition is not None:
            entry["weeks"].append((evaluation.partition, evaluation.severity.value))
        if evaluation.partition is None or entry["figures"] is None:
            entry["figures"] = metadata
    failed = []
    for (asset, check), entry in found.items():
        severity = "ERROR" if "ERROR" in entry["severities"] else "WARN"
        # the weeks that failed with the check's severity (a drift check's WARN weeks do not block)
        weeks = {week for week, week_severity in entry["weeks"] if week_severity == severity}
        failed.append(FailedCheck(
            asset=asset,
            check=check,
            partitions=tuple(sorted(weeks)),
            observed_value=entry["figures"].get("observed_value"),
            threshold=entry["figures"].get("threshold"),
            failing_rows=entry["figures"].get("failing_rows"),
            unit=entry["figures"].get("unit") or "",
            severity=severity,
            blocking=entry["blocking"],
            figures=entry["figures"],
        ))
    return failed


def failed_evaluations(instance: dg.DagsterInstance, run_id: str) -> list[tuple[dg.EventLogRecord, Any]]:
    """(record, evaluation) of every failed check evaluation of a run, a range's summary only when it has no weeks."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    failed = [(r, r.event_log_entry.dagster_event.event_specific_data) for r in records]
    failed = [(r, e) for r, e in failed if not e.passed]
    kept = {id(e) for e in without_range_summaries([e for _, e in failed])}
    return [(r, e) for r, e in failed if id(e) in kept]


def latest_check_results(instance: dg.DagsterInstance, warehouse: Path | None = None) -> list[dict]:
    """The latest evaluation of every check and week (and range summary) in the instance, or of the runs that
    wrote `warehouse`: their runs read newest first, back to the last full run that succeeded (it evaluated
    every check for every week of the data, so no older evaluation can be the latest)."""
    only = dg.RunsFilter(tags={WAREHOUSE_TAG: str(Path(warehouse).resolve())}) if warehouse is not None else None
    records = []
    for run in instance.get_runs(only):  # newest first
        records += instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
                                                ascending=False).records
        if warehouse is not None and run.status == dg.DagsterRunStatus.SUCCESS \
                and run.tags.get(SLICE_TAG) == "everything":
            break
    latest: dict[tuple, dict] = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        partition = getattr(evaluation, "partition", None)
        key = (evaluation.asset_key.to_user_string(), evaluation.check_name, partition)
        if key in latest:
            continue
        metadata = metadata_values(evaluation)
        latest[key] = {
            "asset": key[0],
            "check": evaluation.check_name,
            "partition": partition,
            "passed": evaluation.passed,
            "severity": evaluation.severity.value,
            "observed": metadata.get("observed_value"),
            "threshold": metadata.get("threshold"),
            "failing_rows": metadata.get("failing_rows"),
            "unit": metadata.get("unit"),
            # a range run's summary: the weeks it covers
            "weeks": sorted(metadata["per_week"]) if isinstance(metadata.get("per_week"), dict) else None,
        }
    return sorted(latest.values(), key=lambda r: (r["asset"], r["check"], str(r["partition"])))
