"""E-mail (SendGrid, Customer.io, Mailchimp) and support (Zendesk) adapters on the vendors' samples and hand-written payloads."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote


from funnel_assets_tests.adapters.helpers import SAMPLES, convert, needs_samples, rejection, write
from funnel_assets.lib.adapters import Converted, Rejected


def email_event(event_id: str, event: str, timestamp: str, email: str = "example@test.com", campaign: str = "cat facts", **extra) -> Converted:
    return Converted("email_events", {"event_id": event_id, "email": email, "campaign": campaign, "event": event, "timestamp": timestamp, **extra})


# --- SendGrid ------------------------------------------------------------------------


SENDGRID_TIME = "2017-12-15T00:59:29+00:00"


def no_landing_event(kind: str) -> str:
    return f"SendGrid event {kind!r} has no landing e-mail event (['bounce', 'click', 'delivered', 'open', 'unsubscribe'])"


@needs_samples


def test_sendgrid_per_event_examples():
    items = convert("sendgrid", SAMPLES / "sendgrid" / "event_webhook_per_event_examples.json")
    assert [item if isinstance(item, Converted) else rejection(item) for item in items] == [
        (2, "event", no_landing_event("processed")),
        (15, "event", no_landing_event("dropped")),
        email_event("rWVYmVk90MjZJ9iohOBa3w==", "delivered", SENDGRID_TIME),
        (36, "event", no_landing_event("deferred")),
        email_event("6g4ZI7SA-xmRDv57GoPIPw==", "bounce", SENDGRID_TIME),  # type bounce
        email_event("6g4ZI7SA-xmRDv57GoPIPw==", "bounce", SENDGRID_TIME),  # type blocked
        email_event("FOTFFO0ecsBE-zxFXfs6WA==", "open", SENDGRID_TIME),
        email_event("kCAi1KttyQdEKHhdC-nuEA==", "click", SENDGRID_TIME, url="http://www.sendgrid.com/"),
        (94, "event", no_landing_event("spamreport")),
        email_event("zz_BjPgU_5pS-J8vlfB1sg==", "unsubscribe", SENDGRID_TIME),
        email_event("ahSCB7xYcXFb-hEaawsPRw==", "unsubscribe", SENDGRID_TIME),  # group_unsubscribe
        (125, "event", no_landing_event("group_resubscribe")),
    ]


@needs_samples


def test_sendgrid_all_types_example():
    items = convert("sendgrid", SAMPLES / "sendgrid" / "event_webhook_all_types.json")
    converted = [(item.record["event"], item.record["event_id"]) for item in items if isinstance(item, Converted)]
    # the docs' placeholder id is the same on every event: the raw layer keeps the first
    assert converted == [(event, "sg_event_id") for event in ("delivered", "open", "click", "bounce", "unsubscribe", "unsubscribe")]
    assert [item.line for item in items if isinstance(item, Rejected)] == [2, 11, 66, 77, 108]


def test_sendgrid_category_as_string_or_list(tmp_path):
    base = {"email": "ada@acme.io", "timestamp": 1772442000, "event": "open", "sg_event_id": "e"}
    events = [{**base, "category": "onboarding_day1"}, {**base, "category": ["onboarding_day1"]}, {**base, "category": ["onboarding", "day3"]}, base]
    items = convert("sendgrid", write(tmp_path, "sg.json", json.dumps(events)))
    assert [item.record["campaign"] for item in items] == ["onboarding_day1", "onboarding_day1", "onboarding,day3", "(none)"]


def test_sendgrid_campaign_from_a_custom_argument(tmp_path):
    event = {
        "email": "ada@acme.io",
        "timestamp": 1772442000,
        "event": "click",
        "sg_event_id": "e",
        "url": "https://acme.dev/docs",
        "category": ["transactional"],
        "campaign": "welcome_v2",
    }
    [item] = convert("sendgrid", write(tmp_path, "sg.json", json.dumps([event])), campaign_field="campaign")
    assert item == email_event("e", "click", "2026-03-02T09:00:00+00:00", email="ada@acme.io", campaign="welcome_v2", url="https://acme.dev/docs")


def test_sendgrid_malformed_events(tmp_path):
    base = {"email": "ada@acme.io", "timestamp": 1772442000, "event": "open", "sg_event_id": "e"}
    lines = [
        '[{"email": "x",]',
        json.dumps({**base, "sg_event_id": None}),
        json.dumps({**base, "timestamp": "soon"}),
        json.dumps({**base, "category": {"a": 1}}),
    ]
    items = convert("sendgrid", write(tmp_path, "sg.jsonl", "\n".join(lines)))
    assert [rejection(item) for item in items] == [
        (1, None, "invalid JSON: Expecting property name enclosed in double quotes"),
        (2, "sg_event_id", "sg_event_id is missing"),
        (3, "timestamp", "timestamp 'soon' is not a timestamp"),
        (4, "category", "category should be a string, got dict {'a': 1}"),
    ]


# --- Customer.io ---------------------------------------------------------------------------


@needs_samples


def test_customerio_email_opened_sample():
    [item] = convert("customerio", SAMPLES / "customerio" / "reporting_webhook_email_opened_NOTE_timestamp_substituted.json")
    assert item == email_event("01E4C4CT6YDC7Y5M7FE1GWWPQJ", "open", "2021-02-11T17:04:49+00:00", email="test@example.com", campaign="campaign:123")


@needs_samples


def test_customerio_customer_subscribed_sample_is_not_an_email_event():
    [item] = convert("customerio", SAMPLES / "customerio" / "reporting_webhook_customer_subscribed.json")
    assert rejection(item) == (1, "object_type", "customer subscribed is not an e-mail event")


def test_customerio_clicks_unsubscribes_and_other_channels(tmp_path):
    events = [
        {
            "event_id": "c1",
            "object_type": "email",
            "metric": "clicked",
            "timestamp": 1772442000,
            "data": {"recipient": "ada@acme.io", "broadcast_id": 7, "href": "https://acme.dev/quickstart"},
        },
        {"event_id": "c2", "object_type": "customer", "metric": "unsubscribed", "timestamp": 1772442000, "data": {"email_address": "ada@acme.io"}},
        {"event_id": "c3", "object_type": "push", "metric": "opened", "timestamp": 1772442000, "data": {}},
        {"event_id": "c4", "object_type": "email", "metric": "converted", "timestamp": 1772442000, "data": {"recipient": "ada@acme.io"}},
        {"event_id": "c5", "object_type": "email", "metric": "delivered", "timestamp": 1772442000, "data": {"campaign_id": 3}},
    ]
    items = convert("customerio", write(tmp_path, "cio.jsonl", "\n".join(json.dumps(event) for event in events)))
    assert items[:2] == [
        email_event("c1", "click", "2026-03-02T09:00:00+00:00", email="ada@acme.io", campaign="broadcast:7", url="https://acme.dev/quickstart"),
        email_event("c2", "unsubscribe", "2026-03-02T09:00:00+00:00", email="ada@acme.io", campaign="(none)"),
    ]
    assert [rejection(item) for item in items[2:]] == [
        (3, "object_type", "push opened is not an e-mail event"),
        (4, "metric", "metric 'converted' has no landing e-mail event (['bounced', 'clicked', 'delivered', 'opened', 'unsubscribed'])"),
        (5, "data.recipient", "the event names no recipient address"),
    ]


# --- Mailchimp -------------------------------------------------------------------------------


def docs_listing_as_json(tmp_path: Path, name: str) -> Path:
    """Mailchimp's docs list the form fields as `"key": "value",` lines: as a JSON object they are the decoded form."""
    listing = (SAMPLES / "mailchimp" / name).read_text()
    return write(tmp_path, name + ".json", "{" + listing + "}")


