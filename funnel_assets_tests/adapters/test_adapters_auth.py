"""Auth adapters (Auth0, Clerk, Supabase) on the vendors' samples and on hand-written exports."""

from __future__ import annotations

import json

import pytest

from funnel_assets_tests.adapters.helpers import SAMPLES, convert, needs_samples, rejection, write
from funnel_assets.lib.adapters import Converted, convert_command


def user(user_id: str, email: str, created_at: str, **extra) -> Converted:
    account_type = "organization" if extra.get("org_id") else "individual"
    record = {
        "user_id": user_id,
        "org_id": extra.pop("org_id", None),
        "email": email,
        "account_type": account_type,
        "created_at": created_at,
        **extra,
    }
    return Converted("auth_users", {key: value for key, value in record.items() if value is not None})


# --- Auth0 --------------------------------------------------------------------------


@needs_samples


def test_auth0_docs_user_with_empty_created_at_is_rejected():
    [item] = convert("auth0", SAMPLES / "auth0" / "docs_sample_user_by_id.json")
    assert rejection(item) == (1, "created_at", "created_at is missing")


@needs_samples


def test_auth0_password_export_has_no_user_ids_and_no_hash_survives():
    items = convert("auth0", SAMPLES / "auth0" / "clerk_migration_sample_auth0_password_export.json")
    assert [rejection(item) for item in items] == [(line, "user_id", "user_id is missing") for line in (2, 29, 53, 72, 96, 120)]
    assert all("$2b$10$" not in item.raw and "passwordHash" not in item.raw for item in items)
    assert json.loads(items[0].raw)["email"] == "janedoe@clerk.dev"


@needs_samples


@pytest.mark.parametrize("name", ["docs_users_export_job_created.json", "docs_export_request_body.json"])


def test_auth0_export_job_documents_are_not_users(name):
    [item] = convert("auth0", SAMPLES / "auth0" / name)
    assert rejection(item) == (1, "user_id", "user_id is missing")


AUTH0_NDJSON = [
    {
        "user_id": "auth0|5f7c8ec7c33c6c004bbafe82",
        "email": "ada@example.com",
        "email_verified": True,
        "created_at": "2026-02-03T10:00:00.000Z",
        "app_metadata": {
            "org_id": "org_acme",
            "api_keys": [
                {"id": "key_test_1", "created_at": "2026-02-03T10:05:00Z", "secret": "sk_test_never_landed"},
                {"key_id": "k2", "mode": "live", "created_at": "2026-02-10T08:00:00Z", "revoked_at": "2026-03-01T00:00:00Z"},
            ],
        },
    },
    {"user_id": "google-oauth2|1138", "email": "grace@example.com", "email_verified": False, "created_at": "2026-02-04T23:30:00.000Z"},
]


def test_auth0_ndjson_with_organisation_and_keys_in_app_metadata(tmp_path):
    path = write(tmp_path, "tenant.json", "\n".join(json.dumps(user) for user in AUTH0_NDJSON) + "\n")
    assert convert("auth0", path) == [
        user("auth0|5f7c8ec7c33c6c004bbafe82", "ada@example.com", "2026-02-03T10:00:00+00:00", org_id="org_acme", email_verified=True),
        Converted(
            "api_keys",
            {
                "key_id": "key_test_1",
                "user_id": "auth0|5f7c8ec7c33c6c004bbafe82",
                "org_id": "org_acme",
                "mode": "test",  # told by the id
                "created_at": "2026-02-03T10:05:00+00:00",
            },
        ),
        Converted(
            "api_keys",
            {
                "key_id": "k2",
                "user_id": "auth0|5f7c8ec7c33c6c004bbafe82",
                "org_id": "org_acme",
                "mode": "live",
                "created_at": "2026-02-10T08:00:00+00:00",
                "revoked_at": "2026-03-01T00:00:00+00:00",
            },
        ),
        user("google-oauth2|1138", "grace@example.com", "2026-02-04T23:30:00+00:00", email_verified=False),
    ]


def test_auth0_csv_strips_the_injection_guard_quote(tmp_path):
    csv = (
        "user_id,email,email_verified,created_at,org\n"
        "\"'auth0|abc\",\"'ada@example.com\",true,2026-02-03T10:00:00.000Z,\"'org_7\"\n"
        "\"'auth0|def\",\"'bob@example.com\",false,2026-02-05T10:00:00.000Z,\n"
    )
    items = convert("auth0", write(tmp_path, "tenant.csv", csv), org_field="org")
    assert items == [
        user("auth0|abc", "ada@example.com", "2026-02-03T10:00:00+00:00", org_id="org_7", email_verified=True),
        user("auth0|def", "bob@example.com", "2026-02-05T10:00:00+00:00", email_verified=False),
    ]


