"""Schedules, sensors, backfills and retention, through Dagster's own test contexts and real materialisations."""

import json
import os
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from funnel_assets.orchestration.launch import SLICE_TAG
from funnel_assets.defs.automation.resources import AlertSinksResource
from funnel_assets.defs.automation.schedules import funnel_weekly_job_schedule
from funnel_assets.defs.automation.sensors import (
    data_quality_alert_sensor,
    late_landing_files_sensor,
    run_failure_alert_sensor,
)
from funnel_assets.defs.partitions import WEEKLY
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.orchestration.launch import backfill
from funnel_assets.lib.contracts import SOURCES
from funnel_assets.lib.retention import retention_cutoffs
from funnel_assets_tests.conftest import Pipeline
from funnel_assets_tests.landing import write_landing
from funnel_assets_tests.test_alerts import WebhookReceiver
from funnel_assets_tests.test_identity_store import _records

RAW = {f"raw_{s}" for s in SOURCES}
IDENTITY = {"identity_users", "identity_key_owners", "identity_anonymous_links"}
W0 = date(2025, 3, 3)
WEEK = timedelta(days=7)


def _weeks(request: dg.RunRequest) -> tuple[str, str]:
    return request.tags[ASSET_PARTITION_RANGE_START_TAG], request.tags[ASSET_PARTITION_RANGE_END_TAG]


def _names(request: dg.RunRequest) -> set[str]:
    return {k.to_user_string() for k in request.asset_selection}


@pytest.fixture(scope="module")
def repository(definitions):
    return definitions.get_repository_def()


@pytest.fixture(scope="module")
def cohort_assets(repository):
    graph = repository.asset_graph
    return {k.to_user_string() for k in dg.AssetSelection.assets("developer_events").downstream(include_self=False).resolve(graph)}


# --- the weekly schedule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tick", "closed", "look_back", "first_open", "first_week"),
    [
        (datetime(2025, 6, 2, 6, 0, tzinfo=timezone.utc), "2025-05-26", "2025-04-28", "2024-12-23", "2020-01-06"),
        (datetime(2025, 6, 4, 15, 30, tzinfo=timezone.utc), "2025-05-26", "2025-04-28", "2024-12-23", "2020-01-06"),
        (datetime(2020, 2, 3, 6, 0, tzinfo=timezone.utc), "2020-01-27", "2020-01-06", "2020-01-06", None),  # clipped
    ],
)
def test_weekly_schedule_takes_the_closed_week_as_funnel_run_takes_a_new_week(
        tmp_path, repository, cohort_assets, tick, closed, look_back, first_open, first_week):
    """The closed week's files are new: its raw partitions, developer_events from the intent look-back (4 weeks)
    before it, the cohorts whose reach takes those weeks (18 weeks: 90-day horizon plus the 30-day window), then
    the as-of marts for every cohort since the first week (no landing file here: the first partition)."""
    with dg.instance_for_test() as instance:
        # the funnel resource holds the warehouse during runs (setup and teardown): its contexts are context managers
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick, repository_def=repository,
                                       resources={"funnel": FunnelResource(data_dir=str(tmp_path))}) as context:
            requests = funnel_weekly_job_schedule(context)
    raw, events, cohorts, *as_of = requests
    assert _names(raw) == RAW | IDENTITY and _weeks(raw) == (closed, closed)
    assert _names(events) == {"developer_events"} and _weeks(events) == (look_back, closed)
    assert raw.tags[SLICE_TAG] == events.tags[SLICE_TAG] == "sources"
    assert _names(cohorts) == cohort_assets and _weeks(cohorts) == (first_open, closed)
    assert cohorts.tags[SLICE_TAG] == "cohorts"
    if first_week is None:
        assert as_of == []  # every cohort is in the one before
    else:
        (as_of,) = as_of
        # the marts whose rows carry the as-of time, and those counting events of any later week
        assert _names(as_of) == {"mart_stage_conversion", "mart_org_stage_conversion", "mart_dropoffs",
                                 "mart_sdk_usage", "mart_docs_friction", "mart_conversion_drivers",
                                 "mart_developer_propensity"}
        assert _weeks(as_of) == (first_week, closed)
    job = repository.get_job("funnel_weekly_job")
    assert set().union(*(r.asset_selection for r in requests)) <= set(job.asset_layer.executable_asset_keys)
    assert len({r.run_key for r in requests}) == len(requests)


