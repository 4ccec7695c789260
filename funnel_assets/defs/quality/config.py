"""Thresholds of the data-quality checks, as run configuration with defaults (from lib/quality/thresholds.py).

Raw assets take `RawQualityConfig` (the checks they evaluate while writing a
week); the separate cross-source checks take `CrossSourceQualityConfig`. Set
them in the launchpad or a job's run_config, per asset or check.
"""

from __future__ import annotations

import dagster as dg

from funnel_assets.lib.quality.thresholds import CrossThresholds, RawThresholds

_RAW = RawThresholds()
_CROSS = CrossThresholds()


class RawQualityConfig(dg.Config):
    max_duplicate_lines: int = _RAW.max_duplicate_lines
    max_unreadable_lines: int = _RAW.max_unreadable_lines
    max_contract_violations: int = _RAW.max_contract_violations
    max_future_events: int = _RAW.max_future_events
    future_tolerance_minutes: float = _RAW.future_tolerance_minutes
    max_past_events: int = _RAW.max_past_events
    past_tolerance_minutes: float = _RAW.past_tolerance_minutes
    clock_tolerance_seconds: float = _RAW.clock_tolerance_seconds
    max_clock_skew_rate: float = _RAW.max_clock_skew_rate
    daily_sources: list[str] = list(_RAW.daily_sources)
    max_missing_days: int = _RAW.max_missing_days
    min_rows_per_week: int = _RAW.min_rows_per_week
    volume_neighbour_days: int = _RAW.volume_neighbour_days
    max_volume_ratio: float = _RAW.max_volume_ratio
    min_neighbour_median: float = _RAW.min_neighbour_median
    max_lag_days: int = _RAW.max_lag_days

    def thresholds(self) -> RawThresholds:
        values = self.model_dump()
        return RawThresholds(**{**values, "daily_sources": tuple(values["daily_sources"])})


class CrossSourceQualityConfig(dg.Config):
    causality_tolerance_seconds: float = _CROSS.causality_tolerance_seconds
    max_unknown_key_rate: float = _CROSS.max_unknown_key_rate
    max_unresolved_user_rate: float = _CROSS.max_unresolved_user_rate
    max_unknown_recipient_rate: float = _CROSS.max_unknown_recipient_rate

    def thresholds(self) -> CrossThresholds:
        return CrossThresholds(**self.model_dump())
