"""Personal data and secrets stay in the raw layer: planted in every text field, found nowhere past it."""

from pathlib import Path
from urllib.parse import quote

import dagster as dg
import pytest

from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.engines import connect
from funnel_assets.orchestration.launch import run_everything
from funnel_assets_tests.landing import at, write_landing

EMAIL = "planted.person@leak-example.org"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX2hlcmVfMTIz"
STRIPE_KEY = "sk_live_51HqLyjWDarjtT1zdp7dcXYZ"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
PARAM_SECRET = "s3cr3tValue9"
BEARER = "abcdefghijklmnop12"
RANDOM_TOKEN = "Zq8Xv3Lm9Tr2Wp5Kd7Hs4Nb6Yc1F"
USER_EMAIL = "ada.lovelace@analytical-engines.test"

# what must be found nowhere past raw (each planted below, most of them in every text field)
NEEDLES = [EMAIL, quote(EMAIL, safe=""), "planted.person", "leak-example", JWT.split(".")[0] + "." + JWT.split(".")[1],
           STRIPE_KEY, AWS_KEY, PARAM_SECRET, BEARER, RANDOM_TOKEN, USER_EMAIL, "ada.lovelace", "analytical-engines"]
# free text carrying every kind of secret at once
TEXT = f"see {EMAIL} {JWT} {STRIPE_KEY} {AWS_KEY} api_key={PARAM_SECRET} Bearer {BEARER} {RANDOM_TOKEN}"


def _records() -> dict[str, list[dict]]:
    user_id = USER_EMAIL  # some systems use the address as the user id
    return {
        "auth_users": [
            {"user_id": user_id, "org_id": f"org_{STRIPE_KEY}", "email": USER_EMAIL.upper(),
             "account_type": "organization", "created_at": at()},
        ],
        "api_keys": [
            # the raw key secret as the key id
            {"key_id": STRIPE_KEY, "user_id": user_id, "org_id": f"org_{STRIPE_KEY}", "mode": "live",
             "created_at": at(minutes=1)},
        ],
        "gateway_requests": [
            {"request_id": f"req_{EMAIL}", "timestamp": at(minutes=2), "key_id": STRIPE_KEY, "method": "POST",
             "path": f"/v1/customers/{EMAIL}", "status": 200, "user_agent": f"curl/8.4.0 ({TEXT})"},
            {"request_id": f"req_{RANDOM_TOKEN}", "timestamp": at(minutes=3), "key_id": STRIPE_KEY, "method": "GET",
             "path": f"/v1/customers/{quote(EMAIL, safe='')}/tokens/{JWT}?api_key={PARAM_SECRET}", "status": 200,
             "user_agent": f"acme-python/1.4.2 {TEXT}"},
            {"request_id": "req_3", "timestamp": at(minutes=4), "key_id": STRIPE_KEY, "method": "GET",
             "path": f"/v1/keys/{STRIPE_KEY}/{AWS_KEY}/{RANDOM_TOKEN}/{BEARER}", "status": 401,
             "user_agent": f"acme-{EMAIL}/1.0"},
            {"request_id": "req_4", "timestamp": at(minutes=5), "key_id": STRIPE_KEY, "method": f"PATCH {TEXT}",
             "path": "/v1/customers", "status": 200},
        ],
        "analytics_events": [
            {"message_id": f"msg_{EMAIL}", "type": "page", "timestamp": at(hours=-1), "anonymous_id": EMAIL,
             "properties": {"path": f"/docs/{EMAIL}/{RANDOM_TOKEN}?token={PARAM_SECRET}",
                            "url": f"https://acme.test/docs?email={EMAIL}&{TEXT}", "referrer": f"https://google.com/?q={TEXT}",
                            "utm_source": TEXT, "utm_medium": TEXT, "utm_campaign": TEXT, "title": TEXT}},
            {"message_id": f"msg_{JWT}", "type": "identify", "timestamp": at(), "anonymous_id": EMAIL,
             "user_id": user_id, "properties": {"email": EMAIL, "traits": TEXT}},
            {"message_id": "msg_3", "type": "track", "event": f"signed up {TEXT}", "timestamp": at(minutes=5),
             "user_id": user_id, "properties": {"environment": TEXT, "path": f"/dashboard/{EMAIL}"}},
        ],
        "email_events": [
            {"event_id": f"ev_{EMAIL}", "email": USER_EMAIL, "campaign": f"welcome {TEXT}", "event": "click",
             "timestamp": at(hours=2), "url": f"https://acme.test/?{TEXT}"},
        ],
        "support_tickets": [
            {"ticket_id": f"t_{EMAIL}", "email": f"  {USER_EMAIL} ", "created_at": at(hours=3),
             "subject": f"my key leaked: {TEXT}", "tags": [TEXT, EMAIL]},
        ],
    }


def _found(text: str) -> list[str]:
    lowered = text.lower()
    return [n for n in NEEDLES if n.lower() in lowered]


