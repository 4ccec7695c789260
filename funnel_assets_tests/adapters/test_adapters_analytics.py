"""Analytics adapters (Segment, PostHog, Amplitude, Mixpanel) on the vendors' samples and hand-written events."""

from __future__ import annotations

import json
import re
from pathlib import Path


from funnel_assets_tests.adapters.helpers import SAMPLES, convert, needs_samples, rejection, write
from funnel_assets.lib.adapters import Converted


def ndjson(tmp_path: Path, events: list) -> Path:
    return write(tmp_path, "events.jsonl", "\n".join(event if isinstance(event, str) else json.dumps(event) for event in events) + "\n")


def records(items: list) -> list[dict]:
    assert all(isinstance(item, Converted) and item.source == "analytics_events" for item in items), items
    return [item.record for item in items]


# --- Segment --------------------------------------------------------------------------


@needs_samples


def test_segment_track_sample_keeps_the_client_clock_for_ingestion_to_correct():
    [record] = records(convert("segment", SAMPLES / "segment" / "track_complete.json"))
    assert record == {
        "message_id": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
        "type": "track",
        "event": "Course Clicked",
        "anonymous_id": "23adfd82-aa0f-45a7-a756-24f2a7a4c895",
        "user_id": "AiUGstSDIg",
        # the client's clock (originalTimestamp); ingestion corrects it with sent_at and received_at
        "timestamp": "2015-12-12T19:11:01.152000+00:00",
        "sent_at": "2015-12-12T19:11:01.169000+00:00",
        "received_at": "2015-12-12T19:11:01.266000+00:00",
        "properties": {"path": "/academy/", "url": "https://segment.com/academy/", "referrer": "", "search": "", "title": "Intro to Analytics"},
    }


SEGMENT_SHARED = {
    "message_id": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    "anonymous_id": "507f191e810c19729de860ea",
    "user_id": "97980cfea0067",
    # no originalTimestamp: the message's timestamp is the client's clock
    "timestamp": "2015-02-23T22:28:55.111000+00:00",
    "sent_at": "2015-02-23T22:28:55.111000+00:00",
    "received_at": "2015-02-23T22:28:55.387000+00:00",
}


@needs_samples


def test_segment_page_sample_reads_path_from_the_url():
    [record] = records(convert("segment", SAMPLES / "segment" / "page_complete.json"))
    assert record == {
        **SEGMENT_SHARED,
        "type": "page",
        "properties": {"title": "Welcome | Initech", "url": "http://www.example.com", "name": "Home", "path": "/"},
    }


@needs_samples


def test_segment_identify_sample_links_both_ids_and_drops_the_traits():
    [record] = records(convert("segment", SAMPLES / "segment" / "identify_complete.json"))
    assert record == {**SEGMENT_SHARED, "type": "identify"}


@needs_samples


def test_segment_group_sample_is_an_identify_with_the_group_id():
    [record] = records(convert("segment", SAMPLES / "segment" / "group_complete.json"))
    assert record == {**SEGMENT_SHARED, "type": "identify", "properties": {"group_id": "0e8c78ea9d97a7b8185e8632"}, "original_type": "group"}


@needs_samples


def test_segment_common_fields_sample_is_a_track_without_a_name():
    [item] = convert("segment", SAMPLES / "segment" / "common_fields_track.json")
    assert rejection(item) == (1, "event", "event is missing")


@needs_samples


def test_segment_common_fields_campaign_and_page_context_become_properties(tmp_path):
    message = json.loads((SAMPLES / "segment" / "common_fields_track.json").read_text())
    message["event"] = "Docs Viewed"
    [record] = records(convert("segment", write(tmp_path, "m.json", json.dumps(message))))
    assert record["properties"] == {
        "path": "/academy/",
        "url": "https://segment.com/academy/",
        "referrer": "",
        "search": "",
        "title": "Analytics Academy",
        "utm_source": "Newsletter",
        "utm_medium": "email",
        "utm_campaign": "TPS Innovation Newsletter",
        "utm_term": "tps reports",
        "utm_content": "image link",
    }
    # this docs example's timestamp (.905) is already Segment's corrected time, after its sentAt (.581):
    # by default it is read as the client's clock, with sent_at and received_at for ingestion to correct;
    # the option keeps it as the final time and leaves those two out so it is not corrected twice
    assert record["timestamp"] == "2015-12-10T04:08:31.905000+00:00" and record.get("sent_at") is not None
    [kept] = records(convert("segment", write(tmp_path, "m.json", json.dumps(message)), timestamp_already_corrected=True))
    assert kept["timestamp"] == "2015-12-10T04:08:31.905000+00:00"
    assert kept.get("sent_at") is None and kept.get("received_at") is None


