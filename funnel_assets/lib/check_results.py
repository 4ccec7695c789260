"""The latest evaluation of every asset check, read from the Dagster instance."""

from __future__ import annotations

import dagster as dg
from dagster._core.events import DagsterEventType


def latest_check_results(instance: dg.DagsterInstance, limit: int = 10_000) -> list[dict]:
    records = instance.get_event_records(
        dg.EventRecordsFilter(event_type=DagsterEventType.ASSET_CHECK_EVALUATION), limit=limit, ascending=False
    )
    latest: dict[tuple, dict] = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        partition = getattr(evaluation, "partition", None)
        key = (evaluation.asset_key.to_user_string(), evaluation.check_name, partition)
        if key in latest:
            continue
        metadata = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
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
