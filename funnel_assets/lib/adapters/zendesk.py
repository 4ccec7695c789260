"""Zendesk Support tickets -> support_tickets.

Input: API responses saved as they come - list pages and incremental export
pages (`{"tickets": [...], "users": [...]}`), a single ticket
(`{"ticket": {...}}`) - or bare ticket objects, one per line.

A ticket names its requester by `requester_id`, not by address. The address
is found, in order: in the `users` side-loaded with the same response (ask
the API with `include=users`), in an embedded `requester` object, in
`via.source.from.address` (tickets opened by e-mail), or in the
`requester_emails` option (requester id -> address). A ticket whose
requester address cannot be found is rejected. Note that the ticket's
`recipient` is your support address, not the requester's.

Updates: the incremental export sends the whole ticket again each time it
changes. Every copy is a version of the same ticket (support_tickets is a
state source from contract v2): the raw layer keeps the latest and the earlier
ones as history, and the ticket is counted once, when it was opened. The
tickets of a file are converted in the order of their `updated_at`, so the
latest update lands last.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from funnel_assets.lib.adapters.base import (
    Adapter,
    Converted,
    Item,
    RecordError,
    Rejected,
    first_present,
    in_update_order,
    iso,
    require,
    run,
    text,
    to_utc,
)
from funnel_assets.lib.adapters.readers import read_json


def convert(path: Path, options: dict) -> Iterator[Converted | Rejected]:
    known = {str(user_id): email for user_id, email in (options.get("requester_emails") or {}).items()}
    tickets = in_update_order(list(_tickets(read_json(path), known)), _update_time)
    return run(path, tickets, lambda ticket: [("support_tickets", _ticket(*ticket))])


def _update_time(value: Any) -> datetime | None:
    ticket = value[0] if isinstance(value, tuple) else None
    if not isinstance(ticket, dict) or not ticket.get("updated_at"):
        return None
    try:
        return to_utc(ticket["updated_at"], "updated_at")
    except RecordError:
        return None  # judged with the ticket: a bad updated_at keeps the ticket's place


def _tickets(items: Iterator[Item], known: dict[str, str]) -> Iterator[Item]:
    """One item per ticket, each with the addresses of the users side-loaded beside it."""
    for item in items:
        value = item.value
        if item.error is not None:
            yield item
        elif isinstance(value, dict) and ("tickets" in value or "ticket" in value):
            addresses = {**known, **_addresses(value.get("users"))}
            tickets = value.get("tickets", [value.get("ticket")])
            for ticket in tickets if isinstance(tickets, list) else [tickets]:
                yield Item(item.line, json.dumps(ticket, ensure_ascii=False), (ticket, addresses))
        else:
            yield Item(item.line, item.raw, (value, known))


def _addresses(users: Any) -> dict[str, str]:
    if not isinstance(users, list):
        return {}
    return {str(user["id"]): user["email"] for user in users if isinstance(user, dict) and user.get("id") and user.get("email")}


def _ticket(ticket: Any, addresses: dict[str, str]) -> dict:
    if not isinstance(ticket, dict):
        raise RecordError(None, "a Zendesk ticket should be a JSON object")
    tags = ticket.get("tags")
    if tags is not None and not isinstance(tags, list):
        raise RecordError("tags", "tags should be a list")
    return {
        "ticket_id": text(require(ticket, "id"), "id"),
        "email": _requester_email(ticket, addresses),
        "created_at": iso(to_utc(require(ticket, "created_at"), "created_at")),
        "subject": ticket.get("subject"),
        "tags": tags,
    }


def _requester_email(ticket: dict, addresses: dict[str, str]) -> str:
    requester = text(ticket.get("requester_id"), "requester_id")
    email = addresses.get(requester or "") or first_present(ticket, ("requester.email", "via.source.from.address"))
    if not email:
        raise RecordError("requester_id", f"no e-mail address for requester {requester}: export with include=users")
    return email


ADAPTER = Adapter(
    name="zendesk",
    sources=("support_tickets",),
    convert=convert,
    options=("requester_emails",),
    description="Zendesk Support tickets (API pages, incremental export, single tickets)",
)
