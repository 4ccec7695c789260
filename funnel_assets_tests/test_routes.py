"""Route templates: ids in paths become parameters, from the API's description or from the paths themselves."""

from pathlib import Path

import pytest

from funnel_assets.defs.resources import FunnelResource
from funnel_assets_tests.conftest import Pipeline
from funnel_assets_tests.landing import at, write_landing
from funnel_assets_tests.test_known_answers import call, key, user


def _records(requests: list[tuple[str, str]]) -> dict[str, list[dict]]:
    calls = [call("k_ada", at(minutes=10 + i), path=path, method=method) for i, (method, path) in enumerate(requests)]
    return {
        "auth_users": [user("ada", 0)],
        "api_keys": [key("k_ada", "ada", 0, minutes=5)],
        "gateway_requests": calls,
    }


def _built(definitions, root: Path, requests: list[tuple[str, str]], **settings) -> Pipeline:
    pipeline = Pipeline(definitions, root)
    pipeline.resource = FunnelResource.from_settings(
        {"data_dir": str(pipeline.data_dir), "warehouse_path": str(root / "warehouse.duckdb"), **settings}
    )
    write_landing(pipeline.data_dir, _records(requests))
    pipeline.run()
    return pipeline


def _endpoints(pipeline: Pipeline) -> list[str]:
    frame = pipeline.frame("select distinct endpoint from developer_events where event_type = 'api_request' order by 1")
    return list(frame.endpoint)


def test_ids_without_a_digit_and_email_addresses_are_parameters(tmp_path, definitions):
    pipeline = _built(definitions, tmp_path, [
        ("GET", "/v1/customers/cus_3b7fbca8"),
        ("GET", "/v1/customers/cus_efdbcfad"),  # no digit: still an id
        ("POST", "/v1/customers/jane.doe@example.com"),
        ("POST", "/v1/customers/jane.doe%40example.com/payment_methods"),
        ("GET", "/v1/payment_methods/pm_NffrFeUfNVHib"),
        ("GET", "/v1/orders/3fa85f64-5717-4562-b3fc-2c963f66afa6"),
        ("GET", "/v1/orders/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
    ])
    assert _endpoints(pipeline) == [
        "GET /v1/customers/{id}",
        "GET /v1/orders/{id}",
        "GET /v1/payment_methods/{id}",
        "POST /v1/customers/{id}",
        "POST /v1/customers/{id}/payment_methods",
    ]


def test_two_calls_to_one_endpoint_give_depth_two_not_three(tmp_path, definitions):
    pipeline = _built(definitions, tmp_path, [
        ("GET", "/v1/customers/cus_3b7fbca8"),
        ("GET", "/v1/customers/cus_efdbcfad"),
        ("POST", "/v1/charges"),
    ])
    depth = pipeline.frame("select first_session_depth from developer_stages").first_session_depth
    assert list(depth) == [2]


def test_a_position_with_many_distinct_values_is_a_parameter(tmp_path, definitions):
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
    requests = [("GET", f"/v1/items/{a}{b}") for a in words for b in words[:6]]  # 60 lowercase ids, no digit
    pipeline = _built(definitions, tmp_path, requests + [("GET", "/v1/items")])
    assert _endpoints(pipeline) == ["GET /v1/items", "GET /v1/items/{id}"]


def test_an_openapi_document_gives_the_templates(tmp_path, definitions):
    document = tmp_path / "openapi.yaml"
    document.write_text(
        "openapi: 3.0.0\n"
        "paths:\n"
        "  /v1/customers/{customer}: {get: {}}\n"
        "  /v1/customers/search: {get: {}}\n"
        "  /v1/items/{item}/variants/{variant}: {get: {}}\n"
    )
    pipeline = _built(definitions, tmp_path, [
        ("GET", "/v1/customers/widgetco"),  # literal-looking, but the document says it is a parameter
        ("GET", "/v1/customers/search"),  # the more literal template wins
        ("GET", "/v1/items/blue/variants/large"),
        ("GET", "/v1/undocumented/cus_efdbcfad"),  # not in the document: inferred
    ], openapi_path=str(document))
    assert _endpoints(pipeline) == [
        "GET /v1/customers/search",
        "GET /v1/customers/{customer}",
        "GET /v1/items/{item}/variants/{variant}",
        "GET /v1/undocumented/{id}",
    ]


def test_an_unreadable_openapi_document_is_named(tmp_path):
    from funnel_assets.lib.routes import openapi_paths

    document = tmp_path / "api.yaml"
    document.write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match=r"api\.yaml: an OpenAPI document needs a non-empty `paths` object"):
        openapi_paths(document)