@needs_samples


def test_mailchimp_subscribe_sample_form_body_is_not_an_email_event():
    [item] = convert("mailchimp", SAMPLES / "mailchimp" / "webhook_subscribe.urlencoded.txt")
    assert rejection(item) == (1, "type", "audience webhook 'subscribe' is not an e-mail event (unsubscribe, cleaned)")


@needs_samples


def test_mailchimp_subscribe_sample_listing(tmp_path):
    [item] = convert("mailchimp", docs_listing_as_json(tmp_path, "webhook_subscribe.form.txt"))
    assert rejection(item)[1:] == ("type", "audience webhook 'subscribe' is not an e-mail event (unsubscribe, cleaned)")


@needs_samples


def test_mailchimp_unsubscribe_sample_from_a_campaign(tmp_path):
    [item] = convert("mailchimp", docs_listing_as_json(tmp_path, "webhook_unsubscribe.form.txt"))
    assert item == email_event(
        "mailchimp-sha1-c62da66e63501c730e25051e146db085",
        "unsubscribe",
        "2009-03-26T21:40:57+00:00",
        email="api+unsub@mailchimp.com",
        campaign="cb398d21d2",
    )


def test_mailchimp_form_bodies_cleaned_and_timezone(tmp_path):
    bodies = [
        # a key sent twice keeps its last value, as in Mailchimp's own unsubscribe sample
        "type=cleaned&fired_at=2026-03-02+10%3A00%3A00&data%5Blist_id%5D=a6b5&data%5Bcampaign_id%5D=4fjk2ma9xd"
        "&data%5Breason%5D=abuse&data%5Breason%5D=hard&data%5Bemail%5D=gone%40example.com",
        "type=cleaned&fired_at=2026-03-02+10%3A00%3A00&data%5Breason%5D=abuse&data%5Bemail%5D=angry%40example.com",
        "type=unsubscribe&fired_at=2026-03-02+10%3A00%3A00&data%5Bemail%5D=",
    ]
    items = convert("mailchimp", write(tmp_path, "bodies.txt", "\n".join(bodies) + "\n"), fired_at_timezone="Europe/Paris")
    assert [(item.record["email"], item.record["event"], item.record["campaign"], item.record["timestamp"]) for item in items[:2]] == [
        ("gone@example.com", "bounce", "4fjk2ma9xd", "2026-03-02T09:00:00+00:00"),
        ("angry@example.com", "unsubscribe", "(none)", "2026-03-02T09:00:00+00:00"),
    ]
    assert rejection(items[2]) == (3, "data[email]", "data[email] is missing")