# --- late landing files ----------------------------------------------------------------------


def _age(path: Path, seconds: float = 600) -> None:
    """Make a file look settled (written a while ago)."""
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def _landing(data_dir: Path, source: str, day: date, rows: list[dict]) -> Path:
    folder = data_dir / "landing" / source
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{day.isoformat()}.jsonl"
    with open(path, "a") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    _age(path)
    return path


def _request(i: int, day: date) -> dict:
    return {"request_id": f"r{i}", "timestamp": f"{day}T10:00:00+00:00", "key_id": "k1", "method": "GET", "path": "/v1/x", "status": 200}


def _tick(sensor, instance, cursor, definitions, resources):
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=definitions, resources=resources) as context:
        return sensor(context)


def test_late_landing_files_refresh_their_event_week_and_the_cohorts_reading_it(tmp_path, definitions, cohort_assets):
    data_dir = tmp_path / "data"
    resources = {"funnel": FunnelResource(data_dir=str(data_dir), warehouse_path=str(tmp_path / "w.duckdb"))}
    w1, w2 = W0, W0 + WEEK
    gateway_w1 = _landing(data_dir, "gateway_requests", w1 + timedelta(days=2), [_request(1, w1)])
    with dg.instance_for_test() as instance:
        first = _tick(late_landing_files_sensor, instance, None, definitions, resources)
        (sources, cohorts) = first.run_requests
        # no raw table was ever built: every source's (an empty table for those without files), which
        # developer_events reads; once they are built, a late file re-reads only its own source (below)
        assert _names(sources) == RAW | {"developer_events"} | IDENTITY
        for raw in RAW:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=raw, partition="2025-02-24"))  # built, before these files
        assert _weeks(sources) == ("2025-03-03", "2025-03-03")
        # the cohorts whose reach takes the week, from the first week with data
        assert _weeks(cohorts) == ("2025-03-03", "2025-03-03")
        assert _names(cohorts) == cohort_assets
        cursor = first.cursor

        # nothing changed: nothing to do, and the cursor holds across a restart of the sensor
        again = _tick(late_landing_files_sensor, instance, cursor, definitions, resources)
        assert again.run_requests == [] and again.skip_reason is not None

        # a new file in week 2: that source, that week; the cohorts of both weeks read it
        _landing(data_dir, "email_events", w2 + timedelta(days=1), [
            {"event_id": "e1", "email": "a@example.com", "campaign": "c", "event": "open", "timestamp": f"{w2}T09:00:00+00:00"}])
        later = _tick(late_landing_files_sensor, instance, cursor, definitions, resources)
        assert [_weeks(r) for r in later.run_requests] == [("2025-03-10", "2025-03-10"), ("2025-03-03", "2025-03-10")]
        assert _names(later.run_requests[0]) == {"raw_email_events", "developer_events"} | IDENTITY
        cursor = later.cursor
        # a changed file (a line appended) in week 1: its source from week 1 on (a duplicate's first occurrence)
        with open(gateway_w1, "a") as handle:
            handle.write(json.dumps(_request(2, w1)) + "\n")
        _age(gateway_w1, 300)
        changed = _tick(late_landing_files_sensor, instance, cursor, definitions, resources)
        assert [_weeks(r) for r in changed.run_requests] == [("2025-03-03", "2025-03-10"), ("2025-03-03", "2025-03-10")]
        cursor = changed.cursor

        # a file still being written waits for the next tick
        fresh = _landing(data_dir, "gateway_requests", w2, [_request(3, w2)])
        os.utime(fresh, None)
        assert _tick(late_landing_files_sensor, instance, cursor, definitions, resources).run_requests == []

        # a new user (a source of the identity map): the raw weeks from it on, developer_events from the intent
        # look-back before it (clipped at the first week with data)
        _age(fresh)
        _landing(data_dir, "auth_users", w1, [
            {"user_id": "u9", "email": "u9@example.com", "account_type": "individual", "created_at": f"{w1}T08:00:00+00:00"}])
        identity = _tick(late_landing_files_sensor, instance, cursor, definitions, resources)
        sources, cohorts = identity.run_requests
        assert _names(sources) == {"raw_auth_users", "raw_gateway_requests", "developer_events"} | IDENTITY
        assert _weeks(sources) == ("2025-03-03", "2025-03-10")
        assert _weeks(cohorts) == ("2025-03-03", "2025-03-10")


