"""Gateway adapters (Kong, AWS API Gateway, NGINX/Apache) on the vendors' samples and on hand-written lines."""

from __future__ import annotations

import json

import pytest

from funnel_assets_tests.adapters.helpers import SAMPLES, convert, needs_samples, rejection, write
from funnel_assets.lib.adapters import Converted, Rejected
from funnel_assets.lib.adapters.aws_apigw import CLF_PRESET

# --- Kong ---------------------------------------------------------------------

KONG_3 = SAMPLES / "kong" / "file_log_3.8_resolved.json"


@needs_samples


def test_kong_2_legacy_sample_becomes_one_request_keyed_by_the_credential():
    [item] = convert("kong", SAMPLES / "kong" / "http_log_legacy_2.0.x.json")
    assert item == Converted(
        "gateway_requests",
        {
            # 2.0 logs no request id: a content hash stands in, stable across re-reads
            "request_id": "kong-sha1-790c3ee323442829ff859d5d1dc97cea",
            "timestamp": "2015-06-02T01:50:22.425000+00:00",
            "key_id": "eaa330c0-4cff-47f5-c79e-b2e4f355207e",
            "method": "GET",
            "path": "/get",
            "status": 200,
            "user_agent": "curl/7.37.1",
            "latency_ms": 1921,
        },
    )


@needs_samples


def test_kong_key_map_translates_a_consumer_username():
    [item] = convert("kong", SAMPLES / "kong" / "http_log_legacy_2.0.x.json", key_map={"demo": "key_demo_live"})
    assert item.record["key_id"] == "key_demo_live"


@needs_samples


def test_kong_3_sample_without_consumer_is_rejected_for_lack_of_a_key():
    [item] = convert("kong", KONG_3)
    assert rejection(item) == (
        1,
        "consumer",
        "no consumer or authenticated_entity: no authentication plugin matched the request, so it has no key_id",
    )
    assert item.file == str(KONG_3)
    assert '"x-kong-request-id": "2f6946328ffc4946b8c9120704a4a155"' in item.raw


@needs_samples


def test_kong_3_with_a_consumer_uses_the_request_id_and_falls_back_to_the_consumer(tmp_path):
    entry = json.loads(KONG_3.read_text())
    entry["consumer"] = {"id": "c0ffee00-0000-4000-8000-000000000001", "username": "acme"}
    [item] = convert("kong", write(tmp_path, "kong.log", json.dumps(entry) + "\n"))
    assert item.record == {
        "request_id": "2f6946328ffc4946b8c9120704a4a155",
        "timestamp": "2024-09-19T22:10:39.538000+00:00",
        "key_id": "c0ffee00-0000-4000-8000-000000000001",
        "method": "GET",
        "path": "/example-route",
        "status": 200,
        "user_agent": "HTTPie/3.2.3",
        "latency_ms": 173,
    }


def test_kong_file_log_lines_with_bad_json_missing_and_mistyped_fields(tmp_path):
    good = {
        "request": {"method": "POST", "uri": "/v1/customers/cus_1?expand=x", "headers": {"User-Agent": ["acme-python/1.2.0"]}},
        "response": {"status": 201, "headers": {"X-Kong-Request-Id": "r-1"}},
        "authenticated_entity": {"id": "cred-1"},
        "started_at": 1726783839538,
        "latencies": {"request": 12},
    }
    lines = [
        json.dumps(good),
        '{"request": {"method": "GET"',
        json.dumps({**good, "started_at": None}),
        json.dumps({**good, "response": {"status": "created"}}),
    ]
    items = convert("kong", write(tmp_path, "kong.log", "\n".join(lines) + "\n"))
    assert items[0].record == {
        "request_id": "r-1",
        "timestamp": "2024-09-19T22:10:39.538000+00:00",
        "key_id": "cred-1",
        "method": "POST",
        "path": "/v1/customers/cus_1",
        "status": 201,
        "user_agent": "acme-python/1.2.0",
        "latency_ms": 12,
    }
    assert [rejection(item) for item in items[1:]] == [
        (2, None, "invalid JSON: the line ends inside a value"),
        (3, "started_at", "started_at is missing"),
        (4, "response.status", "response.status should be an integer, got str 'created'"),
    ]


# --- AWS API Gateway ------------------------------------------------------------


@needs_samples


