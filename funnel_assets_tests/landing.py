"""Hand-built landing files for tests: records in, day files out."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

from funnel_assets.lib.contracts import SOURCES, load_contract

# the day file of a record is the UTC day of its contract's time field
TIME_FIELDS = {source: load_contract(source).time_field for source in SOURCES}

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)  # a Monday


def at(days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> str:
    """An ISO timestamp relative to T0."""
    return (T0 + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)).isoformat()


def write_landing(data_dir: Path, records: dict[str, list[dict]]) -> None:
    """Write each source's records to the day files of their own time field."""
    for source, rows in records.items():
        by_day: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            day = datetime.fromisoformat(row[TIME_FIELDS[source]]).astimezone(timezone.utc).date()
            by_day[day.isoformat()].append(row)
        folder = data_dir / "landing" / source
        folder.mkdir(parents=True, exist_ok=True)
        for day, day_rows in by_day.items():
            with open(folder / f"{day}.jsonl", "a") as handle:
                for row in day_rows:
                    handle.write(json.dumps(row) + "\n")
