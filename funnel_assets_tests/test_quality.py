"""Data-quality checks on simulated data: clean data passes every check; each injected fault alone fails (or
warns) exactly the check meant for it, with the injected amount in its metadata; a blocking failure stops
what is downstream and the run's result names the check; every partition reconciles, even with every fault.

One small generation per fault (module fixtures), each run through the runner over the raw and identity
layers plus every check; two runs go through the whole graph (clean data, and a blocking fault).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import dagster as dg
import pytest

from funnel_assets.defs.resources import FunnelResource
from funnel_assets.orchestration.evaluations import failed_blocking_checks
from funnel_assets.lib.quality.catalogue import all_checks, check_named
from funnel_assets.defs.automation.jobs import funnel_weekly_job
from funnel_assets.orchestration.launch import run_everything
from funnel_assets.lib.simulator import DEFAULT_PARAMETERS, generate
from funnel_assets.lib.simulator.faults import FAULTS

SMALL = {"developers": 250, "weeks": 3, "seed": 11, "requests": 8000,
         "params": replace(DEFAULT_PARAMETERS, follow_up_days=49)}

# fault -> the checks meant to catch it (the source whose count each reports)
CAUGHT_BY = {
    "future_events": {"raw_gateway_requests_has_no_events_in_the_future": "gateway_requests"},
    "past_events": {"raw_auth_users_has_no_events_before_their_day": "auth_users"},
    "client_clock_skew": {"raw_analytics_events_has_consistent_client_clocks": "analytics_events"},
    "call_before_key": {"raw_gateway_requests_has_no_calls_before_their_key_was_created": "gateway_requests"},
    "key_before_user": {"raw_api_keys_has_no_keys_created_before_their_user": "api_keys"},
    "duplicates": {
        "raw_gateway_requests_has_unique_request_ids": "gateway_requests",
        "raw_analytics_events_has_unique_message_ids": "analytics_events",
        "raw_email_events_has_unique_event_ids": "email_events",
    },
    "unknown_api_keys": {"raw_gateway_requests_has_known_api_keys": "gateway_requests"},
    "unresolved_users": {"raw_analytics_events_has_resolvable_users": "analytics_events"},
    "unknown_email_recipients": {"raw_email_events_has_known_recipients": "email_events"},
    "schema_drift": {"raw_gateway_requests_has_no_schema_drift": "gateway_requests"},
    "malformed_lines": {
        "raw_gateway_requests_has_only_readable_lines": "gateway_requests",
        "raw_analytics_events_has_only_readable_lines": "analytics_events",
    },
    "missing_day_file": {"raw_gateway_requests_has_a_landing_file_for_every_day": None},
    "empty_partition": {"raw_gateway_requests_is_not_empty": None},
    "volume_drop": {"raw_gateway_requests_has_steady_daily_volume": None},
    "stale_source": {"raw_gateway_requests_is_fresh": None},
}
FAULTS_CAUGHT = sorted(CAUGHT_BY)


class Evaluations:
    """The check evaluations of one run: the range result of each check, and each week's."""

    def __init__(self, result: dg.ExecuteInProcessResult):
        self.result = result
        self.ranges: dict[str, object] = {}
        self.weeks: dict[tuple[str, str], object] = {}
        for event in result.all_events:
            if event.event_type_value == "ASSET_CHECK_EVALUATION":
                evaluation = event.asset_check_evaluation_data
                if evaluation.partition is None:
                    self.ranges[evaluation.check_name] = evaluation
                else:
                    self.weeks[(evaluation.check_name, evaluation.partition)] = evaluation

    def failed(self) -> set[str]:
        return {name for name, e in self.ranges.items() if not e.passed}

    def metadata(self, check: str) -> dict:
        return {k: getattr(v, "value", v) for k, v in self.ranges[check].metadata.items()}

    def materialized(self) -> set[str]:
        return {e.asset_key.to_user_string() for e in self.result.get_asset_materialization_events()}


def _run(definitions: dg.Definitions, root: Path, whole_graph: bool) -> Evaluations:
    layers = None if whole_graph else {"ingest", "identity"}
    assets = [
        a for a in definitions.assets
        if isinstance(a, dg.AssetsDefinition) and (layers is None or set(a.group_names_by_key.values()) <= layers)
    ]
    # every check rides along with the assets, as `funnel run` does
    resource = FunnelResource(data_dir=str(root / "data"), warehouse_path=str(root / "warehouse.duckdb"))
    with_checks = dg.Definitions(assets=[*assets, *definitions.asset_checks], jobs=[funnel_weekly_job],
                                 resources={"funnel": resource})
    return Evaluations(run_everything(with_checks, resource, dg.DagsterInstance.ephemeral()))


@pytest.fixture(scope="module")
def simulate(tmp_path_factory, definitions):
    """simulate(fault or None, whole_graph) -> (truth, Evaluations), each generation and run done once."""

    @cache
    def simulated(fault: str | None, whole_graph: bool = False):
        root = tmp_path_factory.mktemp(fault or "clean")
        inject = list(FAULTS_CAUGHT) if fault == "all" else [fault] if fault else []
        truth = generate(root / "data", inject=inject, **SMALL)
        return truth, _run(definitions, root, whole_graph)

    return simulated