def test_a_file_already_ingested_starts_no_run(tmp_path, definitions):
    """A fresh cursor (a new sensor on an old instance) trusts the materialisations newer than each file."""
    pipeline = Pipeline(definitions, tmp_path)
    path = _landing(pipeline.data_dir, "gateway_requests", W0, [_request(1, W0)])
    resources = {"funnel": pipeline.resource}
    with dg.instance_for_test() as instance:
        raw = next(a for a in definitions.assets if isinstance(a, dg.AssetsDefinition) and a.key == dg.AssetKey("raw_gateway_requests"))
        assert dg.materialize([raw], partition_key=W0.isoformat(), instance=instance, resources=resources).success
        result = _tick(late_landing_files_sensor, instance, None, definitions, resources)
        assert result.run_requests == []
        assert json.loads(result.cursor) == {"landing/gateway_requests/2025-03-03.jsonl": f"{path.stat().st_mtime_ns}:{path.stat().st_size}"}


# --- alerts ----------------------------------------------------------------------------------

PROBE_CHECKS = ("tiny_probe_has_enough_rows", "tiny_probe_is_fresh")


@dg.asset(
    partitions_def=WEEKLY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[dg.AssetCheckSpec(name, asset="tiny_probe", blocking=False) for name in PROBE_CHECKS],
)
def tiny_probe() -> dg.MaterializeResult:
    """A test-only asset whose checks fail: one at ERROR, one at WARN (a green run either way)."""
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(check_name="tiny_probe_has_enough_rows", passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                metadata={"observed_value": 2, "threshold": 10}),
            dg.AssetCheckResult(check_name="tiny_probe_is_fresh", passed=False, severity=dg.AssetCheckSeverity.WARN,
                                metadata={"observed_value": "3 days", "threshold": "1 day"}),
        ]
    )


@dg.asset
def tiny_broken() -> None:
    """A test-only asset that fails its run."""
    raise RuntimeError("landing folder unreadable")


@pytest.fixture(scope="module")
def checked_instance(tmp_path_factory, definitions):
    """An instance holding real check evaluations: raw assets over a tiny landing set (their checks pass) and tiny_probe."""
    root = tmp_path_factory.mktemp("checked")
    pipeline = Pipeline(definitions, root)
    write_landing(pipeline.data_dir, _records())
    raw = [a for a in definitions.assets if isinstance(a, dg.AssetsDefinition) and a.key.to_user_string() in RAW]
    with dg.instance_for_test() as instance:
        result = dg.materialize(raw + [tiny_probe], partition_key=W0.isoformat(), instance=instance,
                                resources={"funnel": pipeline.resource})
        assert result.success
        yield instance, result.run_id


def _sinks(tmp_path, receiver) -> AlertSinksResource:
    return AlertSinksResource(webhook_url=receiver.url, alert_log_path=str(tmp_path / "alerts" / "alerts.jsonl"),
                              ui_base_url="http://dagster.example:3000/", retries=2, backoff_seconds=0.01, timeout_seconds=2)


def _alert_tick(sensor, instance, cursor, sinks):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"alert_sinks": sinks})
    return sensor(context)


