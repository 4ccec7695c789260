"""Default thresholds of the checks. The Dagster Config classes in defs/quality take their defaults from here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RawThresholds:
    """Checks a raw asset evaluates on the weeks it writes."""

    max_duplicate_lines: int = 0
    max_unreadable_lines: int = 0
    max_contract_violations: int = 0
    max_future_events: int = 0
    # a record may carry a time up to this far past the end of its landing file's day
    future_tolerance_minutes: float = 60.0
    max_past_events: int = 0
    # ... and up to this far before the start of that day
    past_tolerance_minutes: float = 60.0
    # sent_at and received_at further apart than this: the client's clock is off (below: network latency)
    clock_tolerance_seconds: float = 60.0
    max_clock_skew_rate: float = 0.01
    # sources expected to deliver a file every day; completeness, volume and freshness apply to these
    daily_sources: tuple[str, ...] = ("gateway_requests",)
    max_missing_days: int = 0
    min_rows_per_week: int = 1
    volume_neighbour_days: int = 3
    max_volume_ratio: float = 4.0
    # below this neighbour median a day's volume is too small to compare
    min_neighbour_median: float = 20.0
    max_lag_days: int = 1


@dataclass(frozen=True)
class CrossThresholds:
    """Checks that read other assets (effects before causes, missing keys)."""

    causality_tolerance_seconds: float = 0.0
    max_unknown_key_rate: float = 0.01
    max_unresolved_user_rate: float = 0.01
    max_unknown_recipient_rate: float = 0.01