def test_mailchimp_transactional_events(tmp_path):
    welcome = {"email": "ada@acme.io", "subject": "Welcome to Acme", "tags": [], "_id": "m1"}
    events = [
        {"event": "open", "_id": "m1", "ts": 1772442000, "msg": {**welcome, "tags": ["onboarding", "day0"]}},
        {"event": "click", "_id": "m1", "ts": 1772442060, "url": "https://acme.dev/keys", "msg": welcome},
        {"event": "hard_bounce", "_id": "m2", "ts": 1772442000, "msg": {"email": "nobody@example.com", "_id": "m2"}},
        {"event": "spam", "_id": "m3", "ts": 1772442000, "msg": {"email": "x@example.com"}},
    ]
    path = write(tmp_path, "mandrill.txt", "mandrill_events=" + quote(json.dumps(events)) + "\n")
    items = convert("mailchimp", path)
    assert items[:3] == [
        email_event("m1:open:1772442000", "open", "2026-03-02T09:00:00+00:00", email="ada@acme.io", campaign="onboarding,day0"),
        email_event(
            "m1:click:1772442060",
            "click",
            "2026-03-02T09:01:00+00:00",
            email="ada@acme.io",
            campaign="Welcome to Acme",  # no tags: the subject names it
            url="https://acme.dev/keys",
        ),
        email_event("m2:hard_bounce:1772442000", "bounce", "2026-03-02T09:00:00+00:00", email="nobody@example.com", campaign="(none)"),
    ]
    assert rejection(items[3]) == (
        1,
        "event",
        "Transactional event 'spam' has no landing e-mail event (['click', 'hard_bounce', 'open', 'send', 'soft_bounce', 'unsub'])",
    )


def test_mailchimp_broken_transactional_batch_is_rejected(tmp_path):
    [item] = convert("mailchimp", write(tmp_path, "mandrill.txt", "mandrill_events=%5B%7Bbroken\n"))
    assert item.line == 1 and item.field is None and item.reason.startswith("cannot read the records it wraps")


# --- Zendesk --------------------------------------------------------------------------------


@needs_samples


def test_zendesk_ticket_without_requester_address_is_rejected():
    [item] = convert("zendesk", SAMPLES / "zendesk" / "ticket_object_example.json")
    assert rejection(item) == (1, "requester_id", "no e-mail address for requester 20978392: export with include=users")


@needs_samples


def test_zendesk_ticket_with_side_loaded_requester(tmp_path):
    ticket = json.loads((SAMPLES / "zendesk" / "ticket_object_example.json").read_text())
    page = {"tickets": [ticket], "users": [{"id": 20978392, "email": "Printer.Owner@Example.com "}], "end_of_stream": True}
    [item] = convert("zendesk", write(tmp_path, "tickets.json", json.dumps(page)))
    assert item == Converted(
        "support_tickets",
        {
            "ticket_id": "35436",
            "email": "Printer.Owner@Example.com ",  # kept as sent: e-mails are trimmed and lower-cased when joined
            "created_at": "2009-07-20T22:55:29+00:00",
            "subject": "Help, my printer is on fire!",
            "tags": ["enterprise", "other_tag"],
        },
    )


def test_zendesk_single_ticket_email_channel_option_and_malformed(tmp_path):
    lines = [
        {
            "ticket": {
                "id": 1,
                "created_at": "2026-03-02T09:00:00Z",
                "requester_id": 5,
                "via": {"channel": "email", "source": {"from": {"address": "ada@acme.io"}}},
                "tags": [],
            }
        },
        {"id": 2, "created_at": "2026-03-02T10:00:00Z", "requester_id": 6, "subject": "401 on every call"},
        {"id": 3, "created_at": "2026-03-02T10:00:00Z", "requester_id": 7},
        {"id": 4, "created_at": "2026-03-02T10:00:00Z", "requester_id": 6, "tags": "urgent"},
    ]
    path = write(tmp_path, "tickets.jsonl", "\n".join(json.dumps(line) for line in lines))
    items = convert("zendesk", path, requester_emails={6: "bob@example.com"})
    assert [item.record for item in items[:2]] == [
        {"ticket_id": "1", "email": "ada@acme.io", "created_at": "2026-03-02T09:00:00+00:00", "tags": []},
        {"ticket_id": "2", "email": "bob@example.com", "created_at": "2026-03-02T10:00:00+00:00", "subject": "401 on every call"},
    ]
    assert [rejection(item) for item in items[2:]] == [
        (3, "requester_id", "no e-mail address for requester 7: export with include=users"),
        (4, "tags", "tags should be a list"),
    ]
