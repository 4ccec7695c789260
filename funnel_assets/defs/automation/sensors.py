"""Sensors: late landing files refresh their partitions; failed checks and failed runs raise alerts.

The alert sensors read the event log generically: every asset-check
evaluation of every finished run (a failed non-blocking check leaves its run
green, so failures alone would miss it), whatever the check. Their cursor is
the storage id of the last run-end event handled, which survives restarts;
the alerts themselves go through an outbox (lib/alerts.py), so a sink that is
down delays them but loses or repeats none.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import dagster as dg
from dagster import AssetRecordsFilter, DagsterEventType, EventLogRecord, RunStatusChangeRecordsFilter

from funnel_assets.defs.automation.jobs import funnel_weekly_job
from funnel_assets.defs.automation.resources import AlertSinksResource
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.adapters.sync import pending_vendor_files
from funnel_assets.lib.alerts import Alert
from funnel_assets.lib.contracts import SOURCES
from funnel_assets.lib.landing import day_files, week_of
from funnel_assets.orchestration.evaluations import failed_evaluations
from funnel_assets.orchestration.incremental import FileChange
from funnel_assets.orchestration.launch import WeeksRun, plan_for, runs_for
from funnel_assets.orchestration.weeks import WeekRange, closed_week, partition_label

# A week's files belong to the weekly schedule (Monday 06:00 UTC) for this long
# after the week ends; after that a new or changed file is late, and ours.
SCHEDULE_GRACE = timedelta(hours=12)
# A file modified this recently may still be being written: look again next tick.
SETTLE_SECONDS = 60


# --- late landing files ---------------------------------------------------------------------


@dataclass(frozen=True)
class LandingFile:
    source: str
    day: date
    stamp: str  # mtime in ns and size: changes whenever the content may have
    mtime: float = 0.0


def scan_landing(data_dir) -> dict[str, LandingFile]:
    """Every landing file, by path relative to the data folder."""
    found = {}
    for source in SOURCES:
        for day_file in day_files(data_dir, source):
            stat = day_file.path.stat()
            relative = day_file.path.relative_to(data_dir).as_posix()
            found[relative] = LandingFile(source, day_file.day, f"{stat.st_mtime_ns}:{stat.st_size}", stat.st_mtime)
    return found


def _ingested_since(instance: dg.DagsterInstance, source: str, week: date, mtime: float, cache: dict) -> bool:
    """Whether raw_<source>'s partition for `week` was materialised after `mtime`."""
    if (source, week) not in cache:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(f"raw_{source}"), asset_partitions=[week.isoformat()]), limit=1
        ).records
        cache[(source, week)] = records[0].timestamp if records else None
    materialised = cache[(source, week)]
    return materialised is not None and materialised >= mtime


