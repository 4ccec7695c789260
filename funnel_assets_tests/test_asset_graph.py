"""Pins the asset graph: a change to keys, groups, dependencies or partitions shows here as a diff."""

import dagster as dg
import pytest

from funnel_assets.definitions import definitions_for
from funnel_assets.lib.engines import ENGINE_KIND

from funnel_assets.defs.partitions import COHORT_HISTORY, COHORT_WINDOW, WEEKLY

RAW = [
    "raw_analytics_events",
    "raw_api_keys",
    "raw_auth_users",
    "raw_email_events",
    "raw_gateway_requests",
    "raw_support_tickets",
]
IDENTITY = {"identity_anonymous_links": ["raw_analytics_events"], "identity_key_owners": ["raw_api_keys"], "identity_users": ["raw_auth_users"]}
MARTS = [
    "mart_first_day_errors",
    "mart_first_session_depth",
    "mart_production_rate",
    "mart_sdk_usage",
    "mart_segment_conversion",
    "mart_stage_conversion",
    "mart_ttfac_by_cohort",
]

EXPECTED = {
    "vendor_landing_files": ("ingest", [], None),
    **{name: ("ingest", ["vendor_landing_files"], "weekly") for name in RAW},
    **{name: ("identity", deps, None) for name, deps in IDENTITY.items()},
    "developer_events": ("stages", sorted(RAW + list(IDENTITY)), "weekly"),
    "developer_stages": ("stages", ["developer_events", "identity_users"], "weekly"),
    "visitor_intents": ("stages", ["developer_events", "identity_users"], "weekly"),
    **{name: ("marts", ["developer_events", "developer_stages"], "weekly") for name in MARTS},
}
EXPECTED["mart_stage_conversion"] = ("marts", ["developer_events", "developer_stages", "visitor_intents"], "weekly")
EXPECTED["mart_bottleneck"] = ("marts", ["mart_stage_conversion"], "weekly")
# read mart_stage_conversion's members (developers and visitors), not its table
EXPECTED["mart_dropoffs"] = ("marts", ["developer_events", "developer_stages", "visitor_intents"], "weekly")
EXPECTED["mart_time_to_convert"] = ("marts", ["developer_events", "developer_stages", "visitor_intents"], "weekly")
# the organisation funnel: developers' events attributed by key, then the developer marts' rules over organisations
EXPECTED["org_stages"] = ("stages", ["developer_events", "identity_key_owners", "identity_users"], "weekly")
for org_mart in ["mart_org_developers_by_stage", "mart_org_production_rate", "mart_org_stage_conversion", "mart_org_ttfac"]:
    EXPECTED[org_mart] = ("marts", ["developer_events", "org_stages"], "weekly")
# why they drop off: per cohort, over the developers and their events; indicators and drivers over trailing cohorts
DIAGNOSTICS = ["mart_paths", "mart_leading_indicators", "mart_conversion_drivers", "mart_developer_propensity",
               "mart_docs_friction"]
for diagnostic in DIAGNOSTICS:
    EXPECTED[diagnostic] = ("marts", ["developer_events", "developer_stages"], "weekly")
# the HTML report reads the marts it draws, over every week at once
EXPECTED["funnel_report"] = ("reports", sorted([
    "mart_bottleneck", "mart_dropoffs", "mart_first_day_errors", "mart_production_rate", "mart_sdk_usage",
    "mart_stage_conversion", "mart_time_to_convert", "mart_ttfac_by_cohort", "mart_org_developers_by_stage",
    "mart_leading_indicators", "mart_conversion_drivers",
]), None)


def test_asset_graph_is_pinned(definitions):
    _assert_pinned(definitions)


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_the_graph_is_the_same_on_either_engine_which_is_the_assets_kind(engine):
    """One asset graph for both engines; the UI shows the configured engine as the kind of what it computes."""
    definitions = definitions_for(engine)
    _assert_pinned(definitions)
    graph = definitions.resolve_asset_graph()
    kinds = {key.to_user_string(): graph.get(key).kinds for key in graph.get_all_asset_keys()}
    computed = {name for name, k in kinds.items() if engine in k}
    assert computed == set(EXPECTED) - {"vendor_landing_files", "funnel_report"}
    other = next(e for e in ("duckdb", "spark") if e != engine)
    assert not any(other in k or ENGINE_KIND in k for k in kinds.values())


def _assert_pinned(definitions):
    graph = definitions.resolve_asset_graph()
    actual = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        partitions = "weekly" if node.partitions_def == WEEKLY else node.partitions_def
        actual[key.to_user_string()] = (
            node.group_name,
            sorted(p.to_user_string() for p in node.parent_keys),
            partitions,
        )
    assert actual == EXPECTED


def test_weeks_start_on_monday_and_cohorts_follow_ninety_days():
    keys = WEEKLY.get_partition_keys_in_range(dg.PartitionKeyRange("2025-01-06", "2025-01-13"))
    assert keys == ["2025-01-06", "2025-01-13"]  # Mondays
    assert (COHORT_WINDOW.start_offset, COHORT_WINDOW.end_offset) == (-4, 13)


def test_cohort_assets_read_the_event_weeks_of_their_window(definitions):
    graph = definitions.resolve_asset_graph()
    for name in ["developer_stages", "visitor_intents", "mart_dropoffs", "mart_time_to_convert"] + MARTS + DIAGNOSTICS:
        mapping = graph.get_partition_mapping(dg.AssetKey(name), dg.AssetKey("developer_events"))
        assert mapping == COHORT_WINDOW, name