def test_segment_version_as_integer_or_string_converts_alike(tmp_path):
    base = {"type": "track", "event": "quickstart_completed", "messageId": "m", "userId": "u_1", "timestamp": "2026-03-02T10:00:00Z"}
    items = convert("segment", ndjson(tmp_path, [{**base, "version": 2}, {**base, "version": "1.1"}, base]))
    expected = {"message_id": "m", "type": "track", "event": "quickstart_completed", "user_id": "u_1", "timestamp": "2026-03-02T10:00:00+00:00"}
    assert records(items) == [expected] * 3


def test_segment_alias_links_previous_id_to_user_id(tmp_path):
    alias = {"type": "alias", "messageId": "a-1", "previousId": "anon-7", "userId": "user_42", "timestamp": "2026-03-02T10:00:00+01:00"}
    [record] = records(convert("segment", ndjson(tmp_path, [alias])))
    assert record == {
        "message_id": "a-1",
        "type": "identify",
        "anonymous_id": "anon-7",
        "user_id": "user_42",
        "timestamp": "2026-03-02T09:00:00+00:00",
        "original_type": "alias",
    }


def test_segment_http_api_batch_and_screen_calls(tmp_path):
    batch = {
        "sentAt": "2026-03-02T10:00:05Z",
        "batch": [
            {
                "type": "screen",
                "name": "Quickstart",
                "messageId": "s-1",
                "anonymousId": "anon-1",
                "timestamp": "2026-03-02T10:00:00Z",
                "receivedAt": "2026-03-02T10:00:07Z",
            },
            {
                "type": "page",
                "messageId": "p-1",
                "anonymousId": "anon-1",
                "timestamp": "2026-03-02T10:00:01Z",
                "properties": {"url": "https://acme.dev/docs/start?utm_source=github&utm_medium=referral"},
            },
        ],
    }
    screen, page = records(convert("segment", write(tmp_path, "batch.json", json.dumps(batch))))
    assert screen == {
        "message_id": "s-1",
        "type": "page",
        "anonymous_id": "anon-1",
        "timestamp": "2026-03-02T10:00:00+00:00",
        "sent_at": "2026-03-02T10:00:05+00:00",
        "received_at": "2026-03-02T10:00:07+00:00",
        "properties": {"name": "Quickstart"},
        "original_type": "screen",
    }
    assert page["properties"] == {
        "url": "https://acme.dev/docs/start?utm_source=github&utm_medium=referral",
        "path": "/docs/start",
        "utm_source": "github",
        "utm_medium": "referral",
    }
    assert page["timestamp"] == "2026-03-02T10:00:01+00:00" and page["sent_at"] == "2026-03-02T10:00:05+00:00"


def test_segment_malformed_messages_name_line_and_field(tmp_path):
    base = {"type": "page", "messageId": "m", "anonymousId": "a", "timestamp": "2026-03-02T10:00:00Z"}
    items = convert(
        "segment",
        ndjson(
            tmp_path,
            [
                '{"type": "page", "messageId": "m1",, }',
                {key: value for key, value in base.items() if key != "messageId"},
                {**base, "userId": {"id": 1}},
                {**base, "type": "ping"},
                {**base, "anonymousId": None},
                {**base, "timestamp": 1700000000, "properties": ["not", "an", "object"]},
            ],
        ),
    )
    assert [rejection(item) for item in items] == [
        (1, None, "invalid JSON: Expecting property name enclosed in double quotes"),
        (2, "messageId", "messageId is missing"),
        (3, "userId", "userId should be a string, got dict {'id': 1}"),
        (4, "type", "call type 'ping' is not one of ['alias', 'group', 'identify', 'page', 'screen', 'track']"),
        (5, "userId", "the message has neither anonymousId nor userId"),
        (6, "properties", "properties should be an object"),
    ]


# --- PostHog ---------------------------------------------------------------------------


@needs_samples


