"""Reading failed checks back from a Dagster run result (duck-typed: no Dagster import here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FailedCheck:
    asset: str
    check: str
    partitions: tuple[str, ...]  # the failing weeks; empty when the run covered no partition
    observed_value: Any
    threshold: Any
    failing_rows: Any

    def __str__(self) -> str:
        weeks = f" for week{'s' if len(self.partitions) > 1 else ''} {', '.join(self.partitions)}" if self.partitions else ""
        return (f"{self.asset}: check {self.check} failed{weeks}: observed {self.observed_value} against threshold "
                f"{self.threshold} ({self.failing_rows} failing)")


def failed_blocking_checks(result) -> list[FailedCheck]:
    """One entry per blocking (ERROR) check that failed in a run, as returned by `dg.materialize`.

    A run over a range of weeks records each week's evaluation (with its
    partition) and one for the whole range (without): the weeks come from the
    first, the figures from the second. A run over one week has just one.
    """
    found: dict[tuple[str, str], dict] = {}
    for event in result.all_events:
        if event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        evaluation = event.asset_check_evaluation_data
        if evaluation.passed or not evaluation.blocking or evaluation.severity.value != "ERROR":
            continue
        entry = found.setdefault((evaluation.asset_key.to_user_string(), evaluation.check_name),
                                 {"weeks": [], "figures": None})
        metadata = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
        if evaluation.partition is not None:
            entry["weeks"].append(evaluation.partition)
        if evaluation.partition is None or entry["figures"] is None:
            entry["figures"] = metadata
    return [
        FailedCheck(
            asset=asset,
            check=check,
            partitions=tuple(sorted(set(entry["weeks"]))),
            observed_value=entry["figures"].get("observed_value"),
            threshold=entry["figures"].get("threshold"),
            failing_rows=entry["figures"].get("failing_rows"),
        )
        for (asset, check), entry in found.items()
    ]
