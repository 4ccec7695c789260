"""A run over several weeks alerts once per failing week, not again for the range's summary."""

import json

import dagster as dg

from funnel_assets.defs.automation.resources import AlertSinksResource
from funnel_assets.defs.automation.sensors import check_alerts
from funnel_assets.orchestration.launch import run_everything
from funnel_assets_tests.conftest import Pipeline
from funnel_assets_tests.landing import at, write_landing
from funnel_assets_tests.test_known_answers import call, key, user


def test_one_alert_per_failing_week(tmp_path, definitions):
    pipeline = Pipeline(definitions, tmp_path)
    write_landing(
        pipeline.data_dir,
        {
            "auth_users": [user("u1", 0), user("u2", 7)],
            "api_keys": [key("k1", "u1", 0, minutes=1), key("k2", "u2", 7, minutes=1)],
            "gateway_requests": [call("k1", at(minutes=5)), call("k2", at(days=7, minutes=5))],
        },
    )
    # a request stamped two days after the day of the file it landed in: an event in the future
    future = call("k1", at(days=2))
    with open(pipeline.data_dir / "landing" / "gateway_requests" / "2025-03-03.jsonl", "a") as handle:
        handle.write(json.dumps(future) + "\n")

    instance = dg.DagsterInstance.ephemeral()
    result = run_everything(definitions, pipeline.resource, instance)
    check = "raw_gateway_requests_has_no_events_in_the_future"
    evaluations = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.check_name == check
    ]
    failed = {(e.partition, e.passed) for e in evaluations if not e.passed}
    assert failed == {("2025-03-03", False), (None, False)}  # the week, and the range's summary

    alerts = [a for a in check_alerts(instance, result.run_id, AlertSinksResource()) if a.check == check]
    assert [(a.partition, a.observed) for a in alerts] == [("2025-03-03", 1)]