def test_aws_firehose_objects_concatenated_without_newline_are_three_requests():
    items = convert("aws_apigw", SAMPLES / "aws_apigw" / "rest_access_log_with_apikey_firehose.log")
    shared = {"key_id": "**********************************iFNdgS", "method": "GET", "path": "/", "status": 200}
    assert [item.record for item in items] == [
        {"request_id": "80aa583d-6caa-42e8-ab43-98e5c4341215", "timestamp": "2021-07-15T05:35:16+00:00", **shared},
        {"request_id": "841c5bb5-3336-4fe7-8361-412b396f9817", "timestamp": "2021-07-15T05:35:18+00:00", **shared},
        {"request_id": "bd089625-8c6a-4471-a7bc-cfa70e65eb14", "timestamp": "2021-07-15T05:35:19+00:00", **shared},
    ]


@needs_samples


def test_aws_masked_api_key_can_be_mapped_to_the_key_id():
    items = convert(
        "aws_apigw",
        SAMPLES / "aws_apigw" / "rest_access_log_with_apikey_firehose.log",
        key_map={"**********************************iFNdgS": "k7h2p9"},
    )
    assert {item.record["key_id"] for item in items} == {"k7h2p9"}


@needs_samples


def test_aws_console_json_preset_without_a_key_is_rejected_line_by_line():
    items = convert("aws_apigw", SAMPLES / "aws_apigw" / "rest_access_log_cloudwatch_hello.log")
    reason = "no API key in the entry: add $context.identity.apiKeyId to the access log format"
    assert [rejection(item) for item in items] == [(line, "$context.identity.apiKeyId", reason) for line in (1, 2, 3)]


def aws_docs_preset(name: str) -> str:
    """One preset of the console's format examples, its continuation lines joined."""
    text = (SAMPLES / "aws_apigw" / "rest_access_log_formats_awsdocs.txt").read_text()
    block = text.split(f"\n{name}:\n", 1)[1].split("\n\n", 1)[0]
    return " ".join(line.strip().rstrip("\\").strip() for line in block.splitlines())


@needs_samples


def test_aws_clf_preset_of_the_docs_is_the_default_text_format(tmp_path):
    assert aws_docs_preset("CLF") == CLF_PRESET
    line = '52.68.10.20 - - [13/Feb/2021:07:54:52 +0000] "GET /hello HTTP/1.1" 200 26 f56dfc01-5f1b-4509-b2f6-124bb3fa0feb kid-1\n'
    [item] = convert("aws_apigw", write(tmp_path, "clf.log", line), log_format=aws_docs_preset("CLF"))
    assert item.record["key_id"] == "kid-1" and item.record["request_id"] == "f56dfc01-5f1b-4509-b2f6-124bb3fa0feb"


@needs_samples


def test_aws_csv_and_json_presets_of_the_docs_parse_their_own_output(tmp_path):
    csv_format = aws_docs_preset("CSV").replace(" ", "") + ",$context.identity.apiKeyId"
    line = "52.68.10.20,-,-,13/Feb/2021:07:54:52 +0000,GET,/hello,HTTP/1.1,200,26,f56dfc01,kid-2\n"
    [item] = convert("aws_apigw", write(tmp_path, "csv.log", line), log_format=csv_format)
    assert item.record == {
        "request_id": "f56dfc01",
        "timestamp": "2021-02-13T07:54:52+00:00",
        "key_id": "kid-2",
        "method": "GET",
        "path": "/hello",
        "status": 200,
    }
    json_format = aws_docs_preset("JSON")
    assert json.loads(json_format)["requestId"] == "$context.requestId"
    [sample_line] = (SAMPLES / "aws_apigw" / "rest_access_log_cloudwatch_hello.log").read_text().splitlines()[:1]
    [rejected] = convert("aws_apigw", write(tmp_path, "cw.log", sample_line), log_format=json_format)
    assert rejection(rejected) == (1, "$context.identity.apiKeyId", "no API key in the entry: add $context.identity.apiKeyId to the access log format")


def test_aws_json_with_api_key_id_user_agent_and_raw_path(tmp_path):
    entry = {
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "requestTimeEpoch": 1700000000123,
        "requestTime": "14/Nov/2023:22:13:20 +0000",
        "httpMethod": "GET",
        "resourcePath": "/v1/customers/{id}",
        "path": "/prod/v1/customers/cus_42",
        "status": "404",
        "apiKeyId": "a1b2c3d4e5",
        "userAgent": "curl/8.4.0",
        "responseLatency": "37",
        "caller": "-",
    }
    [item] = convert("aws_apigw", write(tmp_path, "cw.log", json.dumps(entry) + "\n"))
    assert item.record == {
        "request_id": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "timestamp": "2023-11-14T22:13:20.123000+00:00",
        "key_id": "a1b2c3d4e5",
        "method": "GET",
        "path": "/prod/v1/customers/cus_42",
        "status": 404,
        "user_agent": "curl/8.4.0",
        "latency_ms": 37,
    }


