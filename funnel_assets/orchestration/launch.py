"""The one way to run the funnel over a range of weeks: a run of `funnel_weekly_job`.

A `WeeksRun` is a slice of the funnel (the sources, the cohorts, or
everything) over a range of weeks: every weekly asset of the slice takes the
whole range in a single run. The schedule and the sensor turn it into a run
request; `funnel run`, `funnel backfill` and the tests execute it in process,
with progress, into the Dagster instance, so the UI shows it as a run of
`funnel_weekly_job` like the daemon's.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import dagster as dg

from funnel_assets.lib.contracts import SOURCES
from funnel_assets.lib.landing import covered_weeks
from funnel_assets.lib.quality.gx import import_in_background
from funnel_assets.orchestration.incremental import (
    FileChange,
    Plan,
    as_of_assets,
    cohort_reach,
    data_as_of,
    landing_changes,
    plan,
    previous_run_succeeded,
)
from funnel_assets.orchestration.weeks import (
    COHORTS_SELECTION,
    EVENTS_ASSET,
    SLICE_TAG,
    SOURCES_SELECTION,
    VENDOR_ASSET,
    FunnelWeeks,
    WeekRange,
    identity_sources,
    landing_weeks,
)

JOB = "funnel_weekly_job"
FUNNEL_GROUPS = ("ingest", "identity", "stages", "marts", "reports")
REASON_TAG = "funnel/reason"
BACKFILL_TAG = "funnel/backfill"


@dataclass
class StepProgress:
    done: int
    total: int
    step: str
    status: str  # started | succeeded | failed
    seconds: float = 0.0


STEP_EVENTS = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}


def _watch(instance: dg.DagsterInstance, run_id: str, assets: set[str], report: Callable[[StepProgress], None],
           stop: threading.Event) -> None:
    """Report step events of the run while it executes; `done` counts the steps of `assets` (the selection's
    assets, by step key), not the checks that run as steps of their own."""
    total = len(assets)
    done = 0
    cursor = None  # only the step events added since the last look are read
    started: dict[str, float] = {}
    while True:
        finished = stop.is_set()  # one more look after the run ends, for its last events
        if instance.has_run(run_id):
            connection = instance.get_records_for_run(run_id, cursor=cursor, of_type=STEP_EVENTS)
            cursor = connection.cursor
            for record in connection.records:
                entry = record.event_log_entry
                event = entry.dagster_event
                if event.event_type == dg.DagsterEventType.STEP_START:
                    started[event.step_key] = entry.timestamp
                    report(StepProgress(done, total, event.step_key, "started"))
                else:
                    done += event.step_key in assets
                    status = "succeeded" if event.event_type == dg.DagsterEventType.STEP_SUCCESS else "failed"
                    took = entry.timestamp - started.get(event.step_key, entry.timestamp)
                    report(StepProgress(done, total, event.step_key, status, took))
        if finished:
            return
        stop.wait(0.5)


SLICES = {
    "vendor": dg.AssetSelection.assets(VENDOR_ASSET),
    "sources": SOURCES_SELECTION,
    "cohorts": COHORTS_SELECTION,
    "everything": dg.AssetSelection.all(),
}


@dataclass(frozen=True)
class WeeksRun:
    """One run of `funnel_weekly_job`: a slice of the funnel over a range of weeks."""

    slice: str  # a key of SLICES
    weeks: WeekRange | None  # None: the vendor slice, which is not partitioned
    selection: tuple[dg.AssetKey, ...]
    tags: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, asset_graph, slice: str, weeks: WeekRange | None, reason: str, converts: bool = False,
           within: dg.AssetSelection | None = None, **tags: str) -> WeeksRun:
        """`converts`: vendor sources are configured, so a slice that ingests converts them first.
        `within`: only these assets of the slice (an incremental run's part of it)."""
        selection = SLICES[slice] & dg.AssetSelection.groups(*FUNNEL_GROUPS)
        if within is not None:
            selection = selection & within
        if not converts:
            selection = selection - dg.AssetSelection.assets(VENDOR_ASSET)
        keys = selection.resolve(asset_graph)
        return cls(slice, weeks, tuple(sorted(keys)), tuple({REASON_TAG: reason, **tags}.items()))

    @classmethod
    def from_request(cls, request: dg.RunRequest) -> WeeksRun:
        """A run request of the schedule or a sensor, to execute in process (as the tests do)."""
        tags = dict(request.tags)
        slice = tags.pop(SLICE_TAG)
        weeks = WeekRange.from_tags(tags)
        rest = {k: v for k, v in tags.items() if k not in (weeks.tags() if weeks else {})}
        return cls(slice, weeks, tuple(request.asset_selection), tuple(rest.items()))

    def run_tags(self) -> dict[str, str]:
        return {**(self.weeks.tags() if self.weeks else {}), SLICE_TAG: self.slice, **dict(self.tags)}

    def request(self, run_key: str | None = None) -> dg.RunRequest:
        """The run, for a schedule or a sensor to launch."""
        return dg.RunRequest(run_key=run_key, asset_selection=list(self.selection), tags=self.run_tags())

    def execute(
        self,
        defs: dg.Definitions,
        resources: dict[str, Any],
        instance: dg.DagsterInstance,
        report: Callable[[StepProgress], None] | None = None,
    ) -> dg.ExecuteInProcessResult:
        """The run, executed in this process into `instance` (its progress through `report`)."""
        import_in_background()  # Great Expectations, for the run's first check, while its first step reads data
        run_id = str(uuid.uuid4())  # known before the run starts: the progress watcher follows it
        stop = threading.Event()
        watcher = None
        if report is not None:
            assets = {key.to_python_identifier() for key in self.selection}
            watcher = threading.Thread(target=_watch, args=(instance, run_id, assets, report, stop), daemon=True)
            watcher.start()
        try:
            return _job(defs, resources).execute_in_process(
                instance=instance,
                asset_selection=list(self.selection),
                run_id=run_id,
                # progress is reported through `report`; Dagster's own console log would drown it
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                tags=self.run_tags(),
                raise_on_error=False,
            )
        finally:
            stop.set()
            if watcher is not None:
                watcher.join(timeout=5)


def _job(defs: dg.Definitions, resources: dict[str, Any]) -> dg.JobDefinition:
    """`funnel_weekly_job` bound to these resources (they replace the definitions' own of the same keys)."""
    bound = dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        resources={**(defs.resources or {}), **resources},
        executor=defs.executor,
    )
    return bound.resolve_job_def(JOB)


