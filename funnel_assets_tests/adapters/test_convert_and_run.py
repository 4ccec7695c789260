"""Vendor files through `funnel convert` and `funnel run`: the landing rows and the marts the vendors' documentation implies.

Every vendor record here is written for this test in the shape each vendor
documents (not copied from shared/samples). Three parts:

1. One file per format (Kong, AWS API Gateway JSON, NGINX combined log,
   Auth0, Clerk, Supabase, Segment, PostHog, SendGrid, Zendesk), converted
   with the CLI and materialised: exact landing records and mart numbers.
2. One description of a small activity (`ACTIVITY`), rendered twice: as
   Kong, Auth0, Segment and SendGrid files, and directly as landing format
   v1. Converting the vendor files gives the same marts as the landing files.
3. The same vendor files named in `vendor_sources` of a `--config` file:
   `funnel run` converts them itself, gives the same marts as
   convert-then-run, and a second run appends nothing.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from funnel_assets.cli import main
from funnel_assets.defs.marts.diagnostics import POOLS_COMPLETE_COHORTS
from funnel_assets.lib.adapters.sync import MANIFEST
from funnel_assets_tests.conftest import Pipeline
from funnel_assets_tests.landing import write_landing

W0 = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday: the cohort week of every developer of part 1


def t(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return W0 + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def zulu(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def clf(moment: datetime) -> str:
    return moment.strftime("%d/%b/%Y:%H:%M:%S +0000")


def cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def landing(data: Path, source: str) -> list[dict]:
    return [
        json.loads(line)
        for path in sorted((data / "landing" / source).glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def by(records: list[dict], key: str) -> dict[str, dict]:
    return {record[key]: record for record in records}


# lineage: which landing file and line a raw row came from (the files differ by construction)
LINEAGE = ("_source_file", "_source_line")


def tables(warehouse: Path, like: str) -> dict[str, pd.DataFrame]:
    """The tables of a warehouse whose name is `like`, rows in a stable order, lineage columns left out."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        names = [row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_name like ? order by 1", [like]
        ).fetchall()]
        frames = {}
        for name in names:
            columns = [row[0] for row in con.execute(f'describe "{name}"').fetchall() if row[0] not in LINEAGE]
            frames[name] = con.execute(f'select {", ".join(columns)} from "{name}" order by all').df()
        return frames
    finally:
        con.close()


def marts(warehouse: Path) -> dict[str, pd.DataFrame]:
    """Every mart, and the stage tables they are built from."""
    found = tables(warehouse, "mart_%")
    return found | tables(warehouse, "developer_stages") | tables(warehouse, "visitor_intents")


def assert_same_marts(left: Path, right: Path) -> None:
    expected, actual = marts(left), marts(right)
    assert sorted(actual) == sorted(expected) and len(expected) >= 7
    for table in expected:
        # the drivers pool complete cohorts (a 90-day outcome), which these few weeks of samples do not reach
        assert len(expected[table]) > 0 or table in POOLS_COMPLETE_COHORTS, table
        pd.testing.assert_frame_equal(actual[table], expected[table], obj=table)


# --- part 1: every format, as its vendor documents it -----------------------------------

ADA = "auth0|65a1f0c2e4b0d1a2b3c4d5e6"
BEA = "user_2cSSCzV7948rhPJMsY601tXsEU4"
CY = "8d0fd2b3-9ca7-4b3a-8f21-3d6a0e1c5b7a"
DEE = "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5"


OLD_CURL = "curl/7.22.0 (i686-pc-linux-gnu) libcurl/7.22.0 OpenSSL/1.0.1 zlib/1.2.3.4"


def kong_entry(request_id, when, method, uri, status, agent, credential, latency=12, headers_id=False):
    """A Kong 3.x File Log entry (key-auth matched `credential`)."""
    entry = {
        "request": {
            "method": method,
            "uri": uri,
            "url": f"https://api.acme.dev:8443{uri}",
            "size": 138,
            "querystring": {},
            "headers": {"host": "api.acme.dev", "accept": "*/*", "user-agent": agent},
        },
        "response": {"status": status, "size": 934, "headers": {"content-type": "application/json"}},
        "latencies": {"request": latency, "kong": 2, "proxy": latency - 2},
        "started_at": ms(when),
        "client_ip": "203.0.113.7",
        "service": {"name": "payments", "protocol": "http", "host": "payments.internal", "port": 8080},
        "route": {"name": "payments-v1", "paths": ["/v1"]},
    }
    if headers_id:  # before Kong 3.5 the id is only in the response header
        entry["response"]["headers"]["x-kong-request-id"] = request_id
    else:
        entry["request"]["id"] = request_id
    if credential:
        entry["authenticated_entity"] = {"id": credential}
        entry["consumer"] = {"id": "9f1c7d3e-consumer-ada", "username": "ada"}
    return entry