def test_posthog_batch_import_fixture_pageviews():
    assert records(convert("posthog", SAMPLES / "posthog" / "batch_import_jsonl_fixture.jsonl")) == [
        {
            "message_id": "posthog-sha1-daf854092ebd26fc4beccaffb5f4fcf3",
            "type": "page",
            "user_id": "user1",
            "timestamp": "2024-01-01T00:00:00+00:00",
            "properties": {"url": "https://example.com", "path": "/"},
            "original_type": "$pageview",
        },
        {
            "message_id": "posthog-sha1-7d81c2390a8f18f3d22c9725e5a3f886",
            "type": "page",
            "user_id": "user2",
            "timestamp": "2024-01-01T00:01:00+00:00",
            "properties": {"url": "https://example.com/about", "path": "/about"},
            "original_type": "$pageview",
        },
    ]


@needs_samples


def test_posthog_capture_docs_example_with_placeholder_timestamp_is_rejected():
    [item] = convert("posthog", SAMPLES / "posthog" / "capture_api_single_event.json")
    assert rejection(item) == (1, "timestamp", "timestamp '[optional timestamp in ISO 8601 format]' is not a timestamp")


@needs_samples


def test_posthog_js_default_properties_example(tmp_path):
    # the docs give posthog-js's default properties as a JavaScript object literal: made JSON here
    literal = (SAMPLES / "posthog" / "posthog_js_default_properties_example.js").read_text()
    body = "\n".join(line for line in literal.splitlines() if not line.startswith("//"))
    properties = json.loads(re.sub(r"^(\$?\w+):", r'"\1":', body.replace("'", '"'), flags=re.MULTILINE))
    event = {"uuid": "u-1", "event": "$pageview", "distinct_id": "user_42", "timestamp": properties["$timestamp"], "properties": properties}
    [record] = records(convert("posthog", write(tmp_path, "e.json", json.dumps(event))))
    assert record == {
        "message_id": "u-1",
        "type": "page",
        "user_id": "user_42",
        "timestamp": "2024-05-29T17:32:07.202000+00:00",
        "properties": {
            "url": "https://example.com/page",
            "path": "/page",
            "referrer": "https://google.com",
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": "product_launch",
            "utm_term": "new+product",
            "utm_content": "logolink",
        },
        "original_type": "$pageview",
    }


def test_posthog_identify_anonymous_and_identified_events(tmp_path):
    device = "0191a5c1-aaaa-7000-8000-000000000001"
    pageview_properties = {
        "$current_url": "https://acme.dev/pricing?utm_medium=cpc",
        "$pathname": "/pricing",
        "$referrer": "$direct",
        "$is_identified": False,
        "$device_id": device,
        "$browser": "Chrome",
        "$ip": "203.0.113.9",
    }
    events = [
        {
            "uuid": "e-1",
            "event": "$pageview",
            "distinct_id": device,
            "timestamp": "2026-03-02T09:00:00.000000Z",
            "created_at": "2026-03-02T09:00:01.500000Z",
            "properties": pageview_properties,
        },
        {
            "uuid": "e-2",
            "event": "$identify",
            "distinct_id": "user_42",
            "timestamp": "2026-03-02T09:05:00Z",
            "properties": {"$anon_distinct_id": device, "$set": {"email": "ada@acme.io"}},
        },
        {
            "uuid": "e-3",
            "event": "quickstart_completed",
            "distinct_id": "user_42",
            "timestamp": "2026-03-02T09:30:00Z",
            "properties": {"$is_identified": True, "$device_id": device, "language": "python"},
        },
        {"uuid": "e-4", "event": "$create_alias", "distinct_id": "anon-x", "timestamp": "2026-03-02T09:31:00Z", "properties": {"alias": "user_43"}},
        {
            "uuid": "e-5",
            "event": "webhook_endpoint_registered",
            "distinct_id": "user_42",
            "timestamp": "2026-03-02T09:40:00Z",
            "properties": '{"environment": "production"}',
        },
    ]
    assert records(convert("posthog", ndjson(tmp_path, events))) == [
        {
            "message_id": "e-1",
            "type": "page",
            "anonymous_id": device,
            "timestamp": "2026-03-02T09:00:00+00:00",
            "received_at": "2026-03-02T09:00:01.500000+00:00",
            "properties": {"url": "https://acme.dev/pricing?utm_medium=cpc", "path": "/pricing", "referrer": "", "utm_medium": "cpc"},
            "original_type": "$pageview",
        },
        {
            "message_id": "e-2",
            "type": "identify",
            "anonymous_id": device,
            "user_id": "user_42",
            "timestamp": "2026-03-02T09:05:00+00:00",
            "original_type": "$identify",
        },
        {
            "message_id": "e-3",
            "type": "track",
            "event": "quickstart_completed",
            "anonymous_id": device,
            "user_id": "user_42",
            "timestamp": "2026-03-02T09:30:00+00:00",
            "properties": {"language": "python"},
        },
        {
            "message_id": "e-4",
            "type": "identify",
            "anonymous_id": "anon-x",
            "user_id": "user_43",
            "timestamp": "2026-03-02T09:31:00+00:00",
            "original_type": "$create_alias",
        },
        {
            "message_id": "e-5",
            "type": "track",
            "event": "webhook_endpoint_registered",
            "user_id": "user_42",
            "timestamp": "2026-03-02T09:40:00+00:00",
            "properties": {"environment": "production"},
        },
    ]