def test_baselines_and_pooled_drivers_read_the_trailing_cohorts(definitions):
    graph = definitions.resolve_asset_graph()
    assert (COHORT_HISTORY.start_offset, COHORT_HISTORY.end_offset) == (-26, 0)
    for name in ["mart_leading_indicators", "mart_conversion_drivers", "mart_developer_propensity"]:
        assert graph.get_partition_mapping(dg.AssetKey(name), dg.AssetKey("developer_stages")) == COHORT_HISTORY, name


def test_weekly_assets_backfill_in_a_single_run(definitions):
    graph = definitions.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.partitions_def is not None:
            assert node.backfill_policy == dg.BackfillPolicy.single_run(), key


def test_every_asset_states_its_grain(definitions):
    graph = definitions.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        description = graph.get(key).description or ""
        assert description.lower().startswith("one row per"), (key, description)


def _upstream_columns(graph, asset: str, column: str) -> set[tuple[str, str]]:
    """Every (asset, column) a column traces back to through the declared column lineage."""
    found, todo = set(), [(asset, column)]
    while todo:
        current = todo.pop()
        node = graph.get(dg.AssetKey(current[0]))
        lineage = node.metadata.get("dagster/column_lineage")
        if lineage is None:
            continue
        for dep in lineage.deps_by_column.get(current[1], []):
            ref = (dep.asset_key.to_user_string(), dep.column_name)
            if ref not in found:
                found.add(ref)
                todo.append(ref)
    return found


def test_metric_columns_trace_to_source_fields(definitions):
    graph = definitions.resolve_asset_graph()
    ttfac = _upstream_columns(graph, "mart_ttfac_by_cohort", "p50_s")
    assert {("raw_gateway_requests", "status"), ("raw_gateway_requests", "timestamp"), ("identity_users", "created_at")} <= ttfac
    sdk = _upstream_columns(graph, "mart_sdk_usage", "client_name")
    assert ("raw_gateway_requests", "user_agent") in sdk
    for ref in ttfac | sdk:
        schema = graph.get(dg.AssetKey(ref[0])).metadata.get("dagster/column_schema")
        if ref[0].startswith("raw_"):
            assert ref[1] in {c.name for c in schema.columns}, ref


# The checks past the raw layer, by asset: every one blocks, and carries its asset's partitions.
DOWNSTREAM_CHECKS = {
    "developer_stages": [
        "developer_stages_has_no_first_call_before_the_first_key",
        "developer_stages_has_one_row_per_developer",
        "developer_stages_has_stage_times_within_the_data_span",
    ],
    "identity_key_owners": ["identity_key_owners_has_one_owner_per_key_at_any_time"],
    "mart_bottleneck": [
        "mart_bottleneck_has_no_final_rate_while_incomplete",
        "mart_bottleneck_has_one_row_per_cohort_week",
        "mart_bottleneck_has_rates_between_0_and_1",
    ],
    "mart_first_day_errors": [
        "mart_first_day_errors_has_no_more_developers_than_requests",
        "mart_first_day_errors_has_one_row_per_cohort_week_endpoint_and_status",
        "mart_first_day_errors_has_rates_between_0_and_1",
    ],
    "mart_first_session_depth": [
        "mart_first_session_depth_has_one_row_per_cohort_week_and_depth",
        "mart_first_session_depth_has_rates_between_0_and_1",
    ],
    "mart_production_rate": [
        "mart_production_rate_has_no_more_in_production_than_developers",
        "mart_production_rate_has_one_row_per_cohort_week",
        "mart_production_rate_has_rates_between_0_and_1",
    ],
    "mart_sdk_usage": [
        "mart_sdk_usage_has_one_row_per_cohort_week_and_client",
        "mart_sdk_usage_has_rates_between_0_and_1",
    ],
    "mart_segment_conversion": [
        "mart_segment_conversion_has_one_row_per_cohort_week_and_segment",
        "mart_segment_conversion_has_rates_between_0_and_1",
    ],
    "mart_stage_conversion": [
        "mart_stage_conversion_has_no_final_rate_while_incomplete",
        "mart_stage_conversion_has_no_more_converted_than_entered",
        "mart_stage_conversion_has_one_row_per_cohort_week_and_transition",
        "mart_stage_conversion_has_rates_between_0_and_1",
    ],
    "mart_ttfac_by_cohort": [
        "mart_ttfac_by_cohort_has_no_more_callers_than_developers",
        "mart_ttfac_by_cohort_has_one_row_per_cohort_week",
        "mart_ttfac_by_cohort_has_ordered_percentiles",
    ],
}


def test_check_nodes_are_pinned(definitions):
    graph = definitions.resolve_asset_graph()
    by_asset: dict[str, list[str]] = {}
    for key in graph.asset_check_keys:
        by_asset.setdefault(key.asset_key.to_user_string(), []).append(key.name)
    # the raw layer's checks (on raw_* assets) are pinned by test_quality against the catalogue
    assert {a: sorted(names) for a, names in by_asset.items() if not a.startswith("raw_")} == DOWNSTREAM_CHECKS
    for asset, names in DOWNSTREAM_CHECKS.items():
        for name in names:
            spec = graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey(asset), name))
            assert spec.blocking, name
            assert spec.partitions_def == graph.get(dg.AssetKey(asset)).partitions_def, name
