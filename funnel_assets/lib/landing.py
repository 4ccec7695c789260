"""Where landing files live and which partition each belongs to.

Layout (landing format v1): `<data_dir>/landing/<source>/<YYYY-MM-DD>.jsonl`
(or `.jsonl.gz`), one file per UTC day of the records' own time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.jsonl(\.gz)?$")


@dataclass(frozen=True)
class DayFile:
    path: Path
    day: date

    @property
    def week(self) -> date:
        return week_of(self.day)


def week_of(day: date) -> date:
    """The Monday (UTC) starting the ISO week of `day`."""
    return day - timedelta(days=day.weekday())


def day_files(data_dir: Path, source: str) -> list[DayFile]:
    """Every day file of a source, in day order; a stray file name is an error."""
    folder = data_dir / "landing" / source
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        match = _DAY_FILE.match(path.name)
        if not match:
            raise ValueError(
                f"{path}: not a landing file name; expected <YYYY-MM-DD>.jsonl or .jsonl.gz "
                f"(landing format v1: one file per UTC day)"
            )
        found.append(DayFile(path, datetime.strptime(match.group(1), "%Y-%m-%d").date()))
    return found


def files_in(data_dir: Path, source: str, start: date, end: date) -> list[DayFile]:
    """Day files of `source` whose day falls in [start, end)."""
    return [f for f in day_files(data_dir, source) if start <= f.day < end]


def covered_weeks(data_dir: Path, sources: tuple[str, ...]) -> tuple[date, date] | None:
    """First and last week (Mondays) that any landing file falls in."""
    days = [f.day for s in sources for f in day_files(data_dir, s)]
    if not days:
        return None
    return week_of(min(days)), week_of(max(days))
