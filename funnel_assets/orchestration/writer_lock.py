"""One writer per warehouse: an advisory lock on a file beside it, which names its holder.

DuckDB takes one writer per file, and a run opens and closes the warehouse
once per step: two runs at once would interleave their steps, and the one
that loses DuckDB's lock fails step after step. So a run holds
`<warehouse>.lock` for its whole length (`flock`, exclusive): the kernel
drops the lock when the process ends, however it ends, so the lock outlives
no process. While it holds the lock the writer keeps its name in the file
(run id, pid, start time), so whoever finds the warehouse busy can say by
whom; a record still there when the lock is free was left by a writer that
died (`Writer.previous`).

Readers (`funnel show`) take the same lock shared: they wait for the writer
to finish, and then read a warehouse no run is halfway through.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

WAREHOUSE_TAG = "funnel/warehouse"  # the run tag naming the warehouse a run wrote (its resolved path)


@dataclass(frozen=True)
class Holder:
    """Who writes (or last wrote) a warehouse."""

    warehouse: str
    run_id: str
    pid: int
    since: str  # ISO-8601, UTC

    def __str__(self) -> str:
        return f"warehouse {self.warehouse} is being written by run {self.run_id}, pid {self.pid}, since {self.since}"


class WarehouseBusy(RuntimeError):
    """Another process writes the warehouse; the message is one line naming it."""

    def __init__(self, holder: Holder):
        super().__init__(str(holder))
        self.holder = holder


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


def _record(handle) -> Holder | None:
    handle.seek(0)
    text = handle.read().strip()
    if not text:
        return None
    try:
        return Holder(**json.loads(text))
    except (ValueError, TypeError):
        return None


def _open(warehouse: Path):
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "a+")


def current_writer(warehouse: Path) -> Holder | None:
    """The writer holding the warehouse now, if any (a stale record of a dead writer is not one)."""
    if not lock_path(warehouse).exists():
        return None
    with _open(warehouse) as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _record(handle)
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return None


@dataclass
class Writer:
    """The lock of one warehouse, held by this process for one run."""

    handle: object
    holder: Holder
    previous: Holder | None  # the record a writer that died left behind, if any

    def release(self) -> None:
        handle = self.handle
        handle.seek(0)
        handle.truncate()
        handle.flush()
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def acquire(warehouse: Path, run_id: str, wait_for_readers: float = 60.0) -> Writer:
    """Take the warehouse for `run_id`, or raise WarehouseBusy naming the writer that has it.

    Readers hold the lock only while they read: a writer waits up to
    `wait_for_readers` seconds for them.
    """
    handle = _open(warehouse)
    deadline = time.monotonic() + wait_for_readers
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            holder = _record(handle)
            if holder is not None or time.monotonic() > deadline:
                handle.close()
                raise WarehouseBusy(holder or Holder(str(warehouse), "(a reader)", 0, "")) from None
            time.sleep(0.1)
    previous = _record(handle)
    holder = Holder(str(warehouse), run_id, os.getpid(), datetime.now(timezone.utc).isoformat(timespec="seconds"))
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(asdict(holder)))
    handle.flush()
    os.fsync(handle.fileno())
    return Writer(handle, holder, previous)


@contextmanager
def reading(warehouse: Path) -> Iterator[None]:
    """Wait until no run writes the warehouse (saying so on stderr), and keep writers out while reading."""
    with _open(warehouse) as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _record(handle)
            if holder is not None:
                print(f"waiting: {holder}", file=sys.stderr, flush=True)
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