def test_posthog_capture_batch_payload_and_malformed_events(tmp_path):
    payload = {"api_key": "phc_public", "batch": [{"event": "signup_started", "distinct_id": "d-1", "timestamp": "2026-03-02T09:00:00Z"}]}
    lines = [
        json.dumps(payload),
        '{"event": "x", "distinct_id": }',
        json.dumps({"event": "x", "timestamp": "2026-03-02T09:00:00Z"}),
        json.dumps({"event": "x", "distinct_id": "d", "timestamp": "2026-03-02T09:00:00Z", "properties": "{oops"}),
    ]
    items = convert("posthog", write(tmp_path, "ph.json", "\n".join(lines)))
    assert items[0] == Converted(
        "analytics_events",
        {
            "message_id": "posthog-sha1-488e41a56ef9f4dc185efa06fe096466",
            "type": "track",
            "event": "signup_started",
            "user_id": "d-1",
            "timestamp": "2026-03-02T09:00:00+00:00",
        },
    )
    assert [rejection(item) for item in items[1:]] == [
        (2, None, "invalid JSON: Expecting value"),
        (3, "distinct_id", "distinct_id is missing"),
        (4, "properties", "properties is not valid JSON"),
    ]


# --- Amplitude ------------------------------------------------------------------------


def test_amplitude_export_lines(tmp_path):
    page_viewed = {
        "uuid": "9b2f5c1e-1111-4c7a-9d1e-000000000001",
        "event_type": "[Amplitude] Page Viewed",
        "device_id": "dev-1",
        "user_id": None,
        "event_time": "2026-03-02 09:00:00.250000",
        "client_event_time": "2026-03-02 09:00:03.000000",
        "client_upload_time": "2026-03-02 09:00:05.000000",
        "server_received_time": "2026-03-02 09:00:02.250000",
        "event_properties": {
            "[Amplitude] Page Location": "https://acme.dev/docs/auth?utm_source=google&utm_medium=cpc",
            "[Amplitude] Page Path": "/docs/auth",
            "[Amplitude] Page Title": "Auth",
            "[Amplitude] Page Domain": "acme.dev",
        },
        "user_properties": {"referrer": "https://www.google.com/"},
    }
    events = [
        page_viewed,
        {
            "$insert_id": "ins-2",
            "event_type": "quickstart_completed",
            "user_id": "user_42",
            "device_id": "dev-1",
            "event_time": "2026-03-02 10:00:00.000000",
            "event_properties": {"language": "go"},
        },
        {"event_type": "$identify", "user_id": "user_42", "time": 1772442000000},
        {"event_type": "x", "event_time": "2026-03-02 10:00:00"},
        "not json",
    ]
    items = convert("amplitude", ndjson(tmp_path, events))
    assert records(items[:3]) == [
        {
            "message_id": "9b2f5c1e-1111-4c7a-9d1e-000000000001",
            "type": "page",
            "anonymous_id": "dev-1",
            "timestamp": "2026-03-02T09:00:00.250000+00:00",
            "properties": {
                "url": "https://acme.dev/docs/auth?utm_source=google&utm_medium=cpc",
                "path": "/docs/auth",
                "title": "Auth",
                "referrer": "https://www.google.com/",
                "utm_source": "google",
                "utm_medium": "cpc",
            },
            "original_timestamp": "2026-03-02T09:00:03+00:00",
            "original_type": "[Amplitude] Page Viewed",
        },
        {
            "message_id": "ins-2",
            "type": "track",
            "event": "quickstart_completed",
            "anonymous_id": "dev-1",
            "user_id": "user_42",
            "timestamp": "2026-03-02T10:00:00+00:00",
            "properties": {"language": "go"},
        },
        {
            "message_id": "amplitude-sha1-ffdeb17afcb75da7bfca6c2e92401208",
            "type": "identify",
            "user_id": "user_42",
            "timestamp": "2026-03-02T09:00:00+00:00",
            "original_type": "$identify",
        },
    ]
    assert [rejection(item) for item in items[3:]] == [
        (4, "user_id", "the event has neither device_id nor user_id"),
        (5, None, "invalid JSON: Expecting value"),
    ]


