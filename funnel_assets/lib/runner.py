"""Materialise every asset for every week the landing data covers.

`funnel run` and the tests go through here: one Dagster run over the whole
range of weeks (every weekly asset takes the range in a single run), recorded
in the Dagster instance so the UI shows it afterwards.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEventType
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from funnel_assets.lib.contracts import SOURCES
from funnel_assets.lib.landing import covered_weeks

RUN_TAG = "funnel/cli_run"


@dataclass
class StepProgress:
    done: int
    total: int
    step: str
    status: str  # started | succeeded | failed
    seconds: float = 0.0


STEP_EVENTS = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}


def _watch(instance: dg.DagsterInstance, tag: str, total: int, report: Callable[[StepProgress], None], stop: threading.Event) -> None:
    """Report step events of the run tagged `tag` while it executes."""
    done = 0
    run_id = None
    cursor = None  # only the step events added since the last look are read
    started: dict[str, float] = {}
    while True:
        finished = stop.is_set()  # one more look after the run ends, for its last events
        if run_id is None:
            runs = instance.get_runs(filters=dg.RunsFilter(tags={RUN_TAG: tag}), limit=1)
            run_id = runs[0].run_id if runs else None
        if run_id is not None:
            connection = instance.get_records_for_run(run_id, cursor=cursor, of_type=STEP_EVENTS)
            cursor = connection.cursor
            for record in connection.records:
                entry = record.event_log_entry
                event = entry.dagster_event
                if event.event_type == DagsterEventType.STEP_START:
                    started[event.step_key] = entry.timestamp
                    report(StepProgress(done, total, event.step_key, "started"))
                else:
                    done += 1
                    status = "succeeded" if event.event_type == DagsterEventType.STEP_SUCCESS else "failed"
                    took = entry.timestamp - started.get(event.step_key, entry.timestamp)
                    report(StepProgress(done, total, event.step_key, status, took))
        if finished:
            return
        stop.wait(0.5)


def runnable(defs: dg.Definitions) -> list[dg.AssetsDefinition]:
    """The assets, and the asset checks that read several assets (definitions of their own)."""
    return [a for a in [*(defs.assets or []), *(defs.asset_checks or [])] if isinstance(a, dg.AssetsDefinition)]


def materialize_weeks(
    assets: list[dg.AssetsDefinition],
    funnel_resource: dg.ConfigurableResource,
    instance: dg.DagsterInstance,
    first: date,
    last: date,
    report: Callable[[StepProgress], None] | None = None,
    selection: list[dg.AssetKey] | None = None,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """One Dagster run in which every weekly asset takes the weeks [first, last] at once."""
    tag = uuid.uuid4().hex
    stop = threading.Event()
    watcher = None
    if report is not None:
        steps = len(selection) if selection is not None else len(assets)
        watcher = threading.Thread(target=_watch, args=(instance, tag, steps, report, stop), daemon=True)
        watcher.start()
    try:
        return dg.materialize(
            assets,
            selection=selection,
            instance=instance,
            # progress is reported through `report`; Dagster's own console log would drown it
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            resources={"funnel": funnel_resource},
            tags={
                ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
                ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
                RUN_TAG: tag,
                **(tags or {}),
            },
            raise_on_error=False,
        )
    finally:
        stop.set()
        if watcher is not None:
            watcher.join(timeout=5)


def run_everything(
    defs: dg.Definitions,
    funnel_resource: dg.ConfigurableResource,
    data_dir: Path,
    instance: dg.DagsterInstance,
    report: Callable[[StepProgress], None] | None = None,
) -> dg.ExecuteInProcessResult:
    weeks = covered_weeks(data_dir, SOURCES)
    if weeks is None:
        raise FileNotFoundError(f"no landing files under {data_dir / 'landing'} (expected landing/<source>/<YYYY-MM-DD>.jsonl)")
    first, last = weeks
    return materialize_weeks(runnable(defs), funnel_resource, instance, first, last, report)