def convert_vendor_sources(defs: dg.Definitions, funnel_resource, instance: dg.DagsterInstance,
                           say: Callable[[str], None] | None = None) -> dg.ExecuteInProcessResult | None:
    """A run of the vendor slice alone, when vendor sources are configured: the weeks a run covers are read
    from the landing files, so they must be there before it is launched."""
    if not funnel_resource.vendor_inputs:
        return None
    run = WeeksRun.of(defs.resolve_asset_graph(), "vendor", None, "vendor sources", converts=True)
    result = run.execute(defs, {"funnel": funnel_resource}, instance)
    if not result.success:
        return result
    if say is not None:
        (materialization,) = result.asset_materializations_for_node(VENDOR_ASSET)
        say(materialization.metadata["summary"].value)
    return result


def everything(defs: dg.Definitions, funnel_resource, reason: str = "funnel run") -> WeeksRun:
    """Every asset for every week the landing files of the resource's data folder cover."""
    data_dir = funnel_resource.data_path
    weeks = covered_weeks(data_dir, SOURCES)
    if weeks is None:
        raise FileNotFoundError(f"no landing files under {data_dir / 'landing'} (expected landing/<source>/<YYYY-MM-DD>.jsonl)")
    converts = bool(funnel_resource.vendor_inputs)
    return WeeksRun.of(defs.resolve_asset_graph(), "everything", WeekRange(*weeks), reason, converts)


def incremental_runs(defs: dg.Definitions, funnel_resource, instance: dg.DagsterInstance,
                     reason: str = "funnel run") -> tuple[Plan, list[WeeksRun]] | None:
    """The runs that bring the warehouse up to date with the landing files: incremental.plan's weeks, as runs
    of `funnel_weekly_job`. None when the warehouse has to be built in full (it has not seen these files, or
    the last run that wrote it did not succeed)."""
    data_dir = funnel_resource.data_path
    weeks_covered = covered_weeks(data_dir, SOURCES)
    if weeks_covered is None or not funnel_resource.warehouse.exists():
        return None
    if not previous_run_succeeded(instance, funnel_resource.warehouse):
        return None
    with funnel_resource.connect(read_only=True) as engine:
        changes = landing_changes(engine, data_dir)
        as_of = data_as_of(engine)
    if changes is None:
        return None
    # files of weeks after the last one left are gone: those weeks are rebuilt (emptied) too
    data_weeks = WeekRange(weeks_covered[0], max([weeks_covered[1], *(c.week for c in changes)]))
    graph = defs.resolve_asset_graph()
    todo = plan_for(graph, funnel_resource.rules, changes, data_weeks, as_of)
    return todo, runs_for(todo, graph, reason)


def plan_for(graph, rules, changes: list[FileChange], data_weeks: WeekRange, as_of) -> Plan:
    """incremental.plan with this asset graph's weeks and identity sources, and the reach of these rules."""
    weeks = FunnelWeeks.of(graph)
    longest = max((t.window_days for t in rules.transition_rules), default=0)
    reach = cohort_reach(weeks.window, rules.horizon_days, longest, rules.diagnostics.outcome_days)
    return plan(changes, weeks, reach, identity_sources(graph), data_weeks, as_of)


