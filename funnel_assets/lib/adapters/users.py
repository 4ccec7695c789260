"""What the auth-export adapters (Auth0, Clerk, Supabase) share.

Account type: none of these systems has one, so a user is `organization`
when an organisation id is found for them and `individual` otherwise.

API keys: none of them has keys either; platforms that keep their keys in the
user's metadata (a list of `{key_id|id, mode, created_at, revoked_at}`) get
`api_keys` records from it. Only those fields are read, so a secret stored
beside the id never leaves the export. `mode` may be omitted when the key id
says it (`pk_live_...`, `key_test_...`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from funnel_assets.lib.adapters.base import RecordError, first_present, iso, iso_or_none, text, to_utc

_MODE_IN_ID = re.compile(r"(?:^|[_-])(live|test)(?:[_-]|$)")


def org_id(user: Any, paths: tuple[str, ...]) -> str | None:
    found = first_present(user, paths)
    if isinstance(found, dict):
        found = found.get("id")
    return text(found, paths[0]) if found is not None else None


def user_record(user_id: str, email: Any, created_at: Any, org: str | None, **attributes: Any) -> tuple[str, dict]:
    if not isinstance(email, str) or not email.strip():
        raise RecordError("email", "email is missing")
    return (
        "auth_users",
        {
            "user_id": user_id,
            "org_id": org,
            "email": email,  # as sent: e-mail joins trim and lower-case both sides
            "account_type": "organization" if org else "individual",
            "created_at": iso(to_utc(created_at, "created_at")),
            **attributes,
        },
    )


def api_key_records(user_id: str, org: str | None, keys: Any, field: str) -> list[tuple[str, dict]]:
    if keys in (None, "", []):
        return []
    if isinstance(keys, str):  # CSV exports carry metadata values JSON-encoded
        try:
            keys = json.loads(keys)
        except json.JSONDecodeError:
            raise RecordError(field, f"{field} is not valid JSON") from None
    if not isinstance(keys, list):
        raise RecordError(field, f"{field} should be a list of keys")
    return [("api_keys", _api_key(user_id, org, key, f"{field}[{index}]")) for index, key in enumerate(keys)]


def _api_key(user_id: str, org: str | None, key: Any, field: str) -> dict:
    if not isinstance(key, dict):
        raise RecordError(field, f"{field} should be an object")
    key_id = text(key.get("key_id") or key.get("id"), f"{field}.key_id")
    if not key_id:
        raise RecordError(f"{field}.key_id", "the key has no key_id")
    mode = key.get("mode")
    if mode is None and (found := _MODE_IN_ID.search(key_id)):
        mode = found.group(1)
    return {
        "key_id": key_id,
        "user_id": user_id,
        "org_id": org,
        "mode": mode,
        "created_at": iso(to_utc(key.get("created_at"), f"{field}.created_at")),
        "revoked_at": iso_or_none(key.get("revoked_at"), f"{field}.revoked_at"),
    }
