"""Writes converted records as landing format v1 and rejections to the quarantine.

`<out>/landing/<source>/<YYYY-MM-DD>.jsonl`, one file per UTC day of the
record's own time (the contract's `time_field`), appended to: converting the
same input twice lands its records twice, and the raw layer's deduplication
on each contract's unique key removes the copies. Rejections go to
`<out>/quarantine/convert.jsonl` with file, line, field, reason and raw text.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from funnel_assets.lib.adapters.base import Converted, Rejected
from funnel_assets.lib.contracts import load_contract

QUARANTINE_FILE = Path("quarantine") / "convert.jsonl"


def write_landing(items: Iterable[Converted | Rejected], out_dir: Path) -> dict:
    """Append every item where it belongs; return how many records each source and the quarantine got."""
    counts: Counter[str] = Counter()
    with ExitStack() as stack:
        handles: dict[Path, IO[str]] = {}

        def append(path: Path, line: dict) -> None:
            if path not in handles:
                path.parent.mkdir(parents=True, exist_ok=True)
                handles[path] = stack.enter_context(path.open("a", encoding="utf-8"))
            handles[path].write(json.dumps(line, ensure_ascii=False) + "\n")

        for item in items:
            if isinstance(item, Rejected):
                append(out_dir / QUARANTINE_FILE, vars(item))
                counts["rejected"] += 1
            else:
                append(landing_path(out_dir, item), item.record)
                counts[item.source] += 1
    return dict(counts)


def landing_path(out_dir: Path, item: Converted) -> Path:
    moment = datetime.fromisoformat(item.record[load_contract(item.source).time_field])
    return out_dir / "landing" / item.source / f"{moment.astimezone(UTC).date().isoformat()}.jsonl"
