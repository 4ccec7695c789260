"""Mixpanel raw event export (`/api/2.0/export` JSON lines, `/import` payloads) -> analytics_events.

Ids (Simplified ID Merge): `$user_id` is the user id and `$device_id` the
anonymous id. Without `$user_id`, `distinct_id` is the user id unless it is
the device (`$device:<id>` or equal to `$device_id`) - the Original ID Merge
case, and server-side events that send only `distinct_id`. `$identify` links
`$anon_distinct_id` to `$identified_id`; `$create_alias` links `distinct_id`
to `alias`. A `$device:<id>` distinct id is written as the bare device id, so
the links and the events' `$device_id` agree.

Time: `properties.time` is an epoch (seconds, or milliseconds with
`time_in_ms`). Projects created before 2023 export it shifted into the
project's time zone; set `project_timezone` (an IANA name, default UTC) to
undo that. `mp_processing_time_ms` (a true UTC epoch) becomes `received_at`.
Message id: `$insert_id`, else a hash of the event.

Types: `$mp_web_page_view` is a page, `$identify` / `$create_alias`
identifies, anything else a track. Properties: `$current_url`,
`current_url_path`, `current_page_title`, `$referrer` (`$direct` = none) and
utm_* are mapped; Mixpanel's `$`/`mp_` properties are not copied, yours are.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from funnel_assets.lib.adapters.base import (
    UTM_KEYS,
    Adapter,
    Converted,
    RecordError,
    Rejected,
    content_id,
    iso,
    iso_or_none,
    json_object,
    page_properties,
    require,
    run,
    text,
    to_utc,
)
from funnel_assets.lib.adapters.readers import read_json

IDENTIFY_EVENTS = ("$identify", "$create_alias")
DEVICE_PREFIX = "$device:"
PAGE_KEYS = {"url": "$current_url", "path": "current_url_path", "title": "current_page_title"}
NOT_PROPERTIES = (
    "time",
    "distinct_id",
    "token",
    "current_url_path",
    "current_page_title",
    "current_domain",
    "current_url_search",
    "current_url_protocol",
)


def convert(path: Path, options: dict) -> Iterator[Converted | Rejected]:
    zone = ZoneInfo(options.get("project_timezone", "UTC"))
    return run(path, read_json(path), lambda event: [("analytics_events", _event(event, zone))])


def _event(event: Any, zone: ZoneInfo) -> dict:
    if not isinstance(event, dict):
        raise RecordError(None, "a Mixpanel event should be a JSON object")
    name = require(event, "event")
    properties = json_object(require(event, "properties"), "properties")
    kind = "page" if name == "$mp_web_page_view" else "identify" if name in IDENTIFY_EVENTS else "track"
    anonymous_id, user_id = _ids(name, properties)
    return {
        "message_id": text(properties.get("$insert_id"), "properties.$insert_id") or content_id("mixpanel", event),
        "type": kind,
        "event": name if kind == "track" else None,
        "anonymous_id": anonymous_id,
        "user_id": user_id,
        "timestamp": iso(_project_time(require(properties, "time", "properties.time"), zone)),
        "received_at": iso_or_none(properties.get("mp_processing_time_ms"), "properties.mp_processing_time_ms"),
        "properties": _properties(properties) or None,
        "original_type": name if kind != "track" else None,
    }


def _project_time(value: Any, zone: ZoneInfo) -> datetime:
    """An epoch that Mixpanel wrote as the project's wall-clock time, as a true UTC time."""
    wall_clock = to_utc(value, "properties.time").replace(tzinfo=None)
    return wall_clock.replace(tzinfo=zone).astimezone(UTC)


def _ids(name: str, properties: dict) -> tuple[str | None, str | None]:
    def field(key: str) -> str | None:
        return text(properties.get(key), f"properties.{key}")

    if name == "$identify":
        return _device(field("$anon_distinct_id")), field("$identified_id") or field("distinct_id")
    if name == "$create_alias":
        return _device(field("distinct_id")), text(require(properties, "alias", "properties.alias"), "properties.alias")
    user_id, device_id, distinct_id = field("$user_id"), field("$device_id"), field("distinct_id")
    if distinct_id and distinct_id.startswith(DEVICE_PREFIX):
        device_id = device_id or _device(distinct_id)
    elif distinct_id and not user_id and distinct_id != device_id:
        user_id = distinct_id
    if not user_id and not device_id:
        raise RecordError("properties.distinct_id", "the event has no distinct_id, $user_id or $device_id")
    return device_id, user_id


def _device(distinct_id: str | None) -> str | None:
    """The device id inside a `$device:<id>` distinct id, so it matches the events' `$device_id`."""
    return distinct_id.removeprefix(DEVICE_PREFIX) if distinct_id else None


def _properties(properties: dict) -> dict:
    mapped = {target: properties.get(source) for target, source in PAGE_KEYS.items()}
    referrer = properties.get("$referrer")
    mapped["referrer"] = "" if referrer == "$direct" else referrer
    mapped.update({key: properties.get(key) for key in UTM_KEYS})
    own = {
        key: value
        for key, value in properties.items()
        if not key.startswith(("$", "mp_")) and key not in NOT_PROPERTIES
    }
    return page_properties({**{key: value for key, value in mapped.items() if value is not None}, **own})


ADAPTER = Adapter(
    name="mixpanel",
    sources=("analytics_events",),
    convert=convert,
    options=("project_timezone",),
    description="Mixpanel raw event export (JSON lines) and import payloads",
)
