"""Supabase `auth.users` export (Studio CSV with a byte order mark, or JSON) -> auth_users (+ api_keys).

`encrypted_password` and every token column (confirmation, recovery, email
change, phone change, reauthentication) are dropped as the file is read:
they reach no landing record, no quarantine line and no error message.

`id` (a uuid) is the user id, `email_confirmed_at` the verification time.
Organisation: `org_field` (a dotted path into `raw_app_meta_data` /
`raw_user_meta_data`) or, by default, `org_id` / `organization_id` in the
app metadata, then in the user metadata. Exports carry metadata as
JSON-encoded strings; they are decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from funnel_assets.lib.adapters.base import Adapter, Converted, Rejected, iso_or_none, json_object, lookup, require, run, text
from funnel_assets.lib.adapters.readers import JSON_START, drop_secrets, first_char, read_csv, read_json
from funnel_assets.lib.adapters.users import api_key_records, org_id, user_record

ORG_PATHS = (
    "raw_app_meta_data.org_id",
    "raw_app_meta_data.organization_id",
    "raw_user_meta_data.org_id",
    "raw_user_meta_data.organization_id",
)
API_KEYS_PATH = "raw_app_meta_data.api_keys"
METADATA = ("raw_app_meta_data", "raw_user_meta_data")


def convert(path: Path, options: dict) -> Iterator[Converted | Rejected]:
    org_paths = (options["org_field"],) if options.get("org_field") else ORG_PATHS
    keys_path = options.get("api_keys_field", API_KEYS_PATH)
    items = read_json(path, scrub=drop_secrets) if first_char(path) in JSON_START else read_csv(path, scrub=drop_secrets)
    return run(path, items, lambda row: _records(row, org_paths, keys_path))


def _records(row: Any, org_paths: tuple[str, ...], keys_path: str) -> list[tuple[str, dict]]:
    user_id = text(require(row, "id"), "id")
    view = {**row, **{name: json_object(row.get(name), name) for name in METADATA}}
    org = org_id(view, org_paths)
    verified_at = iso_or_none(row.get("email_confirmed_at"), "email_confirmed_at")
    return [
        user_record(user_id, row.get("email"), require(row, "created_at"), org, email_verified_at=verified_at),
        *api_key_records(user_id, org, lookup(view, keys_path), keys_path),
    ]


ADAPTER = Adapter(
    name="supabase",
    sources=("auth_users", "api_keys"),
    convert=convert,
    options=("org_field", "api_keys_field"),
    description="Supabase auth.users export (CSV with BOM, or JSON)",
)
