"""`funnel convert --option KEY=VALUE`: format strings stay text, a bad value is one error line."""

from __future__ import annotations

import json

import pytest

from funnel_assets_tests.adapters.test_convert_and_run import cli, landing

LOG_FORMAT = (
    '{"requestId": "$context.requestId", "requestTime": "$context.requestTime", '
    '"httpMethod": "$context.httpMethod", "path": "$context.path", "status": "$context.status", '
    '"apiKeyId": "$context.identity.apiKeyId"}'
)
ENTRY = {"requestId": "r-1", "requestTime": "15/Jul/2021:05:35:16 +0200", "httpMethod": "GET",
         "path": "/v1/customers/cus_1", "status": "200", "apiKeyId": "kid-1"}


def test_a_json_log_format_given_as_an_option_stays_the_format_string(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(json.dumps(ENTRY) + "\n")
    status, out, err = cli(["convert", "--format", "aws_apigw", "--option", f"log_format={LOG_FORMAT}",
                            str(log), "--out", str(tmp_path / "out")])
    assert (status, err) == (0, "")
    assert landing(tmp_path / "out", "gateway_requests") == [{
        "request_id": "r-1", "timestamp": "2021-07-15T03:35:16+00:00", "key_id": "kid-1", "method": "GET",
        "path": "/v1/customers/cus_1", "status": 200,
    }]


def test_a_mapping_option_is_still_parsed(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(json.dumps(ENTRY) + "\n")
    status, _, err = cli(["convert", "--format", "aws_apigw", "--option", f"log_format={LOG_FORMAT}",
                          "--option", 'key_map={"kid-1": "k_alice"}', str(log), "--out", str(tmp_path / "out")])
    assert (status, err) == (0, "")
    assert [r["key_id"] for r in landing(tmp_path / "out", "gateway_requests")] == ["k_alice"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "aws_apigw", "--option", "key_map=[1, 2]"],
         "error: format 'aws_apigw' option key_map: expected a mapping (JSON or YAML, e.g. '{\"cred\": \"key\"}'), "
         "got list [1, 2]"),
        (["--format", "aws_apigw", "--option", "log_format=[1, 2]"],
         "error: the file holds JSON entries, so log_format should be the JSON access log format "
         "(an object of keys to $context variables)"),
        (["--format", "mixpanel", "--option", "project_timezone=Mars/Olympus_Mons"],
         "error: format 'mixpanel' option project_timezone: expected an IANA time zone name (e.g. Europe/Paris), "
         "got str 'Mars/Olympus_Mons'"),
        (["--format", "clerk", "--option", "created_at_from_id=maybe"],
         "error: format 'clerk' option created_at_from_id: expected true or false, got str 'maybe'"),
    ],
)
def test_a_bad_option_value_is_one_error_line(tmp_path, args, message):
    log = tmp_path / "access.log"
    log.write_text(json.dumps(ENTRY) + "\n")
    status, out, err = cli(["convert", *args, str(log), "--out", str(tmp_path / "out")])
    assert (status, err) == (2, message + "\n")


def test_an_options_file_with_a_mapping_where_text_is_expected_is_one_error_line(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(json.dumps(ENTRY) + "\n")
    options = tmp_path / "options.yaml"
    options.write_text("log_format: {requestId: $context.requestId}\n")
    status, _, err = cli(["convert", "--format", "aws_apigw", "--options", str(options), str(log),
                          "--out", str(tmp_path / "out")])
    assert status == 2
    assert err == ("error: format 'aws_apigw' option log_format: expected text, "
                   "got dict {'requestId': '$context.requestId'}\n")
    options.write_text("log_format: [unclosed\n")
    status, _, err = cli(["convert", "--format", "aws_apigw", "--options", str(options), str(log),
                          "--out", str(tmp_path / "out")])
    assert status == 2 and err.count("\n") == 1 and err.startswith(f"error: {options}: not valid YAML")