@pytest.fixture(scope="module")
def planted(tmp_path_factory, definitions):
    root = tmp_path_factory.mktemp("privacy")
    resource = FunnelResource(data_dir=str(root / "data"), warehouse_path=str(root / "warehouse.duckdb"))
    write_landing(root / "data", _records())
    home = root / "dagster_home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        result = run_everything(definitions, resource, instance)
        assert result.success
    return root, resource, home


def _tables(resource: FunnelResource) -> dict[str, str]:
    with connect(Path(resource.warehouse_path), "any-key", read_only=True) as engine:
        names = engine.frame("select table_name from information_schema.tables order by 1").table_name
        return {name: engine.frame(f'select * from "{name}"').to_csv(index=False) for name in names}


def test_the_secrets_were_planted_in_raw(planted):
    _, resource, _ = planted
    tables = _tables(resource)
    raw = "\n".join(text for name, text in tables.items() if name.startswith("raw_"))
    assert _found(raw) == NEEDLES
    # and every planted row was accepted, so its values could travel on
    assert "quarantine" not in tables or tables["quarantine"].count("\n") <= 1


def test_no_table_past_raw_holds_them(planted):
    _, resource, _ = planted
    tables = _tables(resource)
    past_raw = {name: text for name, text in tables.items() if not name.startswith("raw_") and name != "quarantine"}
    assert {"developer_events", "developer_stages", "identity_users", "mart_first_day_errors"} <= past_raw.keys()
    assert {name: _found(text) for name, text in past_raw.items() if _found(text)} == {}
    # the rows are there, scrubbed rather than dropped
    events = tables["developer_events"]
    assert "/v1/customers/{id}" in events and "[email]" in events and "[secret]" in events


def test_neither_the_identity_store_nor_the_dagster_instance_holds_them(planted):
    root, resource, home = planted
    stores = [resource.beside_warehouse("identity.sqlite"), *(p for p in home.rglob("*") if p.is_file())]
    assert any(p.suffix == ".db" for p in stores)  # the instance's event log was searched
    leaks = {str(p): _found(p.read_bytes().decode("utf-8", "replace")) for p in stores}
    assert {p: found for p, found in leaks.items() if found} == {}


@pytest.mark.parametrize(("text", "scrubbed"), [
    ("/docs/getting-started-with-webhooks-and-events", "/docs/getting-started-with-webhooks-and-events"),
    ("quickstart_completed", "quickstart_completed"),
    ("/v1/customers/{id}/payment_methods", "/v1/customers/{id}/payment_methods"),
    ("acme-python", "acme-python"),
    ("spring_launch_2025", "spring_launch_2025"),
    (f"ask {EMAIL} now", "ask [email] now"),
    (f"/u/{quote(EMAIL, safe='')}", "/u/[email]"),
    (f"token={PARAM_SECRET}&page=2", "token=[secret]&page=2"),
    (f"Authorization: Bearer {BEARER}", "Authorization: Bearer [token]"),
    (f"key {STRIPE_KEY} and {AWS_KEY}", "key [secret] and [secret]"),
    (JWT, "[token]"),
    (f"id {RANDOM_TOKEN}", "id [token]"),
])
def test_the_scrubber_keeps_words_and_replaces_secrets(text, scrubbed, tmp_path):
    with connect(tmp_path / "w.duckdb", "k") as engine:
        assert engine.scalar("select scrub($t)", {"t": text}) == scrubbed
        assert engine.scalar("select scrub_id($t)", {"t": "req_42"}) == "req_42"
        assert engine.scalar("select scrub_id($t) = pseudo($t)", {"t": f"req_{EMAIL}"})


def test_rotating_the_key_replaces_every_pseudonym(tmp_path, definitions, monkeypatch):
    from funnel_assets_tests.test_known_answers import call, key, user

    monkeypatch.delenv("FUNNEL_PSEUDONYM_KEY", raising=False)
    data = tmp_path / "data"
    write_landing(data, {
        "auth_users": [user("u1", 0), user("u2", 1)],
        "api_keys": [key("k1", "u1", 0, minutes=1), key("k2", "u2", 1, minutes=1)],
        "gateway_requests": [call("k1", at(minutes=4)), call("k2", at(days=1, hours=1))],
    })

    def run_with(secret: str) -> set[str]:
        resource = FunnelResource(data_dir=str(data), warehouse_path=str(tmp_path / "w.duckdb"), pseudonym_key=secret)
        assert run_everything(definitions, resource, dg.DagsterInstance.ephemeral()).success
        with connect(tmp_path / "w.duckdb", secret) as engine:
            return set(engine.frame("select pseudo(unnest(['u1', 'u2', 'k1', 'k2'])) as p").p)

    old = run_with("the-old-secret")
    new = run_with("the-new-secret")
    assert not old & new
    tables = _tables(FunnelResource(warehouse_path=str(tmp_path / "w.duckdb")))
    past_raw = "\n".join(text for name, text in tables.items() if not name.startswith("raw_"))
    store = (tmp_path / "w.identity.sqlite").read_bytes().decode("utf-8", "replace")
    assert all(p in past_raw for p in new) and all(p in store for p in new if p)
    assert [p for p in old if p in past_raw or p in store] == []