def test_one_alert_per_failed_check_evaluation_across_restarts_and_a_webhook_outage(tmp_path, checked_instance):
    instance, run_id = checked_instance
    receiver = WebhookReceiver()
    sinks = _sinks(tmp_path, receiver)
    log = tmp_path / "alerts" / "alerts.jsonl"
    try:
        # the webhook is down for the first ticks: the alert log has them, the outbox keeps them for the webhook
        first = _alert_tick(data_quality_alert_sensor, instance, None, sinks)
        assert "2 pending" in first.skip_reason.skip_message and "webhook unreachable" in first.skip_reason.skip_message
        second = _alert_tick(data_quality_alert_sensor, instance, first.cursor, sinks)  # a restarted sensor
        assert second.cursor == first.cursor and receiver.received == []
        assert len(log.read_text().splitlines()) == 2

        receiver.start()
        third = _alert_tick(data_quality_alert_sensor, instance, second.cursor, sinks)
        assert "0 pending" in third.skip_reason.skip_message
        assert len(receiver.received) == 2
        by_check = {m["blocks"][1]["fields"][2]["text"].split("\n")[1]: m for m in receiver.received}
        assert set(by_check) == set(PROBE_CHECKS)
        failed = by_check["tiny_probe_has_enough_rows"]
        assert failed["text"].startswith("Data-quality check failed: tiny_probe_has_enough_rows")
        for fragment in ("asset tiny_probe", "partition 2025-03-03", "observed 2", "threshold 10",
                         f"http://dagster.example:3000/runs/{run_id}"):
            assert fragment in failed["text"]
        warning = by_check["tiny_probe_is_fresh"]
        assert warning["text"].startswith("Data-quality check warning") and "observed 3 days" in warning["text"]
        button = next(b for b in warning["blocks"] if b["type"] == "actions")["elements"][0]
        assert button["url"] == f"http://dagster.example:3000/runs/{run_id}"
        logged = [json.loads(line) for line in log.read_text().splitlines()]
        assert {(x["asset"], x["check"], x["partition"], x["observed"], x["threshold"]) for x in logged} == {
            ("tiny_probe", "tiny_probe_has_enough_rows", "2025-03-03", 2, 10),
            ("tiny_probe", "tiny_probe_is_fresh", "2025-03-03", "3 days", "1 day"),
        }

        # later ticks, and a sensor started afresh from its saved cursor, repeat nothing
        fourth = _alert_tick(data_quality_alert_sensor, instance, third.cursor, sinks)
        assert len(receiver.received) == 2 and len(log.read_text().splitlines()) == 2

        # a new failing evaluation: exactly its alerts, once
        assert dg.materialize([tiny_probe], partition_key=(W0 + WEEK).isoformat(), instance=instance).success
        receiver.stop()
        _alert_tick(data_quality_alert_sensor, instance, fourth.cursor, sinks)
        receiver.start()
        for _ in range(3):
            fifth = _alert_tick(data_quality_alert_sensor, instance, fourth.cursor, sinks)  # the cursor of a crashed tick
        assert len(receiver.received) == 4 and len(log.read_text().splitlines()) == 4
        keys = [m["blocks"][-1]["elements"][0]["text"] for m in receiver.received]
        assert len(set(keys)) == 4
        assert {json.loads(line)["partition"] for line in log.read_text().splitlines()} == {"2025-03-03", "2025-03-10"}
        assert "0 pending" in fifth.skip_reason.skip_message
    finally:
        receiver.stop()


def test_one_alert_per_failed_run(tmp_path, checked_instance):
    instance, _ = checked_instance
    receiver = WebhookReceiver()
    receiver.start()
    sinks = _sinks(tmp_path, receiver)
    try:
        cursor = _alert_tick(run_failure_alert_sensor, instance, None, sinks).cursor
        assert receiver.received == []  # green runs only so far
        failed = dg.materialize([tiny_broken], instance=instance, raise_on_error=False)
        assert not failed.success
        result = _alert_tick(run_failure_alert_sensor, instance, cursor, sinks)
        _alert_tick(run_failure_alert_sensor, instance, result.cursor, sinks)
        assert len(receiver.received) == 1
        message = receiver.received[0]
        assert message["text"].startswith("Run failed")
        assert "landing folder unreadable" in message["text"] and "tiny_broken" in message["text"]
        assert f"http://dagster.example:3000/runs/{failed.run_id}" in message["text"]
    finally:
        receiver.stop()


# --- backfill and retention ------------------------------------------------------------------

STAGE_TABLES = ["developer_stages", "visitor_intents", "mart_stage_conversion", "mart_ttfac_by_cohort", "mart_sdk_usage",
                "mart_first_session_depth", "mart_production_rate"]


def _snapshot(pipeline: Pipeline) -> dict:
    return {t: pipeline.frame(f"select * from {t} order by all") for t in STAGE_TABLES}


def _same(before: dict, after: dict) -> None:
    for table, frame in before.items():
        assert len(frame) > 0 or table == "visitor_intents", table
        assert frame.equals(after[table]), table


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory, definitions):
    pipeline = Pipeline(definitions, tmp_path_factory.mktemp("backfill"))
    write_landing(pipeline.data_dir, _records())
    with dg.instance_for_test() as instance:
        results = backfill(instance, definitions, pipeline.resource, W0, W0 + WEEK)
        assert [r.success for r in results] == [True, True]
        yield pipeline, instance, results


