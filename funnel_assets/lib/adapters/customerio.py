"""Customer.io reporting webhooks -> email_events.

Only e-mail activity lands: `object_type` `email` with metric `delivered`,
`opened` (open), `clicked` (click, `data.href` as url), `bounced` (bounce) or
`unsubscribed`; a customer-level `unsubscribed` is an unsubscribe too, with
no campaign. Other metrics (sent, converted, spammed, dropped, failed,
subscribed, ...) and other channels (push, sms, in_app, webhook) are rejected
with that reason.

Campaign: Customer.io reports ids, not names: `campaign:<campaign_id>`, or
`broadcast:`, `newsletter:`, `transactional:` for the other kinds of
message, else "(none)". E-mail: `data.recipient`, else `data.email_address`,
else `data.identifiers.email`. Event id: `event_id`; time: `timestamp`
(epoch seconds).
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

EMAIL_METRICS = {"delivered": "delivered", "opened": "open", "clicked": "click", "bounced": "bounce", "unsubscribed": "unsubscribe"}
CAMPAIGN_KINDS = (
    ("campaign_id", "campaign"),
    ("broadcast_id", "broadcast"),
    ("newsletter_id", "newsletter"),
    ("transactional_message_id", "transactional"),
)


def convert(path: Path, options: dict) -> Iterator[Converted | Rejected]:
    return run(path, read_json(path), lambda event: [("email_events", _event(event))])


def _event(event: Any) -> dict:
    if not isinstance(event, dict):
        raise RecordError(None, "a Customer.io webhook should be a JSON object")
    metric, object_type = require(event, "metric"), event.get("object_type", "email")
    customer_unsubscribe = object_type == "customer" and metric == "unsubscribed"
    if object_type != "email" and not customer_unsubscribe:
        raise RecordError("object_type", f"{object_type} {metric} is not an e-mail event")
    if metric not in EMAIL_METRICS:
        raise RecordError("metric", f"metric {metric!r} has no landing e-mail event ({sorted(EMAIL_METRICS)})")
    data = event.get("data") or {}
    email = first_present(data, ("recipient", "email_address", "identifiers.email"))
    if not email:
        raise RecordError("data.recipient", "the event names no recipient address")
    return {
        "event_id": text(require(event, "event_id"), "event_id"),
        "email": email,
        "campaign": _campaign(data),
        "event": EMAIL_METRICS[metric],
        "timestamp": iso(to_utc(require(event, "timestamp"), "timestamp")),
        "url": data.get("href") if metric == "clicked" else None,
    }


def _campaign(data: dict) -> str:
    for key, kind in CAMPAIGN_KINDS:
        if data.get(key) not in (None, ""):
            return f"{kind}:{data[key]}"
    return NO_CAMPAIGN


ADAPTER = Adapter(
    name="customerio",
    sources=("email_events",),
    convert=convert,
    description="Customer.io reporting webhooks",
)