def runs_for(todo: Plan, graph, reason: str, converts: bool = False, unbuilt: tuple[str, ...] = (),
             **tags: str) -> list[WeeksRun]:
    """The runs of `funnel_weekly_job` that carry out a plan, in order: the changed sources (and the identity
    map), developer_events, every cohort asset, then the as-of marts for the cohorts left.
    `converts`: the first run converts the vendor sources first.
    `unbuilt`: sources whose raw table was never built, read with the changed ones (a sensor does not open the
    warehouse; a source without files still needs its empty table before developer_events reads it)."""
    runs = []
    sources = sorted({*todo.sources, *unbuilt})
    raw = dg.AssetSelection.assets(*(f"raw_{source}" for source in sources)) | dg.AssetSelection.groups("identity")
    if converts:
        raw = raw | dg.AssetSelection.assets(VENDOR_ASSET)
    events = dg.AssetSelection.assets(EVENTS_ASSET)
    if todo.raw is not None:
        if todo.raw == todo.events:
            runs.append(WeeksRun.of(graph, "sources", todo.raw, reason, converts, within=raw | events, **tags))
        else:
            runs.append(WeeksRun.of(graph, "sources", todo.raw, reason, converts, within=raw, **tags))
            runs.append(WeeksRun.of(graph, "sources", todo.events, reason, within=events, **tags))
    if todo.cohorts is not None:
        runs.append(WeeksRun.of(graph, "cohorts", todo.cohorts, reason, **tags))
    as_of_marts = as_of_assets(graph)
    if todo.as_of_cohorts is not None and as_of_marts and todo.as_of_cohorts != todo.cohorts:
        only = dg.AssetSelection.assets(*as_of_marts)
        runs.append(WeeksRun.of(graph, "cohorts", todo.as_of_cohorts, reason, within=only, **tags))
    return runs


def run_everything(
    defs: dg.Definitions,
    funnel_resource: dg.ConfigurableResource,
    instance: dg.DagsterInstance,
    report: Callable[[StepProgress], None] | None = None,
    say: Callable[[str], None] | None = None,
    full: bool = False,
) -> dg.ExecuteInProcessResult | None:
    """Convert the vendor sources (if any), then bring the warehouse up to date with the landing files of the
    resource's data folder: incrementally (`incremental_runs`) when it has seen them before, else (or with
    `full`) every asset for every week they cover. The result of the last run; None when nothing had
    changed, so no run was needed."""
    converted = convert_vendor_sources(defs, funnel_resource, instance, say)
    if converted is not None and not converted.success:
        return converted
    incremental = None if full else incremental_runs(defs, funnel_resource, instance)
    if incremental is None:
        return everything(defs, funnel_resource).execute(defs, {"funnel": funnel_resource}, instance, report)
    todo, runs = incremental
    if say is not None:
        say(todo.describe())
    result = None
    for run in runs:
        result = run.execute(defs, {"funnel": funnel_resource}, instance, report)
        if not result.success:
            break
    return result


def backfill_runs(defs: dg.Definitions, funnel_resource, first_week: date, last_week: date) -> list[WeeksRun]:
    """The runs that rebuild the cohorts of signup weeks [first_week, last_week] (Mondays) from the landing files.

    Run 1 re-ingests the event weeks those cohorts read (the weeks of their
    window that have landing files) with the identity map and
    developer_events; run 2 rebuilds the cohort assets for the signup weeks.
    """
    if first_week.weekday() or last_week.weekday():
        raise ValueError(f"weeks are named by their Monday: {first_week} / {last_week}")
    if first_week > last_week:
        raise ValueError(f"--from {first_week} is after --to {last_week}")
    graph = defs.resolve_asset_graph()
    partitions_def = graph.get(dg.AssetKey(EVENTS_ASSET)).partitions_def
    first_partition = date.fromisoformat(partitions_def.get_first_partition_key())
    last_partition = date.fromisoformat(partitions_def.get_last_partition_key())
    cohorts = WeekRange(first_week, last_week).clip(first_partition, last_partition)
    if cohorts is None:
        raise ValueError(f"no signup week between {first_week} and {last_week} is a partition ({first_partition}..{last_partition})")

    window = FunnelWeeks.of(graph).window
    weeks = [w for w in landing_weeks(funnel_resource.data_path) if first_partition <= w <= last_partition]
    needed = window.events_read_by(cohorts)
    in_window = [w for w in weeks if needed.first <= w <= needed.last]
    label = {BACKFILL_TAG: str(cohorts)}
    runs = []
    if in_window:
        events = WeekRange(min(in_window), max(in_window))
        runs.append(WeeksRun.of(graph, "sources", events, "backfill", bool(funnel_resource.vendor_inputs), **label))
    runs.append(WeeksRun.of(graph, "cohorts", cohorts, "backfill", **label))
    return runs


def backfill(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    resource: dg.ConfigurableResource,
    first_week: date,
    last_week: date,
    report: Callable[[StepProgress], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> list[dg.ExecuteInProcessResult]:
    """Rebuild the cohorts of signup weeks [first_week, last_week]: the runs of `backfill_runs`, the second only
    if the first succeeded. Each run replaces the partitions it writes, so repeating a backfill gives the same
    tables. Both runs are recorded in the instance (tag funnel/backfill) and show in the UI."""
    converted = convert_vendor_sources(defs, resource, instance, say)
    if converted is not None and not converted.success:
        return [converted]
    results = []
    for run in backfill_runs(defs, resource, first_week, last_week):
        results.append(run.execute(defs, {"funnel": resource}, instance, report))
        if not results[-1].success:
            break
    return results