def test_backfill_runs_the_event_weeks_then_the_signup_weeks(backfilled, cohort_assets):
    pipeline, instance, (sources, cohorts) = backfilled
    tags = [instance.get_run_by_id(r.run_id).tags for r in (sources, cohorts)]
    # the landing data spans 2025-03-03 .. 2025-04-07 (a call on day 40): all inside the cohorts' windows
    assert [(t[ASSET_PARTITION_RANGE_START_TAG], t[ASSET_PARTITION_RANGE_END_TAG]) for t in tags] == [
        ("2025-03-03", "2025-04-07"), ("2025-03-03", "2025-03-10")]
    assert {e.asset_key.to_user_string() for e in cohorts.get_asset_materialization_events()} == cohort_assets
    assert set(pipeline.frame("select distinct cast(cohort_week as varchar) as w from developer_stages")["w"]) == {"2025-03-03"}


def test_backfill_is_safe_to_repeat(backfilled, definitions):
    pipeline, instance, _ = backfilled
    before = _snapshot(pipeline)
    raw_before = pipeline.frame("select count(*) as n from raw_gateway_requests")["n"][0]
    assert [r.success for r in backfill(instance, definitions, pipeline.resource, W0, W0 + WEEK)] == [True, True]
    _same(before, _snapshot(pipeline))
    assert pipeline.frame("select count(*) as n from raw_gateway_requests")["n"][0] == raw_before


def test_backfill_rejects_weeks_that_are_not_mondays(backfilled, definitions):
    pipeline, instance, _ = backfilled
    with pytest.raises(ValueError, match="Monday"):
        backfill(instance, definitions, pipeline.resource, W0 + timedelta(days=1), W0 + WEEK)


def test_retention_windows_are_whole_weeks_and_guarded():
    cutoffs = retention_cutoffs(date(2026, 1, 1), raw_days=180, events_days=0, minimum_events_days=133)
    assert set(cutoffs) == {"raw_gateway_requests", "raw_analytics_events", "raw_email_events", "raw_support_tickets", "quarantine"}
    assert cutoffs["raw_gateway_requests"] == date(2025, 6, 30)  # the Monday of the week 180 days before
    assert retention_cutoffs(date(2026, 1, 1), 0, 0, 133) == {}
    with pytest.raises(ValueError, match="open cohorts"):
        retention_cutoffs(date(2026, 1, 1), 180, 60, 133)
    with pytest.raises(ValueError, match="raw_days"):
        retention_cutoffs(date(2026, 1, 1), 3, 0, 133)


def test_retention_removes_old_raw_rows_and_leaves_stages_and_marts_as_they_were(backfilled, definitions):
    """Runs last in this module: it deletes the backfilled raw rows."""
    pipeline, instance, _ = backfilled
    before = _snapshot(pipeline)
    kept_identity = pipeline.frame("select count(*) as n from raw_analytics_events where anonymous_id is not null and user_id is not null")["n"][0]
    job = definitions.get_job_def("raw_retention_job")
    result = job.execute_in_process(
        run_config={"ops": {"expire_old_rows": {"config": {"raw_days": 180, "as_of": "2026-01-01"}}}},
        resources={"funnel": pipeline.resource},
        instance=instance,
    )
    assert result.success
    deleted = result.output_for_node("expire_old_rows")
    assert deleted["raw_gateway_requests"] == 5 and deleted["raw_analytics_events"] == 1
    assert pipeline.frame("select count(*) as n from raw_gateway_requests")["n"][0] == 0
    assert pipeline.frame("select count(*) as n from raw_analytics_events")["n"][0] == kept_identity == 1
    # entity sources stay: the identity map is rebuilt from them
    assert pipeline.frame("select count(*) as n from raw_auth_users")["n"][0] == 3
    _same(before, _snapshot(pipeline))
    observed = instance.fetch_observations(dg.AssetKey("raw_gateway_requests"), limit=1).records
    assert observed[0].asset_observation.metadata["retention_deleted_rows"].value == 5

    # the cohorts refreshed after retention read developer_events, not the deleted raw rows: still the same
    graph = definitions.resolve_asset_graph()
    cohorts = dg.AssetSelection.assets("developer_events").downstream(include_self=False).resolve(graph)
    assets = [a for a in definitions.assets if isinstance(a, dg.AssetsDefinition)]
    refresh = dg.materialize(assets, selection=sorted(cohorts), instance=instance, resources={"funnel": pipeline.resource},
                             tags={ASSET_PARTITION_RANGE_START_TAG: "2025-03-03", ASSET_PARTITION_RANGE_END_TAG: "2025-03-10"})
    assert refresh.success
    _same(before, _snapshot(pipeline))
