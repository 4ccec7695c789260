"""Segment spec messages (track, page, screen, identify, group, alias) -> analytics_events.

Input: one message per line (the S3 / webhook destination archives), single
messages, arrays, or HTTP API batches (`{"batch": [...]}`, whose `sentAt`
and `context` apply to messages without their own).

Time: landing `timestamp` is the client's clock, as contract v1 says
(`originalTimestamp`, else the message's `timestamp`), with `sent_at` and
`receivedAt` kept as sent; ingestion computes the corrected time
`received_at - (sent_at - timestamp)` once, for every analytics source. For
archives whose `timestamp` is already Segment's corrected value and which
lack `originalTimestamp`, set `timestamp_already_corrected: true`: that
value is kept and `sent_at` / `received_at` are left out, so it is not
corrected twice.

Calls: `screen` becomes a `page`; `group` an `identify` carrying
`properties.group_id`; `alias` an `identify` linking `previousId` (as
`anonymous_id`) to `userId`. The vendor call is then kept as
`original_type`. Identify and group traits are not copied: they are profile
data (names, e-mail addresses), not event properties. `version` is ignored,
whether Segment sent it as 1.1 (string) or 2 (integer).

Properties: the message's `properties` over `context.page` (path, url,
referrer, search, title) and `context.campaign` (as utm_*); `path` and utm_*
are read from `url` when missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from funnel_assets.lib.adapters.base import (
    Adapter,
    Converted,
    RecordError,
    Rejected,
    iso,
    iso_or_none,
    page_properties,
    require,
    run,
    text,
    to_utc,
)
from funnel_assets.lib.adapters.readers import flatten, read_json

CALL_TYPES = {"page": "page", "screen": "page", "track": "track", "identify": "identify", "group": "identify", "alias": "identify"}
PAGE_KEYS = ("path", "url", "referrer", "search", "title")
CAMPAIGN_KEYS = {"source": "utm_source", "medium": "utm_medium", "name": "utm_campaign", "term": "utm_term", "content": "utm_content"}


def convert(path: Path, options: dict) -> Iterator[Converted | Rejected]:
    already_corrected = bool(options.get("timestamp_already_corrected", False))
    messages = flatten(read_json(path), _batch)
    return run(path, messages, lambda message: [("analytics_events", _event(message, already_corrected))])


def _batch(value: Any) -> list | None:
    if not isinstance(value, dict) or not isinstance(value.get("batch"), list):
        return None
    shared = {key: value[key] for key in ("sentAt", "context") if key in value}
    return [{**shared, **message} if isinstance(message, dict) else message for message in value["batch"]]


def _event(message: Any, already_corrected: bool) -> dict:
    if not isinstance(message, dict):
        raise RecordError(None, "a Segment message should be a JSON object")
    call = require(message, "type")
    if call not in CALL_TYPES:
        raise RecordError("type", f"call type {call!r} is not one of {sorted(CALL_TYPES)}")
    anonymous_id, user_id = _ids(message, call)
    timestamp = _time(message, already_corrected)
    return {
        "message_id": text(require(message, "messageId"), "messageId"),
        "type": CALL_TYPES[call],
        "event": require(message, "event") if call == "track" else None,
        "anonymous_id": anonymous_id,
        "user_id": user_id,
        "timestamp": iso(timestamp),
        "sent_at": None if already_corrected else iso_or_none(message.get("sentAt"), "sentAt"),
        "received_at": None if already_corrected else iso_or_none(message.get("receivedAt"), "receivedAt"),
        "properties": _properties(message, call) or None,
        "original_type": call if CALL_TYPES[call] != call else None,
    }


def _ids(message: dict, call: str) -> tuple[str | None, str | None]:
    if call == "alias":
        return text(require(message, "previousId"), "previousId"), text(require(message, "userId"), "userId")
    anonymous_id, user_id = text(message.get("anonymousId"), "anonymousId"), text(message.get("userId"), "userId")
    if not anonymous_id and not user_id:
        raise RecordError("userId", "the message has neither anonymousId nor userId")
    return anonymous_id, user_id


def _time(message: dict, already_corrected: bool) -> datetime:
    """The landing timestamp: the client's clock, unless the export already corrected it."""
    if already_corrected:
        return to_utc(require(message, "timestamp"), "timestamp")
    field = "originalTimestamp" if message.get("originalTimestamp") else "timestamp"
    return to_utc(require(message, field), field)


def _properties(message: dict, call: str) -> dict:
    context = message.get("context") or {}
    page = context.get("page") or {}
    properties = {key: page[key] for key in PAGE_KEYS if key in page}
    campaign = context.get("campaign") or {}
    properties.update({CAMPAIGN_KEYS[key]: value for key, value in campaign.items() if key in CAMPAIGN_KEYS})
    if call in ("page", "screen", "track"):
        own = message.get("properties") or {}
        if not isinstance(own, dict):
            raise RecordError("properties", "properties should be an object")
        properties.update(own)
    if call in ("page", "screen") and message.get("name"):
        properties.setdefault("name", message["name"])
    if call == "group":
        properties["group_id"] = text(require(message, "groupId"), "groupId")
    return page_properties(properties)


ADAPTER = Adapter(
    name="segment",
    sources=("analytics_events",),
    convert=convert,
    options=("timestamp_already_corrected",),
    description="Segment spec messages (archives, webhooks, HTTP API batches)",
)