# --- Mixpanel --------------------------------------------------------------------------


def test_mixpanel_export_lines_with_simplified_id_merge(tmp_path):
    page_view = {
        "time": 1772442000,
        "distinct_id": "$device:d-9",
        "$device_id": "d-9",
        "$insert_id": "i-1",
        "mp_processing_time_ms": 1772442001234,
        "$current_url": "https://acme.dev/signup?utm_campaign=launch",
        "current_url_path": "/signup",
        "current_page_title": "Sign up",
        "current_domain": "acme.dev",
        "$referrer": "https://www.producthunt.com/",
        "utm_campaign": "launch",
        "$browser": "Firefox",
        "mp_lib": "web",
    }
    identify = {"time": 1772442060, "distinct_id": "user_42", "$anon_distinct_id": "$device:d-9", "$identified_id": "user_42", "$insert_id": "i-2"}
    key_created = {
        "time": 1772442120,
        "distinct_id": "user_42",
        "$user_id": "user_42",
        "$device_id": "d-9",
        "$insert_id": "i-3",
        "mode": "test",
        "token": "project-token",
    }
    events = [
        {"event": "$mp_web_page_view", "properties": page_view},
        {"event": "$identify", "properties": identify},
        {"event": "API Key Created", "properties": key_created},
        {"event": "Server Event", "properties": {"time": 1772442180, "distinct_id": "user_43", "$insert_id": "i-4"}},
        {"event": "No Id", "properties": {"time": 1772442180}},
        {"event": "No Time", "properties": {"distinct_id": "user_43"}},
    ]
    items = convert("mixpanel", ndjson(tmp_path, events))
    assert records(items[:4]) == [
        {
            "message_id": "i-1",
            "type": "page",
            "anonymous_id": "d-9",
            "timestamp": "2026-03-02T09:00:00+00:00",
            "received_at": "2026-03-02T09:00:01.234000+00:00",
            "properties": {
                "url": "https://acme.dev/signup?utm_campaign=launch",
                "path": "/signup",
                "title": "Sign up",
                "referrer": "https://www.producthunt.com/",
                "utm_campaign": "launch",
            },
            "original_type": "$mp_web_page_view",
        },
        {
            "message_id": "i-2",
            "type": "identify",
            "anonymous_id": "d-9",  # `$device:d-9`, written like the page view's device id
            "user_id": "user_42",
            "timestamp": "2026-03-02T09:01:00+00:00",
            "original_type": "$identify",
        },
        {
            "message_id": "i-3",
            "type": "track",
            "event": "API Key Created",
            "anonymous_id": "d-9",
            "user_id": "user_42",
            "timestamp": "2026-03-02T09:02:00+00:00",
            "properties": {"mode": "test"},
        },
        {"message_id": "i-4", "type": "track", "event": "Server Event", "user_id": "user_43", "timestamp": "2026-03-02T09:03:00+00:00"},
    ]
    assert [rejection(item) for item in items[4:]] == [
        (5, "properties.distinct_id", "the event has no distinct_id, $user_id or $device_id"),
        (6, "properties.time", "properties.time is missing"),
    ]


def test_mixpanel_project_timezone_undoes_the_legacy_shift(tmp_path):
    # 09:00 wall clock in Los Angeles (PST, UTC-8) written as if it were UTC
    event = {"event": "Signed Up", "properties": {"time": 1772442000, "distinct_id": "u", "$insert_id": "i"}}
    [record] = records(convert("mixpanel", ndjson(tmp_path, [event]), project_timezone="America/Los_Angeles"))
    assert record["timestamp"] == "2026-03-02T17:00:00+00:00"