def test_auth0_malformed_records_name_line_and_field(tmp_path):
    lines = [
        '{"user_id": "auth0|1", "email": ',
        json.dumps({"user_id": "auth0|2", "created_at": "2026-02-03T10:00:00Z"}),
        json.dumps({"user_id": ["auth0|3"], "email": "x@example.com", "created_at": "2026-02-03T10:00:00Z"}),
        json.dumps({"user_id": "auth0|4", "email": "y@example.com", "created_at": "last tuesday"}),
        json.dumps(
            {"user_id": "auth0|5", "email": "z@example.com", "created_at": "2026-02-03T10:00:00Z", "app_metadata": {"api_keys": [{"id": "k"}]}}
        ),
    ]
    items = convert("auth0", write(tmp_path, "tenant.json", "\n".join(lines)))
    assert [rejection(item) for item in items] == [
        (1, None, "invalid JSON: the value starting on this line does not close"),
        (2, "email", "email is missing"),
        (3, "user_id", "user_id should be a string, got list ['auth0|3']"),
        (4, "created_at", "created_at 'last tuesday' is not a timestamp"),
        (5, "app_metadata.api_keys[0].created_at", "app_metadata.api_keys[0].created_at is missing"),
    ]


# --- Clerk ----------------------------------------------------------------------------


@needs_samples


def test_clerk_dashboard_csv_takes_created_at_from_the_ksuid():
    assert convert("clerk", SAMPLES / "clerk" / "clerk_user_export_sample.csv") == [
        user("user_2YDryYFVMM1W1plDDKz7Gzf4we6", "janedoe@clerk.dev", "2023-11-15T18:00:45+00:00"),
        user("user_2ZZCgLE7kJG2CRBxTZ6YUIvzS10", "johndoe@gmail.com", "2023-12-15T06:05:24+00:00"),
        user("user_2cWszPHuo6P2lCdnhhZbVMfbAIC", "johnhncock@clerk.dev", "2024-02-18T06:48:50+00:00"),
        user("user_2cukOsyNsh0J3MCEvrgM6PkoB0I", "janehancock@clerk.dev", "2024-02-26T17:33:41+00:00"),
    ]


@needs_samples


def test_clerk_user_json_uses_the_primary_address():
    assert convert("clerk", SAMPLES / "clerk" / "clerk_user_migration_sample.json") == [
        user("user_2fT3OpCuU3elx0CXE3cNyStBC9u", "johndoe@gmail.com", "2024-04-22T18:40:10+00:00"),
        user("user_2fTPmPJJGj6SZV1e8xN7yapuoim", "janedoe@gmail.com", "2024-04-22T21:44:12+00:00"),
    ]


@needs_samples


def test_clerk_user_created_webhook_reads_millisecond_epochs():
    [item] = convert("clerk", SAMPLES / "clerk" / "webhook_user_created.json")
    assert item == user("user_29w83sxmDNGwOuEthce5gg56FcC", "example@example.org", "2022-05-31T15:56:31.514000+00:00", email_verified=True)


@needs_samples


def test_clerk_ksuid_decoding_agrees_with_the_webhook_created_at():
    payload = json.loads((SAMPLES / "clerk" / "webhook_user_created.json").read_text())
    from funnel_assets.lib.adapters.clerk import ksuid_time

    assert int(ksuid_time(payload["data"]["id"]).timestamp()) == payload["data"]["created_at"] // 1000


def test_clerk_organisation_memberships_in_the_same_file(tmp_path):
    events = [
        {
            "type": "user.created",
            "object": "event",
            "timestamp": 1767225600000,
            "data": {
                "id": "user_2abc",
                "created_at": 1767225600000,
                "primary_email_address_id": "idn_2",
                "email_addresses": [
                    {"id": "idn_1", "email_address": "old@example.com"},
                    {"id": "idn_2", "email_address": "ada@acme.io", "verification": {"status": "unverified"}},
                ],
            },
        },
        {
            "type": "user.created",
            "object": "event",
            "data": {"id": "user_2def", "created_at": 1767312000000, "email_addresses": [{"id": "idn_3", "email_address": "solo@example.com"}]},
        },
        {
            "type": "organizationMembership.created",
            "object": "event",
            "data": {"organization": {"id": "org_acme"}, "public_user_data": {"user_id": "user_2abc"}},
        },
        {"type": "session.created", "object": "event", "data": {"id": "sess_1"}},
    ]
    items = convert("clerk", write(tmp_path, "clerk.jsonl", "\n".join(json.dumps(event) for event in events)))
    assert items[:2] == [
        user("user_2abc", "ada@acme.io", "2026-01-01T00:00:00+00:00", org_id="org_acme", email_verified=False),
        user("user_2def", "solo@example.com", "2026-01-02T00:00:00+00:00"),
    ]
    assert [rejection(item) for item in items[2:]] == [
        (3, "type", "organizationMembership.created is an organisation membership, not a user: used for the org_id of user_2abc"),
        (4, "type", "event 'session.created' is not a user event (user.created, user.updated)"),
    ]


