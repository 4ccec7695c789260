"""Mailchimp webhooks -> email_events: audience (Marketing) webhooks and
Mailchimp Transactional (Mandrill) message events.

Input: the POST bodies as received, one per line
(`application/x-www-form-urlencoded`: `type=unsubscribe&data[email]=...`),
or JSON: the decoded form (flat `data[email]` keys or nested `data`), or
Transactional events (arrays, or the `mandrill_events` form field).
A key sent twice keeps its last value (the unsubscribe sample sends
`data[reason]` twice).

Audience webhooks report list changes, not engagement: `unsubscribe` is an
unsubscribe (campaign: `data[campaign_id]` when the link was in a campaign);
`cleaned` is a bounce when the reason is `hard`, an unsubscribe when it is
`abuse` (a complaint). `subscribe`, `profile`, `upemail` and `campaign` are
rejected. They carry no event id, so it is a hash of the payload; `fired_at`
has no offset and is read in `fired_at_timezone` (default UTC).

Transactional events: `send` is delivered, `open`, `click` (with `url`),
`hard_bounce` / `soft_bounce` are bounces, `unsub` an unsubscribe; `deferral`,
`spam`, `reject` are rejected. The event id is message id, event and time
(Mandrill gives each message one id for all its events); the campaign is the
message's tags, else its subject.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from funnel_assets.lib.adapters.base import (
    NO_CAMPAIGN,
    Adapter,
    Converted,
    Item,
    RecordError,
    Rejected,
    content_id,
    iso,
    require,
    run,
    text,
    to_utc,
)
from funnel_assets.lib.adapters.readers import JSON_START, first_char, flatten, read_json, read_lines

TRANSACTIONAL = {
    "send": "delivered",
    "open": "open",
    "click": "click",
    "hard_bounce": "bounce",
    "soft_bounce": "bounce",
    "unsub": "unsubscribe",
}
_BRACKETS = re.compile(r"\[([^\]]*)\]")


def convert(path: Path, options: dict) -> Iterator[Converted | Rejected]:
    zone = ZoneInfo(options.get("fired_at_timezone", "UTC"))
    items = read_json(path) if first_char(path) in JSON_START else _form_bodies(path)
    payloads = flatten((_nested(item) for item in items), _transactional_batch)
    return run(path, payloads, lambda payload: [("email_events", _event(payload, zone))])


def _form_bodies(path: Path) -> Iterator[Item]:
    for line_number, line in read_lines(path):
        yield Item(line_number, line, dict(parse_qsl(line.strip(), keep_blank_values=True)))


def _nested(item: Item) -> Item:
    """`data[merges][EMAIL]`-style keys as nested objects."""
    if item.error is not None or not isinstance(item.value, dict):
        return item
    nested: dict[str, Any] = {}
    for key, value in item.value.items():
        path = [key.split("[", 1)[0], *_BRACKETS.findall(key)]
        target = nested
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return Item(item.line, item.raw, nested)


def _transactional_batch(value: Any) -> list | None:
    if not isinstance(value, dict) or "mandrill_events" not in value:
        return None
    events = value["mandrill_events"]
    return json.loads(events) if isinstance(events, str) else events


def _event(payload: Any, zone: ZoneInfo) -> dict:
    if not isinstance(payload, dict):
        raise RecordError(None, "a Mailchimp webhook should be an object")
    if "msg" in payload:
        return _transactional(payload)
    kind = require(payload, "type")
    data = payload.get("data") or {}
    if kind == "unsubscribe":
        event = "unsubscribe"
    elif kind == "cleaned":
        event = "unsubscribe" if data.get("reason") == "abuse" else "bounce"
    else:
        raise RecordError("type", f"audience webhook {kind!r} is not an e-mail event (unsubscribe, cleaned)")
    return {
        "event_id": content_id("mailchimp", payload),
        "email": require(data, "email", "data[email]"),
        "campaign": text(data.get("campaign_id"), "data[campaign_id]") or NO_CAMPAIGN,
        "event": event,
        "timestamp": iso(to_utc(require(payload, "fired_at"), "fired_at", zone)),
    }


def _transactional(event: dict) -> dict:
    kind = require(event, "event")
    if kind not in TRANSACTIONAL:
        raise RecordError("event", f"Transactional event {kind!r} has no landing e-mail event ({sorted(TRANSACTIONAL)})")
    message = event["msg"] or {}
    tags = message.get("tags") or []
    return {
        "event_id": f"{require(event, '_id')}:{kind}:{require(event, 'ts')}",
        "email": require(message, "email", "msg.email"),
        "campaign": ",".join(tags) or message.get("subject") or NO_CAMPAIGN,
        "event": TRANSACTIONAL[kind],
        "timestamp": iso(to_utc(event["ts"], "ts")),
        "url": event.get("url") if kind == "click" else None,
    }


ADAPTER = Adapter(
    name="mailchimp",
    sources=("email_events",),
    convert=convert,
    options=("fired_at_timezone",),
    description="Mailchimp audience webhooks (form bodies or JSON) and Transactional (Mandrill) events",
)
