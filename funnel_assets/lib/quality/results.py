"""Reading failed checks back from a Dagster run result (duck-typed: no Dagster import here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
        entry = found.setdefault((evaluation.asset_key.to_user_string(), evaluation.check_name),
                                 {"weeks": [], "figures": None, "severities": set(), "blocking": evaluation.blocking})
        metadata = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
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
