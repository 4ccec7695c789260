"""Amplitude raw events (Export API / S3 export JSON lines, HTTP API events) -> analytics_events.

Ids: `device_id` is the anonymous id, `user_id` the user id; an event with
both stitches them. Message id: `uuid` (export), else `$insert_id` /
`insert_id`, else a hash of the event.

Time: Amplitude's `event_time` is already the corrected time
(`client_event_time + (server_received_time - client_upload_time)`), so it
is the landing `timestamp`, and `sent_at` / `received_at` are left out so
that ingestion does not correct it a second time; `client_event_time` is
kept as `original_timestamp`. Export times carry no offset and are UTC. An
HTTP API event without `event_time` uses `time` (epoch milliseconds).

Types: `[Amplitude] Page Viewed` (Browser SDK 2) and `Page View` (its v1
naming) are pages, `$identify` an identify, anything else a track. Page
properties come from `[Amplitude] Page Location` / `page_location` (url, with
the query, so utm_* can be read from it), `... Page Path`, `... Page Title`;
the referrer and utm_* fall back to the user properties Amplitude's
attribution sets. Other `[Amplitude] ...` properties are not copied.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from funnel_assets.lib.adapters.base import (
    UTM_KEYS,
    Adapter,
    Converted,
    RecordError,
    Rejected,
    content_id,
    first_present,
    iso,
    iso_or_none,
    json_object,
    page_properties,
    require,
    run,
    text,
    to_utc,
)
from funnel_assets.lib.adapters.readers import flatten, read_json

PAGE_EVENTS = ("[Amplitude] Page Viewed", "Page View")
PAGE_KEYS = {
    "url": ("[Amplitude] Page Location", "page_location", "[Amplitude] Page URL", "page_url"),
    "path": ("[Amplitude] Page Path", "page_path"),
    "title": ("[Amplitude] Page Title", "page_title"),
}
PAGE_SOURCES = {source for sources in PAGE_KEYS.values() for source in sources}
SDK_PREFIX = "[Amplitude] "


def convert(path: Path, options: dict) -> Iterator[Converted | Rejected]:
    events = flatten(read_json(path), lambda value: value.get("events") if isinstance(value, dict) else None)
    return run(path, events, lambda event: [("analytics_events", _event(event))])


def _event(event: Any) -> dict:
    if not isinstance(event, dict):
        raise RecordError(None, "an Amplitude event should be a JSON object")
    name = require(event, "event_type")
    kind = "page" if name in PAGE_EVENTS else "identify" if name == "$identify" else "track"
    anonymous_id, user_id = text(event.get("device_id"), "device_id"), text(event.get("user_id"), "user_id")
    if not anonymous_id and not user_id:
        raise RecordError("user_id", "the event has neither device_id nor user_id")
    timestamp = to_utc(event.get("event_time") or require(event, "time", "event_time"), "event_time")
    client = iso_or_none(event.get("client_event_time"), "client_event_time")
    message_id = first_present(event, ("uuid", "$insert_id", "insert_id"))
    return {
        "message_id": text(message_id, "uuid") or content_id("amplitude", event),
        "type": kind,
        "event": name if kind == "track" else None,
        "anonymous_id": anonymous_id,
        "user_id": user_id,
        "timestamp": iso(timestamp),
        "properties": _properties(event) or None,
        "original_timestamp": client if client != iso(timestamp) else None,
        "original_type": name if kind != "track" else None,
    }


def _properties(event: dict) -> dict:
    own = json_object(event.get("event_properties"), "event_properties")
    user = json_object(event.get("user_properties"), "user_properties")
    mapped = {target: first_present(own, sources) for target, sources in PAGE_KEYS.items()}
    mapped["referrer"] = own.get("referrer") or user.get("referrer")
    mapped.update({key: own.get(key) or user.get(key) for key in UTM_KEYS})
    kept = {key: value for key, value in own.items() if not key.startswith(SDK_PREFIX) and key not in PAGE_SOURCES}
    return page_properties({**{key: value for key, value in mapped.items() if value is not None}, **kept})


ADAPTER = Adapter(
    name="amplitude",
    sources=("analytics_events",),
    convert=convert,
    description="Amplitude Export API / S3 export JSON lines and HTTP API events",
)
