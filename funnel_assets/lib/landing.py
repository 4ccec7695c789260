"""Where landing files live and which partition each belongs to.

Layout (landing format v1): `<data_dir>/landing/<source>/<YYYY-MM-DD>.jsonl`
(or `.jsonl.gz`), one file per UTC day of the records' own time.
"""

from __future__ import annotations

import os
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


def cut_weeks(sizes: dict[date, int], start: date, end: date, budget: int) -> list[tuple[date, date]]:
    """[start, end) cut at week boundaries into consecutive ranges whose weeks' `sizes` add up to at most `budget`
    (a single week larger than it is a range of its own); one range when all fits."""
    cuts, held = [start], 0
    for week in sorted(w for w in sizes if start <= w < end):
        if held and held + sizes[week] > budget and week > cuts[-1]:
            cuts.append(week)
            held = 0
        held += sizes[week]
    cuts.append(end)
    return list(zip(cuts, cuts[1:]))


def day_files(data_dir: Path, source: str) -> list[DayFile]:
    """Every day file of a source, in day order.

    A stray file name, a name that is no calendar day, and anything that is not a regular file inside
    the source's folder (a symbolic link, a directory) is an error naming the path; when there are
    several, the error counts them.
    """
    folder = data_dir / "landing" / source
    if not folder.is_dir():
        return []
    found, refused = [], []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        try:
            found.append(_day_file(path))
        except ValueError as error:
            refused.append(str(error))
    if refused:
        more = f" (and {len(refused) - 1} more refused in {folder})" if len(refused) > 1 else ""
        raise ValueError(refused[0] + more)
    return found


def _day_file(path: Path) -> DayFile:
    match = _DAY_FILE.match(path.name)
    if not match:
        raise ValueError(
            f"{path}: not a landing file name; expected <YYYY-MM-DD>.jsonl or .jsonl.gz "
            f"(landing format v1: one file per UTC day)"
        )
    try:
        day = datetime.strptime(match.group(1), "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"{path}: {match.group(1)} is not a calendar day (expected <YYYY-MM-DD>)") from None
    # never follow a link out of the landing folder (a day file linked to /etc/passwd)
    if path.is_symlink():
        raise ValueError(f"{path}: a symbolic link (to {os.readlink(path)}); landing files must be regular files "
                         f"inside the landing folder")
    if not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise ValueError(f"{path}: {kind}; landing files must be regular files inside the landing folder")
    return DayFile(path, day)


def files_in(data_dir: Path, source: str, start: date, end: date) -> list[DayFile]:
    """Day files of `source` whose day falls in [start, end)."""
    return [f for f in day_files(data_dir, source) if start <= f.day < end]


def covered_weeks(data_dir: Path, sources: tuple[str, ...]) -> tuple[date, date] | None:
    """First and last week (Mondays) that any landing file falls in."""
    days = [f.day for s in sources for f in day_files(data_dir, s)]
    if not days:
        return None
    return week_of(min(days)), week_of(max(days))