def test_aws_json_keys_are_read_from_the_configured_log_format(tmp_path):
    log_format = (
        '{"id":"$context.requestId","t":"$context.requestTime","m":"$context.httpMethod",'
        '"p":"$context.path","s":"$context.status","k":"$context.identity.apiKeyId"}'
    )
    entry = {"id": "r-9", "t": "15/Jul/2021:05:35:16 +0200", "m": "DELETE", "p": "/v1/keys/k_1", "s": "204", "k": "kid-9"}
    [item] = convert("aws_apigw", write(tmp_path, "cw.log", json.dumps(entry)), log_format=log_format)
    assert item.record == {
        "request_id": "r-9",
        "timestamp": "2021-07-15T03:35:16+00:00",
        "key_id": "kid-9",
        "method": "DELETE",
        "path": "/v1/keys/k_1",
        "status": 204,
    }


def test_aws_clf_lines_take_the_key_id_appended_after_the_request_id(tmp_path):
    lines = [
        '52.68.10.20 - - [13/Feb/2021:07:54:52 +0000] "GET /hello HTTP/1.1" 200 26 f56dfc01-5f1b-4509-b2f6-124bb3fa0feb kid-1',
        '52.68.10.20 - - [13/Feb/2021:07:54:53 +0000] "GET /hello HTTP/1.1" 200 26 8d2f5138-019f-449c-bde7-432ff3cb49a1',
        "not a log line",
    ]
    items = convert("aws_apigw", write(tmp_path, "clf.log", "\n".join(lines) + "\n"))
    assert items[0].record == {
        "request_id": "f56dfc01-5f1b-4509-b2f6-124bb3fa0feb",
        "timestamp": "2021-02-13T07:54:52+00:00",
        "key_id": "kid-1",
        "method": "GET",
        "path": "/hello",
        "status": 200,
    }
    assert rejection(items[1])[1] == "$context.identity.apiKeyId"
    assert rejection(items[2]) == (3, None, "line does not match the access log format")


def test_aws_malformed_entries_name_their_line_and_field(tmp_path):
    base = {"requestId": "r", "requestTime": "13/Feb/2021:07:54:52 +0000", "httpMethod": "GET", "resourcePath": "/", "status": "200", "apiKeyId": "k"}
    lines = [
        '{"requestId": "r1", "status": }',
        json.dumps({key: value for key, value in base.items() if key != "httpMethod"}),
        json.dumps({**base, "status": "OK"}),
        json.dumps({**base, "requestTime": "yesterday"}),
    ]
    items = convert("aws_apigw", write(tmp_path, "cw.log", "\n".join(lines)))
    assert [rejection(item) for item in items] == [
        (1, None, "invalid JSON: Expecting value"),
        (2, "$context.httpMethod", "$context.httpMethod is missing"),
        (3, "$context.status", "$context.status should be an integer, got str 'OK'"),
        (4, "$context.requestTime", "$context.requestTime 'yesterday' is not a timestamp"),
    ]


# --- NGINX / Apache combined ------------------------------------------------------


APACHE = SAMPLES / "datasets" / "elastic_examples_apache_logs.log"


@needs_samples


def test_apache_dataset_without_a_key_option_rejects_every_line_for_its_key():
    items = convert("combined_log", APACHE)
    reasons = {(item.field, item.reason) for item in items}
    assert len(items) == 10_000
    assert reasons == {
        ("key_id", "no API key in the line (see the key_* options of the combined_log format)"),
        (None, "line does not match the log format"),
    }


@needs_samples


def test_apache_dataset_parses_all_well_formed_lines():
    # the dataset carries no key: the client address stands in so the parse itself is checked
    items = convert("combined_log", APACHE, key_variable="remote_addr")
    converted = [item for item in items if isinstance(item, Converted)]
    assert len(converted) == 9_999
    assert converted[0].record == {
        "request_id": "log-sha1-b663a4cd87cb66ba9a9440772ff883d4",
        "timestamp": "2015-05-17T10:05:03+00:00",
        "key_id": "83.149.9.216",
        "method": "GET",
        "path": "/presentations/logstash-monitorama-2013/images/kibana-search.png",
        "status": 200,
        "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36",
    }
    # line 8899 of the dataset is cut off inside its user agent
    [broken] = [item for item in items if isinstance(item, Rejected)]
    assert (broken.line, broken.field, broken.reason) == (8899, None, "line does not match the log format")
    assert len({item.record["request_id"] for item in converted}) == 9_999


