"""Landing day files: every simulated record passes through `LandingWriter.write`.

Records arrive a batch at a time as JSON value columns (see `encoding`);
the writer orders them by their own time field, encodes one JSON object per
line, and appends each UTC day's lines to `landing/<source>/<YYYY-MM-DD>.jsonl`.
Lines are buffered per (source, day) and flushed when the buffer is large
(always right after a large batch), so memory stays bounded by a batch and
at most one file is open at a time. This is the one
place records are written: a `FaultInjector` (faults.py), when given, changes
each batch before it is ordered and encoded.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa

from funnel_assets.lib.contracts import SOURCES, load_contract

from .encoding import DAY_MS, JsonValues, json_objects
from .faults import FaultInjector

# the day file of a record is the UTC day of its contract's time field
TIME_FIELDS = {source: load_contract(source).time_field for source in SOURCES}
FLUSH_BYTES = 64 * 1024 * 1024


def remove_landing_files(landing_dir: Path) -> None:
    """Delete the day files of earlier runs, which appending would otherwise extend (or mix in)."""
    for source in TIME_FIELDS:
        for pattern in ("*.jsonl", "*.jsonl.gz"):
            for path in (landing_dir / source).glob(pattern):
                path.unlink()


class LandingWriter:
    def __init__(self, landing_dir: Path, faults: FaultInjector | None = None):
        self.landing_dir = landing_dir
        self.faults = faults
        self.lines: dict[str, int] = defaultdict(int)
        self.latest_ms: float = float("-inf")
        self._buffers: dict[tuple[str, int], list[pa.Buffer]] = defaultdict(list)
        self._buffered = 0
        remove_landing_files(landing_dir)
        for source in TIME_FIELDS:
            (landing_dir / source).mkdir(parents=True, exist_ok=True)

    def write(self, source: str, time_ms: np.ndarray, fields: dict[str, JsonValues]) -> None:
        """Append records: `time_ms` is each record's own time field, `fields` its JSON value columns."""
        if not len(time_ms):
            return
        if self.faults is not None:
            time_ms, fields = self.faults.records(source, time_ms, fields)
        if np.any(time_ms[1:] < time_ms[:-1]):
            order = np.argsort(time_ms, kind="stable")
            time_ms = time_ms[order]
            fields = {name: JsonValues(values.text.take(pa.array(order)), values.quoted) for name, values in fields.items()}
        self._buffer_by_day(source, time_ms, json_objects(fields, end="}\n"))
        self.lines[source] += len(time_ms)
        self.latest_ms = max(self.latest_ms, float(time_ms[-1]))
        if self._buffered > FLUSH_BYTES:
            self.flush()

    def _buffer_by_day(self, source: str, time_ms: np.ndarray, lines: pa.Array) -> None:
        """Keep each day's run of lines as a zero-copy slice of the batch's text until the next flush."""
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset: lines.offset + len(lines) + 1]
        data = lines.buffers()[2]
        day = (time_ms // DAY_MS).astype(np.int64)
        starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
        ends = np.r_[starts[1:], len(day)]
        for start, end in zip(starts, ends):
            chunk = data.slice(int(offsets[start]), int(offsets[end] - offsets[start]))
            self._buffers[(source, int(day[start]))].append(chunk)
            self._buffered += chunk.size

    def flush(self) -> None:
        for (source, day), chunks in sorted(self._buffers.items()):
            with open(self.landing_dir / source / f"{np.datetime64(day, 'D')}.jsonl", "ab") as handle:
                for chunk in chunks:
                    handle.write(chunk)
        self._buffers.clear()
        self._buffered = 0