def test_clerk_csv_with_metadata_org_and_secret_columns(tmp_path):
    csv = (
        "id,first_name,email_addresses,password_digest,totp_secret,public_metadata\n"
        'user_2YDryYFVMM1W1plDDKz7Gzf4we6,Jane,jane@acme.io,$2a$10$abcdefghijklmnopqrstuv,JBSWY3DPEHPK3PXP,"{""org_id"": ""org_9""}"\n'
        "user_notaksuid,Joe,joe@example.com,,,{}\n"
    )
    items = convert("clerk", write(tmp_path, "clerk.csv", csv))
    assert items[0] == user("user_2YDryYFVMM1W1plDDKz7Gzf4we6", "jane@acme.io", "2023-11-15T18:00:45+00:00", org_id="org_9")
    assert rejection(items[1]) == (3, "created_at", "created_at is missing and 'user_notaksuid' is not a KSUID-based Clerk id")
    assert "$2a$10$" not in items[1].raw and "JBSWY3DPEHPK3PXP" not in items[1].raw


def test_clerk_created_at_from_id_can_be_turned_off(tmp_path):
    path = write(tmp_path, "clerk.csv", "id,email_addresses\nuser_2YDryYFVMM1W1plDDKz7Gzf4we6,jane@example.com\n")
    [item] = convert("clerk", path, created_at_from_id=False)
    assert rejection(item) == (2, "created_at", "created_at is missing (created_at_from_id is off)")


# --- Supabase -------------------------------------------------------------------------


SECRETS = (
    "$2a$10$",
    "encrypted_password",
    "confirmation_token",
    "recovery_token",
    "email_change_token",
    "phone_change_token",
    "reauthentication_token",
)


@needs_samples


def test_supabase_csv_export_with_byte_order_mark():
    path = SAMPLES / "supabase" / "auth_users_export_sample.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert convert("supabase", path) == [
        user(
            "76b196c8-d5c4-4907-9746-ed06ef829a67",
            "test@test.com",
            "2024-02-26T14:04:29.140992+00:00",
            email_verified_at="2024-02-26T14:04:29.153624+00:00",
        ),
        user(
            "926f3b49-9687-4d05-8557-2673387a1f3c",
            "test2@test2.com",
            "2024-03-04T12:12:24.968657+00:00",
            email_verified_at="2024-03-04T12:12:24.977800+00:00",
        ),
    ]


@needs_samples


def test_supabase_json_export():
    assert convert("supabase", SAMPLES / "supabase" / "auth_users_export_sample.json") == [
        user(
            "2971a33d-5b7c-4c11-b8fe-61b7f185f211",
            "janedoe@clerk.dev",
            "2024-02-22T14:34:45.626071+00:00",
            email_verified_at="2024-02-22T14:34:45.631743+00:00",
        ),
        user(
            "2971a33d-5b7c-4c11-b8fe-61b7f185f234",
            "johndoe@clerk.dev",
            "2024-02-22T14:34:45.626071+00:00",
            email_verified_at="2024-01-01T14:34:45.631743+00:00",
        ),
    ]


@needs_samples


def test_supabase_password_hashes_and_tokens_reach_neither_landing_nor_quarantine(tmp_path):
    sample = (SAMPLES / "supabase" / "auth_users_export_sample.csv").read_text(encoding="utf-8-sig")
    header, first, _ = sample.split("\n", 2)
    broken_rows = [
        first.replace('"test@test.com"', '""'),  # no e-mail
        first.replace('"2024-02-26 14:04:29.140992+00"', '"soon"'),  # bad created_at
        first + ',"extra"',  # one column too many
    ]
    path = write(tmp_path, "users.csv", "\ufeff" + "\n".join([header, first, *broken_rows]) + "\n")
    counts = convert_command("supabase", [path, SAMPLES / "supabase" / "auth_users_export_sample.json"], tmp_path / "out", {})
    assert counts == {"files": 2, "auth_users": 3, "rejected": 3}
    written = "".join(file.read_text() for file in (tmp_path / "out").rglob("*.jsonl"))
    assert '"reason": "email is missing"' in written
    for secret in SECRETS:
        assert secret not in written
    assert "$2a$10$9zQjO8IH4gX" in sample  # the input did carry one


def test_supabase_organisation_from_app_metadata_and_malformed_rows(tmp_path):
    rows = [
        {
            "id": "6f1f0b9e-0000-4000-8000-000000000001",
            "email": "ada@acme.io",
            "created_at": "2026-01-05 08:00:00+00",
            "email_confirmed_at": "",
            "raw_app_meta_data": '{"provider": "email", "org_id": "acme"}',
        },
        {
            "id": "6f1f0b9e-0000-4000-8000-000000000002",
            "email": "x@example.com",
            "created_at": "2026-01-05 08:00:00+00",
            "raw_app_meta_data": "{not json",
        },
        {"id": 7, "email": "y@example.com", "created_at": "2026-01-05 08:00:00+00", "encrypted_password": "$2a$10$secretsecretsecret"},
    ]
    items = convert("supabase", write(tmp_path, "users.json", json.dumps(rows, indent=2)))
    assert items[0] == user("6f1f0b9e-0000-4000-8000-000000000001", "ada@acme.io", "2026-01-05T08:00:00+00:00", org_id="acme")
    assert rejection(items[1]) == (9, "raw_app_meta_data", "raw_app_meta_data is not valid JSON")
    assert items[2] == user("7", "y@example.com", "2026-01-05T08:00:00+00:00")
    assert all("secretsecret" not in getattr(item, "raw", "") for item in items)