def test_clean_data_passes_every_check_and_builds_every_mart(simulate):
    _, runs = simulate(None, whole_graph=True)
    assert runs.result.success
    assert set(runs.ranges) == {c.name for c in all_checks()}
    assert runs.failed() == set()
    assert not [key for key, e in runs.weeks.items() if not e.passed]
    assert {"mart_stage_conversion", "mart_ttfac_by_cohort", "developer_stages"} <= runs.materialized()


@pytest.mark.parametrize("fault", FAULTS_CAUGHT)
def test_each_fault_fails_exactly_its_check_with_the_injected_count(simulate, fault):
    truth, runs = simulate(fault)
    injected = truth["injected"][fault]
    assert injected["count"] > 0
    assert runs.failed() == set(CAUGHT_BY[fault]), fault
    for check, source in CAUGHT_BY[fault].items():
        metadata = runs.metadata(check)
        expected = injected["by_source"][source] if source else injected["count"]
        assert metadata["failing_rows"] == expected, (check, metadata)
        assert metadata["observed_value"] is not None and metadata["threshold"] is not None
        assert metadata["failing_weeks"] and metadata["sample"], check
        severity = runs.ranges[check].severity.value
        assert severity == check_named(check).severity, check
        # every failing week has its own evaluation, with its own figures
        for week in metadata["failing_weeks"]:
            assert not runs.weeks[(check, week)].passed


def test_samples_carry_lineage_and_pseudonymous_ids_only(simulate):
    truth, runs = simulate("unknown_email_recipients")
    sample = runs.metadata("raw_email_events_has_known_recipients")["sample"]
    assert sample and all(set(row) == {"file", "line", "email_pid"} for row in sample)
    assert not any("@" in str(value) for row in sample for value in row.values())
    _, runs = simulate("unknown_api_keys")
    sample = runs.metadata("raw_gateway_requests_has_known_api_keys")["sample"]
    assert all(not row["key_pid"].startswith("key_") for row in sample)


def test_drift_names_the_contract_version_and_the_fields(simulate):
    truth, runs = simulate("schema_drift")
    metadata = runs.metadata("raw_gateway_requests_has_no_schema_drift")
    drift = truth["injected"]["schema_drift"]
    changes = {(c["version"], c["field"], c["change"]): c["lines"] for c in metadata["changes"]}
    assert changes[(1, "edge_pop", "added")] == drift["added"]
    assert changes[(1, "method", "missing")] == drift["removed"]
    assert changes[(1, "status", "missing")] == drift["renamed"]
    assert changes[(1, "status_code", "added")] == drift["renamed"]
    assert changes[(1, "status", "retyped")] == drift["retyped"]
    assert {"version": 1, "from_field": "status", "to_field": "status_code", "lines": drift["renamed"]} in \
        metadata["likely_renames"]
    assert metadata["drift"].startswith("against v1: ")


def test_lines_declaring_contract_v2_are_read_by_v2(simulate):
    truth, runs = simulate("contract_v2")
    assert runs.failed() == set()
    metadata = runs.metadata("raw_gateway_requests_has_no_schema_drift")
    assert metadata["contract_versions"]["v2"] == truth["injected"]["contract_v2"]["count"]


def test_a_blocking_failure_stops_downstream_and_the_result_names_the_check(simulate):
    truth, runs = simulate("future_events", whole_graph=True)
    assert not runs.result.success
    failed = failed_blocking_checks(runs.result)
    assert [(f.asset, f.check) for f in failed] == [
        ("raw_gateway_requests", "raw_gateway_requests_has_no_events_in_the_future")
    ]
    assert failed[0].failing_rows == truth["injected"]["future_events"]["count"]
    assert failed[0].partitions and "raw_gateway_requests_has_no_events_in_the_future" in str(failed[0])
    materialized = runs.materialized()
    assert "raw_gateway_requests" in materialized  # written, but nothing downstream of it
    assert not materialized & {"developer_events", "developer_stages", "mart_stage_conversion", "mart_ttfac_by_cohort"}


def test_a_warning_does_not_stop_the_marts(simulate):
    _, runs = simulate("unknown_api_keys", whole_graph=True)
    assert runs.result.success
    assert runs.failed() == {"raw_gateway_requests_has_known_api_keys"}
    assert runs.ranges["raw_gateway_requests_has_known_api_keys"].severity == dg.AssetCheckSeverity.WARN
    assert failed_blocking_checks(runs.result) == []
    assert {"developer_events", "mart_stage_conversion", "mart_ttfac_by_cohort"} <= runs.materialized()


def test_every_partition_reconciles_even_with_every_fault(simulate):
    truth, runs = simulate("all")
    raw = [c.name for c in all_checks() if c.kind == "reconciliation"]
    for check in raw:
        assert runs.ranges[check].passed, check
        per_week = [e for (name, _), e in runs.weeks.items() if name == check]
        assert per_week and all(e.passed for e in per_week), check
    gateway = runs.metadata("raw_gateway_requests_reconciles_input_lines")
    assert gateway["observed_value"] == gateway["threshold"] > 0
    # the faults that the raw assets see are all caught, whatever else is wrong at the same time
    for fault in ("future_events", "duplicates", "schema_drift", "malformed_lines", "missing_day_file",
                  "empty_partition", "volume_drop", "stale_source", "client_clock_skew"):
        assert set(CAUGHT_BY[fault]) <= runs.failed(), fault


def test_unknown_faults_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown fault"):
        generate(tmp_path, inject=["gremlins"], **SMALL)


def test_every_fault_the_generator_knows_is_caught_by_a_check():
    assert set(FAULTS) - set(CAUGHT_BY) == {"contract_v2"}
