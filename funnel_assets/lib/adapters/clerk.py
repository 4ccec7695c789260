"""Clerk users -> auth_users (+ api_keys): the dashboard's CSV export, Backend
API / CLI user JSON, and `user.created` / `user.updated` webhooks (Svix
envelopes whose times are epoch milliseconds).

Created at: the webhook and API objects carry `created_at`; the dashboard CSV
does not. Clerk ids are prefixed KSUIDs whose first four bytes are the
creation second (checked against Clerk's own webhook sample, where
`user_29w83sxmDNGwOuEthce5gg56FcC` decodes to its `created_at`, 1654012591),
so without a `created_at` the time is read from the id. Set
`created_at_from_id: false` to reject such users instead.

Organisation: from `organizationMembership.created`/`.updated` webhooks in the
same file (the first membership of a user wins; `.deleted` removes it), else
from metadata (`org_field`, default `public_metadata.org_id`,
`public_metadata.organization_id`, `private_metadata.org_id`,
`private_metadata.organization_id`). Membership events are not users: each
is reported as rejected with the reason that it was used for the join.
Password digests and TOTP secrets are dropped when the file is read.

Full-state updates: every `user.*` webhook carries the whole User object, so
each one becomes a new version of the user and of each of their keys (the raw
layer keeps the latest version and the earlier ones as history, see
`data_contracts/auth_users/v2.yaml`). Webhooks can be delivered out of order:
the user events of a file are converted in the order of the User's
`updated_at` (file order when absent), so the latest update lands last. A key
that was in a user's `api_keys` and is missing from a later update of the same
user in the file was deleted: it gets a revoked version, revoked at that
update's `updated_at` (else the envelope's `timestamp`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from funnel_assets.lib.adapters.base import (
    Adapter,
    Converted,
    Item,
    RecordError,
    Rejected,
    from_epoch,
    in_update_order,
    iso,
    json_object,
    lookup,
    require,
    run,
    text,
)
from funnel_assets.lib.adapters.readers import JSON_START, drop_secrets, first_char, read_csv, read_json
from funnel_assets.lib.adapters.users import api_key_records, org_id, user_record

ORG_PATHS = (
    "public_metadata.org_id",
    "public_metadata.organization_id",
    "private_metadata.org_id",
    "private_metadata.organization_id",
)
API_KEYS_PATH = "private_metadata.api_keys"
METADATA = ("public_metadata", "private_metadata", "unsafe_metadata")
USER_EVENTS = ("user.created", "user.updated")
MEMBERSHIP_EVENTS = ("organizationMembership.created", "organizationMembership.updated", "organizationMembership.deleted")

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_KSUID_EPOCH = 1_400_000_000
_EMAIL_LIST_SEPARATORS = re.compile(r"[|,;\s]+")


def convert(path: Path, options: dict) -> Iterator[Converted | Rejected]:
    org_paths = (options["org_field"],) if options.get("org_field") else ORG_PATHS
    keys_path = options.get("api_keys_field", API_KEYS_PATH)
    from_id = options.get("created_at_from_id", True)
    # memberships are joined within the file, so the (small) export is read whole first
    reader = read_json if first_char(path) in JSON_START else read_csv
    items = in_update_order(list(reader(path, scrub=drop_secrets)), _update_time)
    memberships = _memberships(items)
    keys_seen: dict[str, dict[tuple, dict]] = {}
    return run(path, items, lambda value: _records(value, memberships, org_paths, keys_path, from_id, keys_seen))


def _update_time(value: Any) -> float | None:
    """A user webhook's User.updated_at (else the envelope's timestamp), epoch milliseconds."""
    if not isinstance(value, dict) or value.get("type") not in USER_EVENTS or not isinstance(value.get("data"), dict):
        return None
    updated = value["data"].get("updated_at", value.get("timestamp"))
    return updated if isinstance(updated, int | float) and not isinstance(updated, bool) else None


def _memberships(items: list[Item]) -> dict[str, str]:
    """user id -> organisation id, from the membership webhooks in file order."""
    memberships: dict[str, str] = {}
    for item in items:
        event = item.value if isinstance(item.value, dict) else {}
        if event.get("type") not in MEMBERSHIP_EVENTS:
            continue
        data = event.get("data") or {}
        user_id = (data.get("public_user_data") or {}).get("user_id")
        organization = (data.get("organization") or {}).get("id")
        if not user_id or not organization:
            continue
        if event["type"] == "organizationMembership.deleted":
            if memberships.get(user_id) == organization:
                del memberships[user_id]
        else:
            memberships.setdefault(user_id, organization)
    return memberships


def _records(
    value: Any,
    memberships: dict[str, str],
    org_paths: tuple[str, ...],
    keys_path: str,
    from_id: bool,
    keys_seen: dict[str, dict[tuple, dict]],
) -> list[tuple[str, dict]]:
    user = _user_of(value)
    user_id = text(require(user, "id"), "id")
    view = {**user, **{name: json_object(user.get(name), name) for name in METADATA if name in user}}
    org = memberships.get(user_id) or org_id(view, org_paths)
    email, verified = _primary_email(user)
    keys = api_key_records(user_id, org, lookup(view, keys_path), keys_path)
    return [
        user_record(user_id, email, _created_at(user, user_id, from_id), org, email_verified=verified),
        *keys,
        *_deleted_keys(user_id, keys, _update_time(value), keys_seen),
    ]


def _deleted_keys(
    user_id: str, keys: list[tuple[str, dict]], updated: float | None, keys_seen: dict[str, dict[tuple, dict]]
) -> list[tuple[str, dict]]:
    """Revoked versions of the keys an earlier update of this user listed and this one does not."""
    current = {(record["key_id"], record["created_at"]): record for _, record in keys}
    earlier = keys_seen.get(user_id, {})
    deleted = {}
    if updated is not None:
        revoked_at = iso(from_epoch(updated, "updated_at"))
        deleted = {
            issue: {**record, "revoked_at": revoked_at}
            for issue, record in earlier.items()
            if issue not in current and not record.get("revoked_at")
        }
    keys_seen[user_id] = {**earlier, **deleted, **current}
    return [("api_keys", record) for record in deleted.values()]


def _user_of(value: Any) -> dict:
    """The User object of a webhook envelope, or the value itself when it is a user."""
    if not isinstance(value, dict):
        raise RecordError(None, "a Clerk user should be a JSON object")
    kind = value.get("type")
    if value.get("object") != "event" and kind is None:
        return value
    if kind in USER_EVENTS:
        return require(value, "data")
    if kind in MEMBERSHIP_EVENTS:
        member = ((value.get("data") or {}).get("public_user_data") or {}).get("user_id")
        raise RecordError("type", f"{kind} is an organisation membership, not a user: used for the org_id of {member}")
    raise RecordError("type", f"event {kind!r} is not a user event ({', '.join(USER_EVENTS)})")


def _primary_email(user: dict) -> tuple[str | None, bool | None]:
    addresses = user.get("email_addresses")
    if isinstance(addresses, list) and addresses and isinstance(addresses[0], dict):
        primary = next((a for a in addresses if a.get("id") == user.get("primary_email_address_id")), addresses[0])
        status = (primary.get("verification") or {}).get("status")
        return primary.get("email_address"), (None if status is None else status == "verified")
    email = user.get("primary_email_address") or _first_address(addresses)
    if email in _addresses(user.get("verified_email_addresses")):
        return email, True
    if email in _addresses(user.get("unverified_email_addresses")):
        return email, False
    return email, None


def _first_address(addresses: Any) -> str | None:
    listed = _addresses(addresses)
    return listed[0] if listed else None


def _addresses(value: Any) -> list[str]:
    if isinstance(value, list):
        return [address for address in value if isinstance(address, str)]
    if isinstance(value, str):
        return [address for address in _EMAIL_LIST_SEPARATORS.split(value) if address]
    return []


def _created_at(user: dict, user_id: str, from_id: bool) -> Any:
    if user.get("created_at") not in (None, ""):
        return user["created_at"]
    if not from_id:
        raise RecordError("created_at", "created_at is missing (created_at_from_id is off)")
    return ksuid_time(user_id)


def ksuid_time(clerk_id: str) -> datetime:
    """The creation second encoded in a Clerk id (`user_` + a base62 KSUID)."""
    body = clerk_id.rsplit("_", 1)[-1]
    if len(body) != 27 or any(char not in _BASE62 for char in body):
        raise RecordError("created_at", f"created_at is missing and {clerk_id!r} is not a KSUID-based Clerk id")
    value = 0
    for char in body:
        value = value * 62 + _BASE62.index(char)
    return datetime.fromtimestamp((value >> 128) + _KSUID_EPOCH, UTC)


ADAPTER = Adapter(
    name="clerk",
    sources=("auth_users", "api_keys"),
    convert=convert,
    options=("org_field", "api_keys_field", "created_at_from_id"),
    description="Clerk user export CSV, user JSON and user.created / user.updated webhooks",
)