@needs_samples


def test_apache_error_log_is_rejected_as_not_an_access_log():
    items = convert("combined_log", SAMPLES / "datasets" / "loghub_Apache_2k_error.log")
    assert len(items) == 2000
    assert {(item.field, item.reason) for item in items} == {(None, "line does not match the log format")}


NGINX_LINE = '203.0.113.7 - - [02/Mar/2026:09:15:00 +0100] "POST /v1/charges?api_key=sk_live_x&expand=1 HTTP/1.1" 402 118 "-" "acme-node/3.1.0"'


def test_combined_with_the_key_as_trailing_quoted_field(tmp_path):
    path = write(tmp_path, "access.log", NGINX_LINE + ' "key_live_42"\n' + NGINX_LINE + "\n")
    first, second = convert("combined_log", path)
    assert first.record == {
        "request_id": "log-sha1-86bc20e2f9ca7f2b179791743e568487",
        "timestamp": "2026-03-02T08:15:00+00:00",
        "key_id": "key_live_42",
        "method": "POST",
        "path": "/v1/charges",
        "status": 402,
        "user_agent": "acme-node/3.1.0",
    }
    assert rejection(second)[:2] == (2, "key_id")


def test_combined_with_a_configured_format_header_key_request_id_and_time(tmp_path):
    log_format = (
        '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" '
        '"$http_x_api_key_id" $request_id $request_time'
    )
    line = NGINX_LINE + ' "kid_7" 9f1c2e 0.042\n'
    [item] = convert("combined_log", write(tmp_path, "access.log", line), log_format=log_format, key_header="X-Api-Key-Id")
    assert item.record == {
        "request_id": "9f1c2e",
        "timestamp": "2026-03-02T08:15:00+00:00",
        "key_id": "kid_7",
        "method": "POST",
        "path": "/v1/charges",
        "status": 402,
        "user_agent": "acme-node/3.1.0",
        "latency_ms": 42.0,
    }


def test_combined_key_from_a_query_parameter_through_the_key_map(tmp_path):
    path = write(tmp_path, "access.log", NGINX_LINE + "\n")
    [item] = convert("combined_log", path, key_query_param="api_key", key_map={"sk_live_x": "key_123"})
    assert item.record["key_id"] == "key_123"
    assert item.record["path"] == "/v1/charges"  # the query, and the secret in it, never reaches the path


def test_combined_apache_format_string_with_microsecond_duration(tmp_path):
    log_format = r'%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %D \"%{X-Api-Key-Id}i\"'
    line = (
        '198.51.100.4 - - [02/Mar/2026:09:15:00 +0000] "GET /v1/customers/cus_9 HTTP/1.1" 200 512 "-" '
        '"python-requests/2.32.3" 15300 "kid_apache"\n'
    )
    [item] = convert("combined_log", write(tmp_path, "access.log", line), log_format=log_format, key_header="X-Api-Key-Id")
    assert item.record["key_id"] == "kid_apache"
    assert item.record["latency_ms"] == 15.3
    assert item.record["user_agent"] == "python-requests/2.32.3"


def test_combined_identical_lines_are_distinct_requests_with_stable_ids(tmp_path):
    path = write(tmp_path, "access.log", (NGINX_LINE + ' "k"\n') * 2)
    first, second = convert("combined_log", path)
    again, _ = convert("combined_log", path)
    assert first.record["request_id"] != second.record["request_id"]
    assert first.record["request_id"] == again.record["request_id"]


def test_combined_malformed_request_line_and_status(tmp_path):
    lines = [
        '203.0.113.7 - - [02/Mar/2026:09:15:00 +0100] "\\x16\\x03\\x01" 400 0 "-" "-" "k"',
        '203.0.113.7 - - [02/Mar/2026:09:15:00 +0100] "GET / HTTP/1.1" 2xx 0 "-" "-" "k"',
    ]
    items = convert("combined_log", write(tmp_path, "access.log", "\n".join(lines)))
    assert [rejection(item) for item in items] == [
        (1, "request", "request line '\\x16\\x03\\x01' is not METHOD TARGET PROTOCOL"),
        (2, "status", "status should be an integer, got str '2xx'"),
    ]


def test_combined_refuses_an_unknown_key_variable_before_reading(tmp_path):
    with pytest.raises(ValueError, match="key_variable 'http_x_key' is not a variable"):
        convert("combined_log", write(tmp_path, "access.log", NGINX_LINE), key_variable="http_x_key")
