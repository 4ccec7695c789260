"""The machinery under every adapter: registry, readers, log formats, time parsing, landing writer, command."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from funnel_assets.lib.adapters import FORMATS, Converted, Rejected, convert_command, convert_file, write_landing
from funnel_assets.lib.adapters.base import Item, RecordError, run, to_utc
from funnel_assets.lib.adapters.logformat import LogFormat
from funnel_assets.lib.adapters.readers import read_csv, read_json
from funnel_assets.lib.contracts import SOURCES


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_registry_names_every_format_and_its_landing_sources():
    assert {name: adapter.sources for name, adapter in FORMATS.items()} == {
        "kong": ("gateway_requests",),
        "aws_apigw": ("gateway_requests",),
        "combined_log": ("gateway_requests",),
        "auth0": ("auth_users", "api_keys"),
        "clerk": ("auth_users", "api_keys"),
        "supabase": ("auth_users", "api_keys"),
        "segment": ("analytics_events",),
        "posthog": ("analytics_events",),
        "amplitude": ("analytics_events",),
        "mixpanel": ("analytics_events",),
        "sendgrid": ("email_events",),
        "customerio": ("email_events",),
        "mailchimp": ("email_events",),
        "zendesk": ("support_tickets",),
    }
    assert {source for adapter in FORMATS.values() for source in adapter.sources} == set(SOURCES)


def test_unknown_format_option_or_file_fails_before_reading(tmp_path):
    path = write(tmp_path, "x.json", "{}")
    with pytest.raises(ValueError, match="unknown format 'snowplow'"):
        convert_file("snowplow", path)
    with pytest.raises(ValueError, match=r"format 'kong' has no option\(s\) \['keymap'\]"):
        convert_file("kong", path, {"keymap": {}})
    with pytest.raises(FileNotFoundError):
        convert_file("kong", tmp_path / "missing.json")


def test_driver_quarantines_unforeseen_shapes_empty_mappings_and_contract_breaks(tmp_path):
    items = [Item(1, "a", {"n": 1}), Item(2, "b", {"n": 2}), Item(3, "c", {"n": 3}), Item(4, "d", {"n": 4})]

    def mapping(value):
        if value["n"] == 1:
            return [("gateway_requests", {**request("r", "2026-03-02T00:00:00+00:00").record, "user_agent": None})]
        if value["n"] == 2:
            return value["missing"]
        if value["n"] == 3:
            return []
        return [("auth_users", {"user_id": "u", "email": "e", "account_type": "team", "created_at": "2026-03-02T00:00:00+00:00"})]

    results = list(run(tmp_path / "f", items, mapping))
    assert isinstance(results[0], Converted) and "user_agent" not in results[0].record
    assert [(r.line, r.field, r.reason) for r in results[1:]] == [
        (2, None, "unexpected record shape (KeyError: 'missing')"),
        (3, None, "the record produced no landing record"),
        (4, "account_type", "account_type 'team' is not one of ['individual', 'organization']"),
    ]


# --- readers ----------------------------------------------------------------------


def values(items) -> list[tuple]:
    return [(item.line, item.value if item.error is None else item.error) for item in items]


def test_json_reader_recovers_after_a_truncated_ndjson_line(tmp_path):
    path = write(tmp_path, "events.json", '{"a": 1}\n{"a": \n\n{"a": 3}\n{"a": 4}{"a": 5}\n')
    assert values(read_json(path)) == [
        (1, {"a": 1}),
        (2, "invalid JSON: the line ends inside a value"),
        (4, {"a": 3}),
        (5, {"a": 4}),
        (5, {"a": 5}),
    ]


def test_json_reader_pretty_printed_values_and_array_elements_keep_their_lines(tmp_path):
    path = write(tmp_path, "events.json", '{\n  "a": 1\n}\n[\n  {"b": 2},\n\n  {"b": 3}\n]\n{"c":\n')
    assert values(read_json(path)) == [(1, {"a": 1}), (5, {"b": 2}), (7, {"b": 3}), (9, "truncated JSON at end of file")]


def test_json_reader_reads_gzip_and_skips_a_byte_order_mark(tmp_path):
    path = tmp_path / "events.json.gz"
    path.write_bytes(gzip.compress('\ufeff{"a": 1}\n'.encode()))
    assert values(read_json(path)) == [(1, {"a": 1})]


def test_csv_reader_lines_account_for_quoted_newlines_and_bad_rows(tmp_path):
    path = write(tmp_path, "rows.csv", '\ufeffid,note\n1,"two\nlines"\n\n2,plain\n3,one,too many\n')
    assert values(read_csv(path)) == [
        (2, {"id": "1", "note": "two\nlines"}),
        (5, {"id": "2", "note": "plain"}),
        (6, "row has 3 fields, the header has 2"),
    ]


# --- log formats -------------------------------------------------------------------


def test_log_format_unescapes_nginx_bytes_and_apache_quotes():
    log_format = LogFormat.compile('$remote_addr "$http_user_agent" "$http_x_api_key"')
    parsed, trailing = log_format.parse(r'1.2.3.4 "say \x22hi\x22" "k\"1"')
    assert parsed == {"remote_addr": "1.2.3.4", "http_user_agent": 'say "hi"', "http_x_api_key": 'k"1'}
    assert trailing == []


def test_log_format_rejects_unsupported_apache_directives():
    with pytest.raises(ValueError, match="not supported"):
        LogFormat.compile('%h %{%d/%b/%Y}t "%r"')


# --- time -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1654012591514, "2022-05-31T15:56:31.514000+00:00"),  # Clerk: milliseconds
        (1513299569, "2017-12-15T00:59:29+00:00"),  # SendGrid: seconds
        ("1726783839538", "2024-09-19T22:10:39.538000+00:00"),
        (1.7267838395395e18, "2024-09-19T22:10:39.539500+00:00"),  # nanoseconds
        ("13/Feb/2021:07:54:52 -0500", "2021-02-13T12:54:52+00:00"),  # CLF
        ("2024-02-26 14:04:29.153624+00", "2024-02-26T14:04:29.153624+00:00"),  # Postgres text
        ("2015-12-10T04:08:31.909Z", "2015-12-10T04:08:31.909000+00:00"),
        ("2021-12-09 00:45:29.430000", "2021-12-09T00:45:29.430000+00:00"),  # naive: UTC
    ],
)
def test_timestamps_of_every_vendor_shape(value, expected):
    assert to_utc(value, "t").isoformat() == expected


@pytest.mark.parametrize("value", ["", "soon", True, [2024], "13/Foo/2021:07:54:52 +0000"])
def test_bad_timestamps_name_their_field(value):
    with pytest.raises(RecordError) as error:
        to_utc(value, "created_at")
    assert error.value.field == "created_at"


# --- landing writer and command ----------------------------------------------------------


def request(request_id: str, timestamp: str) -> Converted:
    record = {"request_id": request_id, "timestamp": timestamp, "key_id": "k", "method": "GET", "path": "/", "status": 200}
    return Converted("gateway_requests", record)


def test_writer_files_records_by_the_utc_day_of_their_own_time_and_appends(tmp_path):
    items = [
        request("r1", "2026-03-01T23:30:00+00:00"),
        request("r2", "2026-03-02T00:30:00+00:00"),
        Converted("auth_users", {"user_id": "u", "email": "a@b.c", "account_type": "individual", "created_at": "2026-03-01T12:00:00+00:00"}),
        Rejected("in.log", 7, "consumer", "no key", "{}"),
    ]
    assert write_landing(items, tmp_path) == {"gateway_requests": 2, "auth_users": 1, "rejected": 1}
    assert write_landing([request("r3", "2026-03-02T01:00:00+00:00")], tmp_path) == {"gateway_requests": 1}
    day_two = (tmp_path / "landing" / "gateway_requests" / "2026-03-02.jsonl").read_text().splitlines()
    assert [json.loads(line)["request_id"] for line in day_two] == ["r2", "r3"]
    assert (tmp_path / "landing" / "gateway_requests" / "2026-03-01.jsonl").exists()
    assert (tmp_path / "landing" / "auth_users" / "2026-03-01.jsonl").exists()
    quarantine = (tmp_path / "quarantine" / "convert.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in quarantine] == [{"file": "in.log", "line": 7, "field": "consumer", "reason": "no key", "raw": "{}"}]


def test_convert_command_takes_files_and_folders(tmp_path):
    folder = tmp_path / "sendgrid"
    folder.mkdir()
    event = {"email": "ada@acme.io", "timestamp": 1772442000, "event": "open", "sg_event_id": "e1", "category": "welcome"}
    write(folder, "a.json", json.dumps([event, {**event, "event": "processed"}]))
    write(folder, "b.json", json.dumps({**event, "sg_event_id": "e2", "timestamp": 1772528400}))
    out = tmp_path / "out"
    assert convert_command("sendgrid", [folder], out, {}) == {"files": 2, "email_events": 2, "rejected": 1}
    assert sorted(path.name for path in (out / "landing" / "email_events").iterdir()) == ["2026-03-02.jsonl", "2026-03-03.jsonl"]


def test_convert_command_refuses_bad_input_before_writing_anything(tmp_path):
    good = write(tmp_path, "a.json", "{}")
    with pytest.raises(FileNotFoundError):
        convert_command("sendgrid", [good, tmp_path / "missing.json"], tmp_path / "out", {})
    assert not (tmp_path / "out").exists()

