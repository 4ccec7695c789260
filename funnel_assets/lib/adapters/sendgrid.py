"""SendGrid Event Webhook -> email_events.

Events: `delivered`, `open`, `click` (with its `url`) and `unsubscribe` keep
their meaning; `group_unsubscribe` is an `unsubscribe`; `bounce` is a
`bounce` whether its `type` is `bounce` (permanent) or `blocked` (temporary):
either way the message did not arrive. `processed`, `deferred`, `dropped`,
`spamreport` and `group_resubscribe` have no landing event and are rejected
with that reason.

Campaign: the custom argument named by `campaign_field` when given, else the
`category` (a string, or a list joined with ","), else the Marketing
Campaigns `singlesend_name` / `marketing_campaign_name`, else "(none)".
Event id: `sg_event_id`. Time: `timestamp`, epoch seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from funnel_assets.lib.adapters.base import (
    NO_CAMPAIGN,
    Adapter,
    Converted,
    RecordError,
    Rejected,
    first_present,
    iso,
    require,
    run,
    text,
    to_utc,
)
from funnel_assets.lib.adapters.readers import read_json

EVENTS = {
    "delivered": "delivered",
    "open": "open",
    "click": "click",
    "bounce": "bounce",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",
}


def convert(path: Path, options: dict) -> Iterator[Converted | Rejected]:
    campaign_paths = (options["campaign_field"],) if options.get("campaign_field") else ()
    campaign_paths += ("category", "singlesend_name", "marketing_campaign_name")
    return run(path, read_json(path), lambda event: [("email_events", _event(event, campaign_paths))])


def _event(event: Any, campaign_paths: tuple[str, ...]) -> dict:
    if not isinstance(event, dict):
        raise RecordError(None, "a SendGrid event should be a JSON object")
    kind = require(event, "event")
    if kind not in EVENTS:
        raise RecordError("event", f"SendGrid event {kind!r} has no landing e-mail event ({sorted(set(EVENTS.values()))})")
    return {
        "event_id": text(require(event, "sg_event_id"), "sg_event_id"),
        "email": require(event, "email"),
        "campaign": _campaign(first_present(event, campaign_paths)),
        "event": EVENTS[kind],
        "timestamp": iso(to_utc(require(event, "timestamp"), "timestamp")),
        "url": event.get("url") if kind == "click" else None,
    }


def _campaign(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(category) for category in value) or NO_CAMPAIGN
    return text(value, "category") or NO_CAMPAIGN


ADAPTER = Adapter(
    name="sendgrid",
    sources=("email_events",),
    convert=convert,
    options=("campaign_field",),
    description="SendGrid Event Webhook payloads",
)