@dg.sensor(job=funnel_weekly_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def late_landing_files_sensor(context: dg.SensorEvaluationContext, funnel: FunnelResource) -> dg.SensorResult:
    """Refreshes what a new, changed or removed landing file of a closed week feeds.

    New or changed vendor files (`vendor_sources`) first get a run of `vendor_landing_files`,
    which converts them: the landing files it writes are then picked up like any other.

    The runs are those `funnel run` makes of the same files (orchestration/incremental.py): the
    changed sources from the file's week on (with the identity map), developer_events, the cohorts
    whose reach takes those weeks, the as-of marts. The cursor holds each file's mtime and size; a
    file it has not seen counts as new only if its raw partition was not materialised after the
    file's mtime.
    """
    now = datetime.now(timezone.utc)
    last_week = closed_week(now - SCHEDULE_GRACE)  # the latest week that is ours, not the schedule's
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    files = scan_landing(funnel.data_path)
    settled_before = time.time() - SETTLE_SECONDS
    ours = {p: f for p, f in files.items() if week_of(f.day) <= last_week and f.mtime <= settled_before}

    changed: list[LandingFile] = []
    ingested: dict = {}
    for path, landing_file in ours.items():
        if seen.get(path) == landing_file.stamp:
            continue
        week = week_of(landing_file.day)
        if path in seen or not _ingested_since(context.instance, landing_file.source, week, landing_file.mtime, ingested):
            changed.append(landing_file)
    removed = [path for path in seen if path not in files]
    for path in removed:
        source, day = path.split("/")[-2], date.fromisoformat(path.split("/")[-1][:10])
        changed.append(LandingFile(source, day, "removed"))

    cursor = json.dumps({**{p: s for p, s in seen.items() if p not in removed}, **{p: f.stamp for p, f in ours.items()}}, sort_keys=True)
    graph = context.repository_def.asset_graph
    converts = bool(funnel.vendor_inputs)
    # new or changed vendor files: a run converts them; the landing files it writes are late files of the next ticks
    vendor = pending_vendor_files(funnel.vendor_inputs, funnel.data_path) if converts else {}
    requests = []
    if vendor:
        vendor_key = hashlib.sha256(json.dumps(vendor, sort_keys=True).encode()).hexdigest()[:16]
        requests.append(WeeksRun.of(graph, "vendor", None, "new vendor files", converts).request(run_key=f"vendor-{vendor_key}"))
        context.log.info(f"{len(vendor)} new or changed vendor files: {', '.join(sorted(vendor))}")
    if not changed:
        if requests:
            return dg.SensorResult(run_requests=requests, cursor=cursor)
        return dg.SensorResult(skip_reason=f"no new or changed landing file of a week up to {last_week}", cursor=cursor)
    # the weeks as `funnel run` decides them (orchestration/incremental.py); the as-of time does not move for
    # a closed week's late file, and a sensor does not open the warehouse while a run may hold it
    landed = [week_of(f.day) for f in [*ours.values(), *changed]]
    data_weeks = WeekRange(min(landed), min(max(landed), last_week))
    file_changes = [FileChange(f.source, f"landing/{f.source}/{f.day}", week_of(f.day), "removed" if f.stamp == "removed" else "changed")
                    for f in changed]
    todo = plan_for(graph, funnel.rules, file_changes, data_weeks, as_of=None)
    # one key per set of file versions: a re-evaluation of the same change launches nothing twice
    run_key = hashlib.sha256(json.dumps(sorted((f.source, str(f.day), f.stamp) for f in changed)).encode()).hexdigest()[:16]
    unbuilt = tuple(s for s in SOURCES if context.instance.get_latest_materialization_event(dg.AssetKey(f"raw_{s}")) is None)
    runs = runs_for(todo, graph, "late landing files", converts, unbuilt=unbuilt)
    requests += [run.request(run_key=f"{run.slice}-{run_key}-{i}") for i, run in enumerate(runs)]
    context.log.info(f"{len(changed)} new or changed landing files: {todo.describe()}")
    return dg.SensorResult(run_requests=requests, cursor=cursor)


# --- alerts -----------------------------------------------------------------------------------

RUN_END_EVENTS = (DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE, DagsterEventType.RUN_CANCELED)
PAGE = 100


def run_end_records(instance: dg.DagsterInstance, after: int, event_types, limit: int = PAGE) -> list[EventLogRecord]:
    """Run-end events stored after `after`, in storage order, none skipped across pages."""
    batches = [
        instance.fetch_run_status_changes(
            RunStatusChangeRecordsFilter(event_type, after_storage_id=after), limit=limit, ascending=True
        ).records
        for event_type in event_types
    ]
    # when one type filled its page, events of the others past its last one wait for the next tick
    full = [batch[-1].storage_id for batch in batches if len(batch) == limit]
    ceiling = min(full) if full else None
    records = [r for batch in batches for r in batch if ceiling is None or r.storage_id <= ceiling]
    return sorted(records, key=lambda r: r.storage_id)


def _plain(value):
    value = getattr(value, "value", value)
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def check_alerts(instance: dg.DagsterInstance, run_id: str, sinks: AlertSinksResource) -> list[Alert]:
    """One alert per failed (ERROR) or warning (WARN) check evaluation of a run."""
    run = instance.get_run_by_id(run_id)
    run_partition = partition_label(run.tags) if run else None
    alerts = []
    for record, evaluation in failed_evaluations(instance, run_id):
        metadata = evaluation.metadata
        alerts.append(
            Alert(
                key=f"check:{run_id}:{record.storage_id}",
                kind="check_failed" if evaluation.severity == dg.AssetCheckSeverity.ERROR else "check_warning",
                run_id=run_id,
                url=sinks.run_url(run_id),
                asset=evaluation.asset_key.to_user_string(),
                partition=evaluation.partition or run_partition,
                check=evaluation.check_name,
                observed=_plain(metadata.get("observed_value")),
                threshold=_plain(metadata.get("threshold")),
                job=run.job_name if run else None,
                details=evaluation.description,
                occurred_at=record.event_log_entry.timestamp,
            )
        )
    return alerts


def run_failure_alert(instance: dg.DagsterInstance, record: EventLogRecord, sinks: AlertSinksResource) -> Alert:
    """The alert for one failed run: its job, partition, failed steps and first error."""
    run_id = record.event_log_entry.run_id
    run = instance.get_run_by_id(run_id)
    failures = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records
    steps = [r.event_log_entry.dagster_event.step_key for r in failures]
    errors = [r.event_log_entry.dagster_event.step_failure_data.error for r in failures]
    first_error = next((e for e in errors if e is not None), None)
    if first_error is not None:
        cause = first_error.cause or first_error
        message = cause.message.strip().splitlines()[0] if cause.message.strip() else first_error.message.strip()
    else:
        message = (record.event_log_entry.dagster_event.message or "").strip()
    assets = {k.to_user_string() for k in (run.asset_selection or [])} if run else set()
    return Alert(
        key=f"run_failed:{run_id}",
        kind="run_failed",
        run_id=run_id,
        url=sinks.run_url(run_id),
        asset=", ".join(s for s in steps if s in assets) or None,
        partition=partition_label(run.tags) if run else None,
        job=run.job_name if run else None,
        details=(f"Failed steps: {', '.join(steps)}. " if steps else "") + message,
        occurred_at=record.event_log_entry.timestamp,
    )


def _summary(what: str, records: list, alerts: list[Alert], report) -> str:
    summary = f"{len(records)} {what}, {len(alerts)} alerts, {len(report.delivered)} deliveries, {report.pending} pending"
    if report.errors:
        summary += f" ({report.errors[-1]})"
    return summary


@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def data_quality_alert_sensor(context: dg.SensorEvaluationContext, alert_sinks: AlertSinksResource) -> dg.SensorResult:
    """One alert per failed or warning asset-check evaluation, to the webhook and the alert log."""
    after = int(context.cursor) if context.cursor else -1
    records = run_end_records(context.instance, after, RUN_END_EVENTS)
    alerts = [a for r in records for a in check_alerts(context.instance, r.event_log_entry.run_id, alert_sinks)]
    report = alert_sinks.deliver("data_quality", alerts)
    # the alerts are delivered or in the outbox: the events behind them are handled
    cursor = str(records[-1].storage_id) if records else context.cursor
    return dg.SensorResult(skip_reason=_summary("finished runs", records, alerts, report), cursor=cursor)


@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def run_failure_alert_sensor(context: dg.SensorEvaluationContext, alert_sinks: AlertSinksResource) -> dg.SensorResult:
    """One alert per failed run, to the webhook and the alert log."""
    after = int(context.cursor) if context.cursor else -1
    records = run_end_records(context.instance, after, (DagsterEventType.RUN_FAILURE,))
    alerts = [run_failure_alert(context.instance, r, alert_sinks) for r in records]
    report = alert_sinks.deliver("run_failures", alerts)
    cursor = str(records[-1].storage_id) if records else context.cursor
    return dg.SensorResult(skip_reason=_summary("failed runs", records, alerts, report), cursor=cursor)


# --- leading-indicator anomalies ---------------------------------------------------------------

INDICATORS_ASSET = dg.AssetKey("mart_leading_indicators")


def anomaly_alerts(record: EventLogRecord, sinks: AlertSinksResource) -> list[Alert]:
    """One alert per anomaly a materialisation of mart_leading_indicators lists.

    The key names the cohort week, indicator and direction only, so the same anomaly found again by a
    later run (a re-materialised week, a backfill) is the same alert, which the ledger sends once."""
    materialization = record.asset_materialization
    entry = materialization.metadata.get("anomalies") if materialization else None
    alerts = []
    for anomaly in (entry.value if entry is not None else None) or []:
        change = anomaly.get("relative_change")
        change_text = f"{change:+.0%} against the baseline" if change is not None else "against a zero baseline"
        alerts.append(
            Alert(
                key=f"anomaly:{anomaly['cohort_week']}:{anomaly['indicator']}:{anomaly['direction']}",
                kind="indicator_anomaly",
                run_id=record.event_log_entry.run_id,
                url=sinks.run_url(record.event_log_entry.run_id),
                asset=INDICATORS_ASSET.to_user_string(),
                partition=anomaly["cohort_week"],
                check=f"{anomaly['indicator']} {anomaly['direction']}",
                observed=_plain(anomaly.get("value")),
                threshold=f"{anomaly.get('lower'):.4g} .. {anomaly.get('upper'):.4g} (baseline {anomaly.get('baseline'):.4g})",
                details=f"{anomaly['indicator']} of the cohort of {anomaly['cohort_week']}: {change_text}.",
                occurred_at=record.event_log_entry.timestamp,
            )
        )
    return alerts


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def indicator_anomaly_alert_sensor(context: dg.SensorEvaluationContext, alert_sinks: AlertSinksResource) -> dg.SensorResult:
    """One alert per new leading-indicator anomaly (mart_leading_indicators), once, to the webhook and the alert log."""
    after = int(context.cursor) if context.cursor else None
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=INDICATORS_ASSET, after_storage_id=after), limit=PAGE, ascending=True
    ).records
    alerts = [a for r in records for a in anomaly_alerts(r, alert_sinks)]
    report = alert_sinks.deliver("indicator_anomalies", alerts)
    cursor = str(records[-1].storage_id) if records else context.cursor
    return dg.SensorResult(skip_reason=_summary("indicator materialisations", records, alerts, report), cursor=cursor)
