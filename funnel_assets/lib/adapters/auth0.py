"""Auth0 bulk user export (NDJSON or CSV) -> auth_users (+ api_keys).

The export job writes NDJSON (one user per line) or CSV whose columns are the
requested fields (named by `export_as` when given). Auth0 protects CSV
against formula injection by prefixing every string with `'`; that prefix is
removed. The user id is Auth0's `user_id` as is (`auth0|...`).

Organisation: Auth0 Organizations memberships are not part of a user export,
so the org id is read from the profile: `org_field` (a dotted path such as
`app_metadata.org_id`, or the CSV column name) or, by default, the first of
`org_id`, `organization_id`, `app_metadata.org_id`,
`app_metadata.organization_id`, `app_metadata.organization(.id)`.
Auth0 tells only whether the address is verified, not when: `email_verified`
is kept as an extra field and `email_verified_at` stays empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from funnel_assets.lib.adapters.base import Adapter, Converted, Rejected, boolean, lookup, require, run, text
from funnel_assets.lib.adapters.readers import JSON_START, drop_secrets, first_char, read_csv, read_json
from funnel_assets.lib.adapters.users import api_key_records, org_id, user_record

ORG_PATHS = (
    "org_id",
    "organization_id",
    "app_metadata.org_id",
    "app_metadata.organization_id",
    "app_metadata.organization.id",
    "app_metadata.organization",
)
API_KEYS_PATH = "app_metadata.api_keys"


def convert(path: Path, options: dict) -> Iterator[Converted | Rejected]:
    org_paths = (options["org_field"],) if options.get("org_field") else ORG_PATHS
    keys_path = options.get("api_keys_field", API_KEYS_PATH)
    if first_char(path) in JSON_START:
        items = read_json(path, scrub=drop_secrets)
    else:
        items = read_csv(path, scrub=lambda row: drop_secrets(_without_injection_guard(row)))
    return run(path, items, lambda user: _records(user, org_paths, keys_path))


def _without_injection_guard(row: dict[str, str]) -> dict[str, str]:
    return {key: value[1:] if value.startswith("'") else value for key, value in row.items()}


def _records(user: Any, org_paths: tuple[str, ...], keys_path: str) -> list[tuple[str, dict]]:
    user_id = text(require(user, "user_id"), "user_id")
    org = org_id(user, org_paths)
    verified = boolean(user.get("email_verified"))
    return [
        user_record(user_id, user.get("email"), require(user, "created_at"), org, email_verified=verified),
        *api_key_records(user_id, org, lookup(user, keys_path), keys_path),
    ]


ADAPTER = Adapter(
    name="auth0",
    sources=("auth_users", "api_keys"),
    convert=convert,
    options=("org_field", "api_keys_field"),
    description="Auth0 bulk user export (NDJSON or CSV)",
)