def write_vendor_files(folder: Path) -> dict[str, tuple[Path, list[str]]]:
    """format -> (file, extra CLI arguments)."""
    folder.mkdir(parents=True)
    files: dict[str, tuple[Path, list[str]]] = {}

    # Kong File Log: one JSON object per line; key-auth credentials mapped to our key ids
    kong = [
        kong_entry("kong-1", t(0, 9, 6), "POST", "/v1/charges", 400, OLD_CURL, "cred-ada-test"),
        kong_entry("kong-2", t(0, 9, 10), "GET", "/v1/customers/cus_123?expand=invoices&api_key=sk_secret", 200, OLD_CURL,
                   "cred-ada-test", latency=42),
        kong_entry("kong-3", t(0, 9, 20), "POST", "/v1/charges", 201, "acme-python/1.4.2", "cred-ada-test", headers_id=True),
        kong_entry("kong-4", t(2, 11), "POST", "/v1/charges", 200, "acme-python/1.4.2", "cred-ada-live"),
        # key-auth rejected the request: Kong logs no consumer, so there is no key to attribute it to
        kong_entry("kong-5", t(0, 9, 5), "GET", "/v1/customers", 401, "curl/8.4.0", None),
    ]
    path = folder / "kong-requests.log"
    path.write_text("".join(json.dumps(entry) + "\n" for entry in kong))
    key_map = {"cred-ada-test": "key_test_ada", "cred-ada-live": "key_live_ada"}
    files["kong"] = (path, ["--option", f"key_map={json.dumps(key_map)}"])

    # AWS API Gateway (REST) custom JSON access log, delivered by Firehose: records concatenated, no newline
    def apigw(request_id, when, path_, resource, status):
        return {
            "requestId": request_id, "ip": "198.51.100.4", "caller": "-", "user": "-",
            "requestTime": clf(when), "requestTimeEpoch": str(ms(when)), "httpMethod": "GET",
            "resourcePath": resource, "path": path_, "status": str(status), "protocol": "HTTP/1.1",
            "responseLength": "1024", "apiKeyId": "wq8vn1ks4d", "userAgent": "Go-http-client/1.1",
            "responseLatency": "87",
        }

    path = folder / "apigw-firehose-2025-03-04"
    path.write_text(
        json.dumps(apigw("c6af9ac6-7b61-11e6-9a41-93e8deadbeef", t(1, 13), "/prod/v1/customers", "/v1/customers", 200))
        + json.dumps(apigw("d7b0ab07-7b61-11e6-9a41-93e8deadbeef", t(1, 13, 5), "/prod/v1/invoices/in_42", "/v1/invoices/{id}", 200))
    )
    files["aws_apigw"] = (path, [])

    # NGINX: log_format combined plus "$http_x_api_key_id" as a last quoted field
    agent = "python-requests/2.31.0 CPython/3.11.4 Linux/6.1.0"
    lines = [
        f'198.51.100.23 - - [{clf(t(3, 8, 30))}] "GET /v1/customers?limit=10 HTTP/1.1" 200 512 "-" "{agent}" "sk_test_cy01"',
        f'198.51.100.23 - - [{clf(t(3, 8, 29))}] "GET /v1/customers HTTP/1.1" 401 61 "-" "{agent}" "-"',
        "this is not an access log line",
    ]
    path = folder / "api.access.log"
    path.write_text("\n".join(lines) + "\n")
    files["combined_log"] = (path, [])

    # Auth0 bulk user export (NDJSON): keys kept by the platform in app_metadata.api_keys
    auth0 = [
        {
            "user_id": ADA, "email": "ada@example.com", "email_verified": True, "created_at": zulu(t(0, 9)),
            "app_metadata": {
                "organization": {"id": "org_acme", "name": "Acme"},
                "api_keys": [{"id": "key_test_ada", "created_at": zulu(t(0, 9, 5))}, {"id": "key_live_ada", "created_at": zulu(t(2, 10))}],
            },
        },
    ]
    path = folder / "auth0-users.json"
    path.write_text("".join(json.dumps(user) + "\n" for user in auth0) + '{"user_id": "auth0|trunc", "email": \n')
    files["auth0"] = (path, [])

    # Clerk user.created webhook (Svix body; epoch milliseconds) and the user's organisation membership
    clerk = [
        {
            "data": {
                "id": BEA, "object": "user", "created_at": ms(t(1, 12)), "updated_at": ms(t(1, 12)),
                "primary_email_address_id": "idn_2cSSD0", "password_enabled": True,
                "email_addresses": [{"id": "idn_2cSSD0", "object": "email_address", "email_address": "bea@example.net",
                                     "verification": {"status": "verified", "strategy": "email_code"}}],
                "public_metadata": {},
                "private_metadata": {"api_keys": [{"key_id": "wq8vn1ks4d", "mode": "test", "created_at": ms(t(1, 12, 30))}]},
            },
            "object": "event", "type": "user.created", "timestamp": ms(t(1, 12)),
        },
        {
            "data": {"object": "organization_membership", "role": "org:admin",
                     "organization": {"id": "org_2bea", "name": "Bea & Co"},
                     "public_user_data": {"user_id": BEA, "identifier": "bea@example.net"}},
            "object": "event", "type": "organizationMembership.created", "timestamp": ms(t(1, 12, 1)),
        },
    ]
    path = folder / "clerk-webhooks.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in clerk))
    files["clerk"] = (path, [])

    # Supabase Studio export of auth.users: CSV with a byte order mark, password hashes included
    header = ["instance_id", "id", "aud", "role", "email", "encrypted_password", "email_confirmed_at", "created_at",
              "raw_app_meta_data", "raw_user_meta_data"]
    rows = [
        ["00000000-0000-0000-0000-000000000000", CY, "authenticated", "authenticated", "cy@example.org",
         "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", "2025-03-05 08:31:00.123456+00",
         "2025-03-05 08:30:00+00",
         json.dumps({"provider": "email", "providers": ["email"], "api_keys": [{"key_id": "sk_test_cy01", "created_at": "2025-03-05T08:40:00Z"}]}),
         "{}"],
        ["00000000-0000-0000-0000-000000000000", DEE, "authenticated", "authenticated", "dee@example.org",
         "$2a$10$Vx8bqAqlyKCbD7Rk1VnUiOj4xQWh1o7qfKbUxv3pJ8hXFHYZWLO3a", "", "2025-03-06 15:00:00+00",
         json.dumps({"provider": "email"}), "{}"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    path = folder / "users_rows.csv"
    path.write_text("\ufeff" + buffer.getvalue(), encoding="utf-8")
    files["supabase"] = (path, [])

    # Segment: the S3 destination's messages, one per line; the client clock runs 2 minutes fast
    segment = [
        {
            "type": "page", "messageId": "ajs-page-ada-1", "anonymousId": "anon-ada", "name": "Quickstart",
            "originalTimestamp": zulu(t(0, 8, 32)), "sentAt": zulu(t(0, 8, 32, 5)), "receivedAt": zulu(t(0, 8, 30, 5)),
            "timestamp": zulu(t(0, 8, 30)),
            "context": {"page": {"path": "/docs/quickstart", "referrer": "https://www.google.com/",
                                 "url": "https://acme.dev/docs/quickstart?utm_source=google&utm_medium=cpc&utm_campaign=launch"},
                        "userAgent": "Mozilla/5.0"},
            "properties": {"title": "Quickstart"}, "version": 2,
        },
        {"type": "identify", "messageId": "ajs-identify-ada", "anonymousId": "anon-ada", "userId": ADA,
         "timestamp": zulu(t(0, 9, 1)), "traits": {"email": "ada@example.com"}, "version": "1.1"},
        {"type": "track", "messageId": "ajs-track-ada-qs", "userId": ADA, "event": "quickstart_completed",
         "timestamp": zulu(t(0, 9, 40)), "properties": {"language": "python"}},
    ]
    path = folder / "segment-archive.jsonl"
    path.write_text("".join(json.dumps(message) + "\n" for message in segment))
    files["segment"] = (path, [])

    # PostHog batch export (JSONLines, model events)
    posthog = [
        {"uuid": "0195a1b2-0000-7000-8000-000000000001", "event": "$pageview", "distinct_id": "0195a1b2-device-cy",
         "timestamp": "2025-03-05T08:00:00Z", "created_at": "2025-03-05T08:00:01Z",
         "properties": {"$current_url": "https://acme.dev/pricing", "$pathname": "/pricing",
                        "$referrer": "https://www.producthunt.com/posts/acme", "$device_id": "0195a1b2-device-cy",
                        "$is_identified": False, "$browser": "Firefox"}},
        {"uuid": "0195a1b2-0000-7000-8000-000000000002", "event": "$identify", "distinct_id": CY,
         "timestamp": "2025-03-05T08:31:00Z", "created_at": "2025-03-05T08:31:01Z",
         "properties": {"$anon_distinct_id": "0195a1b2-device-cy", "$device_id": "0195a1b2-device-cy"}},
        {"uuid": "0195a1b2-0000-7000-8000-000000000003", "event": "quickstart_completed", "distinct_id": CY,
         "timestamp": "2025-03-06T09:00:00Z", "created_at": "2025-03-06T09:00:02Z", "properties": {"language": "python"}},
    ]
    path = folder / "posthog-export.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in posthog))
    files["posthog"] = (path, [])

    # SendGrid Event Webhook: each POST body is a JSON array
    def sendgrid(event_id, email, kind, when, category, **extra):
        return {"email": email, "timestamp": int(when.timestamp()), "event": kind, "sg_event_id": event_id,
                "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "category": category,
                "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>", **extra}

    # three onboarding e-mails, told apart by their second category
    day_1, day_2, day_3 = (["onboarding", f"day-{n}"] for n in (1, 2, 3))
    bodies = [
        [sendgrid("sg-ada-1", "ada@example.com", "processed", t(0, 9, 1), day_1),
         sendgrid("sg-ada-2", "ada@example.com", "delivered", t(0, 9, 2), day_1, response="250 OK"),
         sendgrid("sg-ada-3", "Ada@Example.com", "open", t(0, 9, 30), day_1, useragent="Mozilla/5.0", ip="192.0.2.1")],
        [sendgrid("sg-ada-4", "ada@example.com", "open", t(1, 8), day_2),
         sendgrid("sg-ada-5", "ada@example.com", "click", t(1, 8, 1), day_2, url="https://acme.dev/docs/quickstart"),
         sendgrid("sg-ada-6", "ada@example.com", "open", t(2, 8), day_3),
         sendgrid("sg-bea-1", "bea@example.net", "open", t(1, 14), "onboarding")],
    ]
    path = folder / "sendgrid-events.json"
    path.write_text("".join(json.dumps(body) + "\n" for body in bodies))
    files["sendgrid"] = (path, [])

    # Zendesk incremental ticket export with the requesters side-loaded (include=users)
    page = {
        "tickets": [{"id": 35436, "url": "https://acme.zendesk.com/api/v2/tickets/35436.json", "requester_id": 20978392,
                     "created_at": "2025-03-06T09:15:00Z", "subject": "401 on my first call", "tags": ["api", "auth"],
                     "status": "open", "via": {"channel": "web"}}],
        "users": [{"id": 20978392, "email": "cy@example.org", "name": "Cy"}],
        "after_cursor": "MTU3NjYxMzUzOS4wfHw0Njd8", "end_of_stream": True,
    }
    path = folder / "zendesk-tickets.json"
    path.write_text(json.dumps(page) + "\n")
    files["zendesk"] = (path, [])
    return files


@pytest.fixture(scope="module")
def every_format(tmp_path_factory, definitions):
    root = tmp_path_factory.mktemp("every_format")
    files = write_vendor_files(root / "vendor")
    pipeline = Pipeline(definitions, root)
    outputs = {}
    for name, (path, extra) in files.items():
        outputs[name] = cli(["convert", "--format", name, str(path), "--out", str(pipeline.data_dir), *extra])
    pipeline.run()
    return pipeline, outputs


def test_convert_prints_counts_per_source_and_rejected(every_format):
    _, outputs = every_format
    assert {name: status for name, (status, _, _) in outputs.items()} == dict.fromkeys(outputs, 0)
    counts = {
        name: {line.split()[0]: int(line.split()[1].replace(",", "")) for line in out.splitlines() if not line.startswith(" ")}
        for name, (_, out, _) in outputs.items()
    }
    assert counts == {
        "kong": {"gateway_requests": 4, "rejected": 1},
        "aws_apigw": {"gateway_requests": 2, "rejected": 0},
        "combined_log": {"gateway_requests": 1, "rejected": 2},
        "auth0": {"auth_users": 1, "api_keys": 2, "rejected": 1},
        "clerk": {"auth_users": 1, "api_keys": 1, "rejected": 1},
        "supabase": {"auth_users": 2, "api_keys": 1, "rejected": 0},
        "segment": {"analytics_events": 3, "rejected": 0},
        "posthog": {"analytics_events": 3, "rejected": 0},
        "sendgrid": {"email_events": 6, "rejected": 1},
        "zendesk": {"support_tickets": 1, "rejected": 0},
    }
    # each rejection is shown with its file, line and field
    assert "kong-requests.log:5 field consumer: no consumer or authenticated_entity" in outputs["kong"][1]
    assert "api.access.log:2 field key_id: no API key in the line" in outputs["combined_log"][1]
    assert "api.access.log:3: line does not match the log format" in outputs["combined_log"][1]
    assert "auth0-users.json:2: invalid JSON" in outputs["auth0"][1]


def test_rejected_records_are_quarantined_never_dropped(every_format):
    pipeline, _ = every_format
    lines = (pipeline.data_dir / "quarantine" / "convert.jsonl").read_text().splitlines()
    rejected = [(Path(r["file"]).name, r["line"], r["field"]) for r in map(json.loads, lines)]
    assert rejected == [
        ("kong-requests.log", 5, "consumer"),
        ("api.access.log", 2, "key_id"),
        ("api.access.log", 3, None),
        ("auth0-users.json", 2, None),
        ("clerk-webhooks.jsonl", 2, "type"),
        ("sendgrid-events.json", 1, "event"),
    ]
    # the Supabase password hashes reach neither landing nor quarantine
    everything = "".join(p.read_text() for p in pipeline.data_dir.rglob("*.jsonl"))
    assert "$2a$10$" not in everything and "encrypted_password" not in everything


def test_gateway_records_are_what_the_logs_say(every_format):
    pipeline, _ = every_format
    requests = by(landing(pipeline.data_dir, "gateway_requests"), "request_id")
    # Kong: started_at in ms; the credential key-auth matched, through key_map; no query string (it held a secret)
    assert requests["kong-2"] == {
        "request_id": "kong-2", "timestamp": "2025-03-03T09:10:00+00:00", "key_id": "key_test_ada", "method": "GET",
        "path": "/v1/customers/cus_123", "status": 200, "user_agent": OLD_CURL, "latency_ms": 42,
    }
    assert requests["kong-3"]["request_id"] == "kong-3"  # from the x-kong-request-id response header
    # API Gateway: $context.path keeps the stage; requestTimeEpoch is in ms; values logged as strings
    assert requests["c6af9ac6-7b61-11e6-9a41-93e8deadbeef"] == {
        "request_id": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "timestamp": "2025-03-04T13:00:00+00:00",
        "key_id": "wq8vn1ks4d", "method": "GET", "path": "/prod/v1/customers", "status": 200,
        "user_agent": "Go-http-client/1.1", "latency_ms": 87,
    }
    # NGINX: no request id logged, so a stable hash of the line stands in
    nginx = next(r for r in requests.values() if r["key_id"] == "sk_test_cy01")
    assert nginx["request_id"].startswith("log-sha1-")
    assert {k: v for k, v in nginx.items() if k != "request_id"} == {
        "timestamp": "2025-03-06T08:30:00+00:00", "key_id": "sk_test_cy01", "method": "GET", "path": "/v1/customers",
        "status": 200, "user_agent": "python-requests/2.31.0 CPython/3.11.4 Linux/6.1.0",
    }


def test_auth_records_are_what_the_exports_say(every_format):
    pipeline, _ = every_format
    users = by(landing(pipeline.data_dir, "auth_users"), "user_id")
    assert users[ADA] == {"user_id": ADA, "org_id": "org_acme", "email": "ada@example.com", "account_type": "organization",
                          "created_at": "2025-03-03T09:00:00+00:00", "email_verified": True}
    # Clerk: epoch ms; the organisation from the membership webhook in the same file
    assert users[BEA] == {"user_id": BEA, "org_id": "org_2bea", "email": "bea@example.net", "account_type": "organization",
                          "created_at": "2025-03-04T12:00:00+00:00", "email_verified": True}
    # Supabase: Postgres timestamps; email_confirmed_at is the verification time
    assert users[CY] == {"user_id": CY, "email": "cy@example.org", "account_type": "individual",
                         "created_at": "2025-03-05T08:30:00+00:00", "email_verified_at": "2025-03-05T08:31:00.123456+00:00"}
    keys = by(landing(pipeline.data_dir, "api_keys"), "key_id")
    assert keys["key_live_ada"] == {"key_id": "key_live_ada", "user_id": ADA, "org_id": "org_acme", "mode": "live",
                                    "created_at": "2025-03-05T10:00:00+00:00"}
    assert keys["wq8vn1ks4d"] == {"key_id": "wq8vn1ks4d", "user_id": BEA, "org_id": "org_2bea", "mode": "test",
                                  "created_at": "2025-03-04T12:30:00+00:00"}
    assert keys["sk_test_cy01"]["mode"] == "test"


def test_analytics_email_and_ticket_records_are_what_the_vendors_say(every_format):
    pipeline, _ = every_format
    events = by(landing(pipeline.data_dir, "analytics_events"), "message_id")
    # Segment: the landing record keeps the fast client clock (originalTimestamp) with sentAt and receivedAt ...
    assert events["ajs-page-ada-1"] == {
        "message_id": "ajs-page-ada-1", "type": "page", "anonymous_id": "anon-ada",
        "timestamp": "2025-03-03T08:32:00+00:00", "sent_at": "2025-03-03T08:32:05+00:00",
        "received_at": "2025-03-03T08:30:05+00:00",
        "properties": {"path": "/docs/quickstart", "referrer": "https://www.google.com/", "title": "Quickstart",
                       "url": "https://acme.dev/docs/quickstart?utm_source=google&utm_medium=cpc&utm_campaign=launch",
                       "name": "Quickstart", "utm_source": "google", "utm_medium": "cpc", "utm_campaign": "launch"},
    }
    # ... and ingestion undoes it once: receivedAt - (sentAt - originalTimestamp)
    corrected = pipeline.frame(
        "select corrected_timestamp from raw_analytics_events where message_id = 'ajs-page-ada-1'"
    ).corrected_timestamp[0]
    assert corrected.isoformat() == "2025-03-03T08:30:00+00:00"
    # PostHog: $identify links the anonymous distinct id to the user; created_at is ingestion time
    assert events["0195a1b2-0000-7000-8000-000000000002"] == {
        "message_id": "0195a1b2-0000-7000-8000-000000000002", "type": "identify", "anonymous_id": "0195a1b2-device-cy",
        "user_id": CY, "timestamp": "2025-03-05T08:31:00+00:00", "received_at": "2025-03-05T08:31:01+00:00",
        "original_type": "$identify",
    }
    assert events["0195a1b2-0000-7000-8000-000000000001"]["properties"] == {
        "url": "https://acme.dev/pricing", "path": "/pricing", "referrer": "https://www.producthunt.com/posts/acme"
    }
    emails = by(landing(pipeline.data_dir, "email_events"), "event_id")
    assert emails["sg-ada-5"] == {"event_id": "sg-ada-5", "email": "ada@example.com", "campaign": "onboarding,day-2",
                                  "event": "click", "timestamp": "2025-03-04T08:01:00+00:00",
                                  "url": "https://acme.dev/docs/quickstart"}
    assert landing(pipeline.data_dir, "support_tickets") == [
        {"ticket_id": "35436", "email": "cy@example.org", "created_at": "2025-03-06T09:15:00+00:00",
         "subject": "401 on my first call", "tags": ["api", "auth"]}
    ]


def test_marts_from_the_vendor_files(every_format):
    pipeline, _ = every_format
    stages = pipeline.frame("select * from developer_stages").set_index("user_pid")
    names = {pipeline.pid(user): who for user, who in [(ADA, "ada"), (BEA, "bea"), (CY, "cy"), (DEE, "dee")]}
    stages.index = stages.index.map(names)
    ts = pd.Timestamp
    ada, bea, cy = stages.loc["ada"], stages.loc["bea"], stages.loc["cy"]
    # the 400 at 09:06 is not a first call; the 2xx at 09:10 is
    assert ada.first_api_call_at == ts("2025-03-03 09:10", tz="UTC")
    assert ada.first_api_call_event_id == "kong-2"
    assert (ada.client_kind, ada.client_name) == ("raw_http", "curl")
    assert ada.active_integration_at == ts("2025-03-03 09:20", tz="UTC")
    assert ada.production_deployment_at == ts("2025-03-05 11:00", tz="UTC")  # the live key
    assert ada.first_integration_milestone_at == ts("2025-03-03 09:40", tz="UTC")
    assert (ada.intent_at, ada.channel, ada.account_type) == (ts("2025-03-03 08:30", tz="UTC"), "paid", "organization")
    assert bea.first_api_call_at == ts("2025-03-04 13:00", tz="UTC") and bea.client_name == "go-http-client"
    assert bea.active_integration_at == ts("2025-03-04 13:05", tz="UTC")
    assert not bea.intent_observed
    assert cy.first_api_call_at == ts("2025-03-06 08:30", tz="UTC") and cy.client_name == "python-requests"
    assert (cy.intent_at, cy.channel) == (ts("2025-03-05 08:00", tz="UTC"), "product_listing")
    assert cy.first_integration_milestone_at == ts("2025-03-06 09:00", tz="UTC")
    assert pd.isna(stages.loc["dee"].first_api_call_at)

    ttfac = pipeline.frame("select * from mart_ttfac_by_cohort").to_dict("records")
    assert len(ttfac) == 1
    row = ttfac[0]
    # ada 10 min, bea 1 h, cy 1 day; dee never called
    assert (row["developers"], row["called"], row["never_called"]) == (4, 3, 1)
    assert (row["p25_s"], row["p50_s"], row["p75_s"], row["p90_s"]) == pytest.approx((2100, 3600, 45000, 69840))

    usage = pipeline.frame("select client_kind, client_name, developers, requests from mart_sdk_usage order by all")
    assert usage.to_dict("records") == [
        {"client_kind": "raw_http", "client_name": "curl", "developers": 1, "requests": 2},
        {"client_kind": "raw_http", "client_name": "go-http-client", "developers": 1, "requests": 2},
        {"client_kind": "raw_http", "client_name": "python-requests", "developers": 1, "requests": 1},
        {"client_kind": "sdk", "client_name": "acme-python", "developers": 0, "requests": 2},
    ]
    # ada opened 3 e-mails (one open sent for "Ada@Example.com") and clicked one; bea opened one
    engagement = pipeline.frame("select segment_value, developers, first_call_7d_rate from mart_segment_conversion "
                                "where segment = 'email_engagement' order by 1")
    assert engagement.to_dict("records") == [
        {"segment_value": "high", "developers": 1, "first_call_7d_rate": 1.0},
        {"segment_value": "medium", "developers": 1, "first_call_7d_rate": 1.0},
        {"segment_value": "none", "developers": 2, "first_call_7d_rate": 0.5},
    ]


# --- the command line of convert ------------------------------------------------------------


def test_unknown_format_lists_the_formats(tmp_path):
    status, _, err = cli(["convert", "--format", "kongg", str(tmp_path), "--out", str(tmp_path / "out")])
    assert status != 0
    assert "unknown format 'kongg'" in err and "kong, aws_apigw, combined_log" in err and "zendesk" in err
    assert not (tmp_path / "out").exists()


def test_help_lists_every_format():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["convert", "--help"])
    for name in ("kong", "aws_apigw", "combined_log", "auth0", "clerk", "supabase", "segment", "posthog", "amplitude",
                 "mixpanel", "sendgrid", "customerio", "mailchimp", "zendesk"):
        assert f"\n  {name} " in out.getvalue()


def test_nothing_converted_exits_non_zero(tmp_path):
    path = tmp_path / "events.json"
    path.write_text(json.dumps([{"email": "a@b.c", "timestamp": 1741000000, "event": "processed", "sg_event_id": "x"}]))
    status, out, err = cli(["convert", "--format", "sendgrid", str(path), "--out", str(tmp_path / "out")])
    assert status == 1
    assert "nothing converted" in err and "rejected                   1 records" in out
    assert (tmp_path / "out" / "quarantine" / "convert.jsonl").exists()


def test_options_from_yaml_and_repeatable_json_values(tmp_path):
    log = tmp_path / "api.log"
    log.write_text('203.0.113.9 - k_basic [03/Mar/2025:10:00:00 +0000] "GET /v1/ping?token=x HTTP/1.1" 200 2 "-" "curl/8.4.0" 0.125 rid-1\n')
    options = tmp_path / "options.yaml"
    options.write_text(yaml.safe_dump({
        "log_format": '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                      '"$http_referer" "$http_user_agent" $request_time $request_id',
        "key_variable": "nonsense",
    }))
    status, _, err = cli(["convert", "--format", "combined_log", str(log), "--out", str(tmp_path / "out"),
                          "--options", str(options), "--option", "key_variable=remote_user",
                          "--option", 'key_map={"k_basic": "key_1"}'])
    assert (status, err) == (0, "")
    assert landing(tmp_path / "out", "gateway_requests") == [
        {"request_id": "rid-1", "timestamp": "2025-03-03T10:00:00+00:00", "key_id": "key_1", "method": "GET",
         "path": "/v1/ping", "status": 200, "user_agent": "curl/8.4.0", "latency_ms": 125}
    ]
    status, _, err = cli(["convert", "--format", "combined_log", str(log), "--out", str(tmp_path / "out"),
                          "--option", "no_such_option=1"])
    assert status == 2 and "no option(s) ['no_such_option']" in err


# --- parts 2 and 3: one activity, as vendor files and as landing format v1 ----------------------------

# Developers (Auth0 users; keys in app_metadata.api_keys as the auth adapters document), their requests
# (Kong, keyed by key-auth credential), their analytics (Segment) and their onboarding e-mail (SendGrid).
ACTIVITY = {
    "users": [
        {"user_id": "auth0|ada", "email": "ada@acme.io", "org_id": "org_1", "created_at": t(0, 9),
         "keys": [("k_ada", "test", t(0, 9, 5), None), ("k_ada_live", "live", t(2, 10), None)]},
        {"user_id": "auth0|ben", "email": "ben@acme.io", "org_id": None, "created_at": t(1, 14),
         "keys": [("k_ben", "test", t(1, 14, 10), t(3, 0)), ("k_ben_2", "test", t(3, 0, 1), None)]},
        {"user_id": "auth0|cat", "email": "cat@acme.io", "org_id": None, "created_at": t(9, 10),
         "keys": [("k_cat", "live", t(9, 10, 30), None)]},
        {"user_id": "auth0|dov", "email": "dov@acme.io", "org_id": "org_1", "created_at": t(10, 16), "keys": []},
    ],
    # (request id, time, key, method, path, status, user agent, latency ms)
    "requests": [
        ("r01", t(0, 9, 6), "k_ada", "GET", "/v1/customers", 401, "curl/8.4.0", 5),
        ("r02", t(0, 9, 10), "k_ada", "GET", "/v1/customers/cus_1", 200, "curl/8.4.0", 31),
        ("r03", t(0, 9, 20), "k_ada", "POST", "/v1/charges", 201, "acme-python/1.4.2", 88),
        ("r04", t(0, 9, 25), "k_ada", "GET", "/v1/charges/ch_9", 200, "acme-python/1.4.2", 20),
        ("r05", t(2, 11), "k_ada_live", "POST", "/v1/charges", 200, "acme-python/1.4.2", 90),
        ("r06", t(2, 10), "k_ben", "GET", "/v1/customers", 200, "python-requests/2.31.0 CPython/3.11.4 Linux/6.1", 40),
        ("r07", t(2, 10, 1), "k_ben", "GET", "/v1/customers", 429, "python-requests/2.31.0 CPython/3.11.4 Linux/6.1", 3),
        ("r08", t(4, 9), "k_ben_2", "POST", "/v1/refunds", 200, "PostmanRuntime/7.36.0", 50),
        ("r09", t(9, 11), "k_cat", "GET", "/v1/invoices/in_7", 200, "Go-http-client/1.1", 25),
        ("r10", t(9, 11, 10), "k_cat", "GET", "/v1/customers", 200, "Go-http-client/1.1", 25),
        ("r11", t(30, 12), "k_cat", "GET", "/v1/customers", 200, "Go-http-client/1.1", 25),
    ],
    # (message id, call, event, anonymous id, user id, time, properties)
    "analytics": [
        ("m01", "page", None, "anon_a", None, t(0, 8, 40),
         {"path": "/docs/quickstart", "url": "https://acme.dev/docs/quickstart", "referrer": "https://www.google.com/search?q=acme"}),
        ("m02", "identify", None, "anon_a", "auth0|ada", t(0, 9, 1), {}),
        ("m03", "track", "quickstart_completed", None, "auth0|ada", t(0, 10), {"language": "python"}),
        ("m04", "page", None, "anon_b", None, t(1, 13),
         {"path": "/pricing", "url": "https://acme.dev/pricing", "referrer": "https://www.producthunt.com/",
          "utm_source": "producthunt", "utm_medium": "referral", "utm_campaign": "launch"}),
        ("m05", "identify", None, "anon_b", "auth0|ben", t(1, 14, 1), {}),
        ("m06", "track", "webhook_endpoint_registered", None, "auth0|cat", t(12, 9), {"environment": "production"}),
        ("m07", "page", None, "anon_visitor", None, t(2, 17), {"path": "/docs", "url": "https://acme.dev/docs"}),
    ],
    # (event id, e-mail, campaign, event, time, url)
    "emails": [
        ("e01", "ada@acme.io", "welcome", "delivered", t(0, 9, 2), None),
        ("e02", "ada@acme.io", "welcome", "open", t(0, 9, 3), None),
        ("e03", "ada@acme.io", "welcome", "open", t(1, 8), None),
        ("e04", "ada@acme.io", "welcome", "open", t(2, 8), None),
        ("e05", "ada@acme.io", "welcome", "click", t(2, 8, 1), "https://acme.dev/docs/quickstart"),
        ("e06", "Ben@Acme.io", "welcome", "open", t(1, 15), None),
        ("e07", "cat@acme.io", "welcome", "delivered", t(9, 10, 2), None),
    ],
}
KONG_CREDENTIALS = {key: f"cred-{key}" for user in ACTIVITY["users"] for key, *_ in user["keys"]}
# analytics.js queues an event this long before sending it (the network takes no time, clocks agree:
# Segment's corrected time is then the event's own time, whichever field a reader takes it from)
SEGMENT_SEND_DELAY = timedelta(seconds=3)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def activity_as_landing(data: Path) -> None:
    """The activity written directly in landing format v1."""
    users, keys = [], []
    for user in ACTIVITY["users"]:
        users.append({"user_id": user["user_id"], "email": user["email"], "account_type": "organization" if user["org_id"] else "individual",
                      "created_at": iso(user["created_at"]), "email_verified": True}
                     | ({"org_id": user["org_id"]} if user["org_id"] else {}))
        for key_id, mode, created, revoked in user["keys"]:
            keys.append({"key_id": key_id, "user_id": user["user_id"], "mode": mode, "created_at": iso(created)}
                        | ({"org_id": user["org_id"]} if user["org_id"] else {})
                        | ({"revoked_at": iso(revoked)} if revoked else {}))
    requests = [
        {"request_id": rid, "timestamp": iso(when), "key_id": key, "method": method, "path": path, "status": status,
         "user_agent": agent, "latency_ms": latency}
        for rid, when, key, method, path, status, agent, latency in ACTIVITY["requests"]
    ]
    analytics = []
    for mid, call, event, anonymous_id, user_id, when, properties in ACTIVITY["analytics"]:
        sent = when + SEGMENT_SEND_DELAY
        record = {"message_id": mid, "type": call, "event": event, "anonymous_id": anonymous_id, "user_id": user_id,
                  "timestamp": iso(when), "sent_at": iso(sent), "received_at": iso(sent),
                  "properties": properties or None}
        analytics.append({k: v for k, v in record.items() if v is not None})
    emails = [
        {"event_id": eid, "email": email, "campaign": campaign, "event": event, "timestamp": iso(when)} | ({"url": url} if url else {})
        for eid, email, campaign, event, when, url in ACTIVITY["emails"]
    ]
    write_landing(data, {"auth_users": users, "api_keys": keys, "gateway_requests": requests,
                         "analytics_events": analytics, "email_events": emails})


def activity_as_vendor_files(folder: Path) -> dict[str, Path]:
    """The same activity as the vendors would have written it: format -> file or folder."""
    owner = {key: user for user in ACTIVITY["users"] for key, *_ in user["keys"]}
    (folder / "kong").mkdir(parents=True)
    for day in (0, 1):  # a rotated log and the current one
        entries = [
            kong_entry(rid, when, method, path, status, agent, KONG_CREDENTIALS[key], latency=latency)
            | {"consumer": {"id": f"consumer-{owner[key]['user_id']}", "username": owner[key]["email"]}}
            for rid, when, key, method, path, status, agent, latency in ACTIVITY["requests"]
            if (when < t(3, 0)) == (day == 0)
        ]
        name = "requests.log.1" if day == 0 else "requests.log"
        (folder / "kong" / name).write_text("".join(json.dumps(entry) + "\n" for entry in entries))

    def api_keys(user):
        return [{"key_id": key_id, "mode": mode, "created_at": zulu(created)} | ({"revoked_at": zulu(revoked)} if revoked else {})
                for key_id, mode, created, revoked in user["keys"]]

    auth0 = [
        {"user_id": user["user_id"], "email": user["email"], "email_verified": True, "created_at": zulu(user["created_at"]),
         "app_metadata": {"api_keys": api_keys(user)} | ({"org_id": user["org_id"]} if user["org_id"] else {})}
        for user in ACTIVITY["users"]
    ]
    (folder / "auth0-export.json").write_text("".join(json.dumps(user) + "\n" for user in auth0))

    messages = []
    for mid, call, event, anonymous_id, user_id, when, properties in ACTIVITY["analytics"]:
        sent = when + SEGMENT_SEND_DELAY
        message = {"type": call, "messageId": mid, "originalTimestamp": zulu(when), "sentAt": zulu(sent),
                   "receivedAt": zulu(sent), "timestamp": zulu(when), "version": 2}
        message |= {"anonymousId": anonymous_id} if anonymous_id else {}
        message |= {"userId": user_id} if user_id else {}
        if call == "track":
            message |= {"event": event, "properties": properties}
        if call == "page":
            utm = {key.removeprefix("utm_").replace("campaign", "name"): value
                   for key, value in properties.items() if key.startswith("utm_")}
            message["context"] = {"page": {key: properties[key] for key in ("path", "url", "referrer") if key in properties}}
            message["context"] |= {"campaign": utm} if utm else {}
            message["properties"] = {}
        messages.append(message)
    (folder / "segment.jsonl").write_text("".join(json.dumps(message) + "\n" for message in messages))

    (folder / "sendgrid").mkdir()
    events = [
        {"email": email, "timestamp": int(when.timestamp()), "event": event, "sg_event_id": eid, "category": campaign}
        | ({"url": url} if url else {})
        for eid, email, campaign, event, when, url in ACTIVITY["emails"]
    ]
    processed = {"email": "ada@acme.io", "timestamp": int(t(0, 9, 1).timestamp()), "event": "processed",
                 "sg_event_id": "e00", "category": "welcome"}
    (folder / "sendgrid" / "post-1.json").write_text(json.dumps([processed, *events[:4]]))
    (folder / "sendgrid" / "post-2.json").write_text(json.dumps(events[4:]))
    return {"kong": folder / "kong", "auth0": folder / "auth0-export.json", "segment": folder / "segment.jsonl",
            "sendgrid": folder / "sendgrid"}


def vendor_config(files: dict[str, Path]) -> dict:
    """`funnel run --config` settings naming the vendor files (what the README shows)."""
    return {"vendor_sources": [
        {"format": "kong", "path": str(files["kong"]), "options": {"key_map": {v: k for k, v in KONG_CREDENTIALS.items()}}},
        {"format": "auth0", "path": str(files["auth0"])},
        {"format": "segment", "path": str(files["segment"])},
        {"format": "sendgrid", "path": str(files["sendgrid"]), "options": {}},
    ]}


@pytest.fixture(scope="module")
def activity(tmp_path_factory, definitions):
    root = tmp_path_factory.mktemp("activity")
    files = activity_as_vendor_files(root / "vendor")
    config = vendor_config(files)

    direct = Pipeline(definitions, root / "direct")
    activity_as_landing(direct.data_dir)
    direct.run()

    converted = Pipeline(definitions, root / "converted")
    for source in config["vendor_sources"]:
        options = [f"--option={key}={json.dumps(value)}" for key, value in source.get("options", {}).items()]
        status, _, err = cli(["convert", "--format", source["format"], source["path"], "--out", str(converted.data_dir), *options])
        assert (status, err) == (0, "")
    converted.run()

    configured = root / "configured"
    config_file = root / "funnel.yaml"
    # the same (demo) pseudonym key as the Pipeline runs, so the marts compare
    config_file.write_text(yaml.safe_dump({**config, "allow_demo_key": True}))
    run = ["run", "--data", str(configured / "data"), "--warehouse", str(configured / "warehouse.duckdb"), "--config", str(config_file)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        first = cli(run)
        landing_after_first = {p: p.read_bytes() for p in (configured / "data").rglob("*") if p.is_file()}
        second = cli(run)
    return {"direct": direct, "converted": converted, "configured": configured, "runs": (first, second),
            "landing_after_first": landing_after_first}


def test_vendor_files_give_the_same_marts_as_the_same_activity_in_landing_format(activity):
    # every column, as_of included: both hold the same event times, so the data's as-of time is the same
    assert_same_marts(activity["direct"].root / "warehouse.duckdb", activity["converted"].root / "warehouse.duckdb")
    ttfac = activity["converted"].frame("select cohort_week, called, p50_s from mart_ttfac_by_cohort order by 1")
    # ada 10 min, ben 20 h (from 14:00 to 10:00 two days later); cat 1 h
    assert ttfac.to_dict("records") == [
        {"cohort_week": pd.Timestamp("2025-03-03"), "called": 2, "p50_s": (600 + 72000) / 2},
        {"cohort_week": pd.Timestamp("2025-03-10"), "called": 1, "p50_s": 3600.0},
    ]


def test_the_same_raw_rows_apart_from_their_files(activity):
    direct = tables(activity["direct"].root / "warehouse.duckdb", "raw_%")
    converted = tables(activity["converted"].root / "warehouse.duckdb", "raw_%")
    assert sorted(converted) == sorted(direct)
    for table in direct:
        pd.testing.assert_frame_equal(converted[table], direct[table], obj=table)
    assert len(direct["raw_gateway_requests"]) == 11


def test_run_with_vendor_sources_converts_them_and_gives_the_same_marts(activity):
    (status, out, err), _ = activity["runs"]
    assert (status, err) == (0, "")
    assert "vendor sources: 6 file(s) converted, 0 unchanged: analytics_events=7, api_keys=5, auth_users=4, " \
           "email_events=7, gateway_requests=11, rejected=1" in out
    assert_same_marts(activity["converted"].root / "warehouse.duckdb", activity["configured"] / "warehouse.duckdb")
    manifest = json.loads((activity["configured"] / "data" / MANIFEST).read_text())
    assert len(manifest["files"]) == 6


def test_a_second_run_appends_nothing(activity):
    _, (status, out, err) = activity["runs"]
    assert (status, err) == (0, "")
    assert "vendor sources: 0 file(s) converted, 6 unchanged" in out
    data = activity["configured"] / "data"
    now = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    assert now == activity["landing_after_first"]
    con = duckdb.connect(str(activity["configured"] / "warehouse.duckdb"), read_only=True)
    try:
        counts = con.execute(
            "select (select count(*) from raw_gateway_requests), (select count(*) from quarantine)"
        ).fetchone()
    finally:
        con.close()
    assert counts == (11, 0)
    assert_same_marts(activity["converted"].root / "warehouse.duckdb", activity["configured"] / "warehouse.duckdb")


# --- part 4: the schedule and the late-file sensor convert the vendor sources too ---------------


def _vendor_resource(root: Path, config: dict):
    from funnel_assets.defs.resources import FunnelResource

    return FunnelResource.from_settings(
        {"data_dir": str(root / "data"), "warehouse_path": str(root / "warehouse.duckdb"), **config})


def _execute(definitions, request, resource, instance):
    from funnel_assets.orchestration.launch import WeeksRun

    result = WeeksRun.from_request(request).execute(definitions, {"funnel": resource}, instance)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert instance.get_run_by_id(result.run_id).job_name == "funnel_weekly_job"
    return result


def test_a_schedule_tick_converts_the_vendor_sources_before_it_ingests_the_week(tmp_path, definitions):
    import dagster as dg

    from funnel_assets.defs.automation.schedules import funnel_weekly_job_schedule

    resource = _vendor_resource(tmp_path, vendor_config(activity_as_vendor_files(tmp_path / "vendor")))
    tick = datetime(2025, 3, 10, 6, tzinfo=UTC)  # the week of 2025-03-03 has just closed
    with dg.instance_for_test() as instance:
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick,
                                       repository_def=definitions.get_repository_def(),
                                       resources={"funnel": resource}) as context:
            sources, *_ = funnel_weekly_job_schedule(context)
        assert "vendor_landing_files" in {k.to_user_string() for k in sources.asset_selection}
        _execute(definitions, sources, resource, instance)
    in_week = [r for r in ACTIVITY["requests"] if W0 <= r[1] < W0 + timedelta(days=7)]
    gateway = tables(tmp_path / "warehouse.duckdb", "raw_gateway_requests")["raw_gateway_requests"]
    assert in_week and sorted(gateway.request_id) == sorted(r[0] for r in in_week)
    assert len(json.loads((tmp_path / "data" / MANIFEST).read_text())["files"]) == 6


def test_the_late_file_sensor_converts_new_vendor_files_then_ingests_them(tmp_path, definitions, activity):
    import dagster as dg

    from funnel_assets.defs.automation.sensors import late_landing_files_sensor

    resource = _vendor_resource(tmp_path, vendor_config(activity_as_vendor_files(tmp_path / "vendor")))

    def tick(cursor):
        with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=definitions,
                                     resources={"funnel": resource}) as context:
            return late_landing_files_sensor(context)

    with dg.instance_for_test() as instance:
        first = tick(None)  # nothing landed yet: a run converts the vendor files
        assert [r.tags["funnel/slice"] for r in first.run_requests] == ["vendor"]
        _execute(definitions, first.run_requests[0], resource, instance)
        settled = time.time() - 600  # the sensor leaves files written in the last minute for later
        for path in (tmp_path / "data" / "landing").rglob("*.jsonl"):
            os.utime(path, (settled, settled))
        second = tick(first.cursor)  # the landing files they became are late files of closed weeks
        assert [r.tags["funnel/slice"] for r in second.run_requests] == ["sources", "cohorts"]
        _execute(definitions, second.run_requests[0], resource, instance)
        assert tick(second.cursor).run_requests == []
    # the same raw rows as `funnel run --config` with the same vendor sources
    configured = tables(activity["configured"] / "warehouse.duckdb", "raw_%")
    sensed = tables(tmp_path / "warehouse.duckdb", "raw_%")
    assert sorted(sensed) == sorted(configured)
    for table in configured:
        pd.testing.assert_frame_equal(sensed[table], configured[table], obj=table)
    assert len(sensed["raw_gateway_requests"]) == 11
