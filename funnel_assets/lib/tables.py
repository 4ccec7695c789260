"""Tables that read like a funnel: stages in funnel order, rates as percentages, durations in human units."""

from __future__ import annotations

import json
import math

import pandas as pd

from funnel_assets.lib.stage_names import STAGES

STAGE_COLUMNS = ("from_stage", "to_stage", "stage", "last_stage_reached")
# The column saying how many a row counts: a cohort where it is zero everywhere is empty.
COUNT_COLUMNS = ("developers", "entered")


def human_duration(seconds: float | None) -> str:
    """`45 s`, `13m`, `2h 13m`, `3.4 d`."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    if abs(seconds) < 60:
        return f"{seconds:.0f} s"
    if abs(seconds) < 3600:
        return f"{seconds / 60:.0f}m"
    if abs(seconds) < 86400:
        hours, minutes = divmod(round(seconds / 60), 60)
        return f"{hours}h {minutes:02d}m"
    return f"{seconds / 86400:.1f} d"


def percent(rate: float | None) -> str:
    if rate is None or pd.isna(rate):
        return ""
    return f"{rate * 100:.1f}%"


def _is_rate(column: str) -> bool:
    return column == "rate" or column.startswith("benchmark_") or "rate_" in column or column.endswith(("_rate", "share")) or column.startswith("share")


def _is_duration(column: str) -> bool:
    return column.endswith("_s") and column != "upper_s"


def in_funnel_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by cohort, then by the funnel position of their stages (not alphabetically)."""
    keys = [c for c in ("cohort_week", "intent_week", "event_week") if c in frame.columns][:1]
    order = {stage: n for n, stage in enumerate(STAGES)}
    ranked = frame.assign(**{f"_{c}_rank": frame[c].map(order) for c in STAGE_COLUMNS if c in frame.columns})
    keys += [c for c in ranked.columns if c.endswith("_rank")]
    keys += [c for c in ("window_days", "bin_order", "days", "depth") if c in frame.columns]
    if not keys:
        return frame
    ranked = ranked.sort_values(keys, kind="stable")
    return ranked.drop(columns=[c for c in ranked.columns if c.endswith("_rank")]).reset_index(drop=True)


def without_empty_cohorts(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the cohorts in which every row counts nobody."""
    count = next((c for c in COUNT_COLUMNS if c in frame.columns), None)
    if count is None or "cohort_week" not in frame.columns or frame.empty:
        return frame
    counted = frame.groupby("cohort_week")[count].transform("sum") > 0
    return frame[counted].reset_index(drop=True)


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Rates as percentages and durations in human units, for printing (not for csv or json)."""
    shown = frame.copy()
    for column in shown.columns:
        if _is_rate(column) and pd.api.types.is_numeric_dtype(shown[column]):
            shown[column] = shown[column].map(percent)
        elif _is_duration(column) and pd.api.types.is_numeric_dtype(shown[column]):
            shown[column] = shown[column].map(human_duration)
    return shown.astype(object).where(shown.notna(), "")


def json_value(value):
    """Dates and times as ISO-8601; decimals as numbers."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays (list columns)
        return value.tolist()
    return float(value) if hasattr(value, "as_integer_ratio") else str(value)


def records(frame: pd.DataFrame) -> list[dict]:
    """Row objects with missing values as None (JSON null)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def render(frame: pd.DataFrame, fmt: str) -> str:
    """The frame as json (an array of row objects), csv or a readable table."""
    if fmt == "json":
        return json.dumps(records(frame), indent=2, default=json_value)
    if fmt == "csv":
        return frame.to_csv(index=False)
    with pd.option_context("display.max_rows", 500, "display.width", 200, "display.max_columns", 50):
        return readable(frame).to_string(index=False)
