"""PostHog events (batch export JSONLines, capture / batch API payloads) -> analytics_events.

Ids: PostHog has one id per event, `distinct_id`, anonymous before
`identify()` and your user id after.
- `$identify`: `distinct_id` is the user id and `$anon_distinct_id` the
  anonymous id it replaces: an identify record linking both.
- `$create_alias`: links `distinct_id` (as anonymous id) to `alias` (as user id).
- any other event: anonymous when posthog-js marked it `$is_identified: false`
  (or, without that flag, when `distinct_id` is the `$device_id`); otherwise
  `distinct_id` is the user id and a different `$device_id` is kept as the
  anonymous id, which stitches the device to the user. Server-side events
  carry no flag and are taken as identified.

Types: `$pageview` / `$screen` are pages, `$identify` / `$create_alias`
identifies, every other event a track under its own name. Time: PostHog
already corrects client clock skew at ingestion, so `timestamp` is used as
exported; `created_at` (ingestion) becomes `received_at`. The message id is
the event `uuid`, or a hash of the event when a capture payload has none.
Properties: `$current_url`, `$pathname`, `$referrer` (`$direct` = none) and
utm_* are mapped; PostHog's other `$` properties (browser, IP, person
updates) are not copied; your own properties are.
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
    boolean,
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
from funnel_assets.lib.adapters.readers import flatten, read_json

PAGE_EVENTS = ("$pageview", "$screen")
IDENTIFY_EVENTS = ("$identify", "$create_alias")
ID_PROPERTIES = ("alias", "distinct_id", "token")  # consumed as ids, or the project token


def convert(path: Path, options: dict) -> Iterator[Converted | Rejected]:
    events = flatten(read_json(path), lambda value: value.get("batch") if isinstance(value, dict) else None)
    return run(path, events, lambda event: [("analytics_events", _event(event))])


def _event(event: Any) -> dict:
    if not isinstance(event, dict):
        raise RecordError(None, "a PostHog event should be a JSON object")
    name = require(event, "event")
    properties = json_object(event.get("properties"), "properties")
    kind = "page" if name in PAGE_EVENTS else "identify" if name in IDENTIFY_EVENTS else "track"
    anonymous_id, user_id = _ids(event, name, properties)
    return {
        "message_id": text(event.get("uuid"), "uuid") or content_id("posthog", event),
        "type": kind,
        "event": name if kind == "track" else None,
        "anonymous_id": anonymous_id,
        "user_id": user_id,
        "timestamp": iso(to_utc(require(event, "timestamp"), "timestamp")),
        "sent_at": iso_or_none(event.get("sent_at"), "sent_at"),
        "received_at": iso_or_none(event.get("created_at"), "created_at"),
        "properties": _properties(properties) or None,
        "original_type": name if kind != "track" else None,
    }


def _ids(event: dict, name: str, properties: dict) -> tuple[str | None, str | None]:
    distinct_id = text(require(event, "distinct_id"), "distinct_id")
    if name == "$identify":
        return text(properties.get("$anon_distinct_id"), "properties.$anon_distinct_id"), distinct_id
    if name == "$create_alias":
        return distinct_id, text(require(properties, "alias", "properties.alias"), "properties.alias")
    device_id = text(properties.get("$device_id"), "properties.$device_id")
    identified = boolean(properties.get("$is_identified"))
    if identified is False or (identified is None and device_id == distinct_id):
        return distinct_id, None
    return (device_id if device_id != distinct_id else None), distinct_id


def _properties(properties: dict) -> dict:
    mapped = {
        "url": properties.get("$current_url"),
        "path": properties.get("$pathname"),
        "referrer": "" if properties.get("$referrer") == "$direct" else properties.get("$referrer"),
        **{key: properties.get("$" + key) for key in UTM_KEYS},
    }
    own = {key: value for key, value in properties.items() if not key.startswith("$") and key not in ID_PROPERTIES}
    return page_properties({**{key: value for key, value in mapped.items() if value is not None}, **own})


ADAPTER = Adapter(
    name="posthog",
    sources=("analytics_events",),
    convert=convert,
    description="PostHog batch export JSONLines and capture / batch API payloads",
)
