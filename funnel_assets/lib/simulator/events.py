"""Expand a batch of developers into landing records of every source.

Stage-setting records sit exactly at the planted times: auth_users.created_at
= account_created, the first api_keys row = credential_provisioned, the
qualifying page view on the first device = intent, `quickstart_completed` =
milestone, `webhook_endpoint_registered` (production) = production for
webhook producers; the gateway module does the requests.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .encoding import (
    JsonValues, base62_ids, concat, integers_text, json_objects, json_raw, json_text, json_timestamps, lookup, uuids,
)
from .gateway import draw_requests, request_fields
from .model import DAY, HOUR, MINUTE, SECOND
from .parameters import ACCOUNT_TYPES, CHANNELS, EMAIL_CAMPAIGNS, Parameters
from .writer import LandingWriter

SITE = "https://acme.dev"
INTENT_PATHS = ("/docs", "/docs/quickstart", "/docs/api/customers", "/docs/api/charges", "/docs/webhooks", "/pricing")
OTHER_PATHS = ("/", "/blog/launching-acme-v1", "/blog/idempotency-keys", "/customers", "/about", "/changelog")
DASHBOARD_PATHS = ("/dashboard", "/dashboard/api-keys", "/dashboard/webhooks")
FRICTION_PATHS = ("/docs/authentication",)  # only read when a planting asks for it (plantings.py)
FRICTION_READ_GAP_MS = 75_000  # between two reads of that page: one sitting, not a skim
PAGE_PATHS = INTENT_PATHS + ("/signup",) + OTHER_PATHS + DASHBOARD_PATHS + FRICTION_PATHS
SIGNUP_PATH = PAGE_PATHS.index("/signup")
# (channel, referrer, utm_source, utm_medium, utm_campaign) of a visit's first page view
ATTRIBUTIONS = (
    ("paid", "https://www.google.com/", "google", "cpc", "dev_brand_q1"),
    ("paid", "https://www.linkedin.com/", "linkedin", "paid", "api_launch"),
    ("paid", "https://twitter.com/", "twitter", "ppc", "api_launch"),
    ("paid", None, "reddit", "cpc", "dev_brand_q1"),
    ("organic_search", "https://www.google.com/", None, None, None),
    ("organic_search", "https://www.bing.com/", None, None, None),
    ("organic_search", "https://duckduckgo.com/", None, None, None),
    ("organic_search", "https://search.yahoo.com/", None, None, None),
    ("product_listing", "https://www.producthunt.com/posts/acme-api", None, None, None),
    ("product_listing", "https://github.com/acme-dev/acme-python", None, None, None),
    ("product_listing", "https://www.npmjs.com/package/acme-node", None, None, None),
    ("other", None, None, None, None),
    ("other", "https://news.ycombinator.com/item?id=38123456", None, None, None),
    ("other", "https://www.reddit.com/r/programming/", None, None, None),
    ("other", "https://dev.to/acme/getting-started-with-acme", None, None, None),
    ("other", None, "newsletter", "email", "weekly_digest"),
)
INTERNAL = len(ATTRIBUTIONS)  # a later page view of a visit: referred by the site itself
PAGE, TRACK, IDENTIFY = 0, 1, 2
EVENT_TYPES = ("page", "track", "identify")
TRACK_EVENTS = ("api_key_created", "quickstart_completed", "webhook_endpoint_registered")
FIRST_NAMES = ("jane", "john", "priya", "wei", "amara", "lucas", "sofia", "kenji", "fatima", "noah", "olga", "diego")
LAST_NAMES = ("doe", "smith", "patel", "chen", "okafor", "silva", "rossi", "tanaka", "haddad", "muller", "novak", "garcia")
DOMAINS = ("gmail.com", "example.com", "outlook.com", "fastmail.com", "acme-customer.io", "protonmail.com")
TICKETS = (  # (subject, tags)
    ("API key returns 401 Unauthorized", '["api","auth"]'),
    ("400 Bad Request when creating a charge", '["api","charges"]'),
    ("Rate limited (429) while testing", '["api","rate-limits"]'),
    ("Cannot get my first request to work", '["onboarding"]'),
    ("How do I go live?", '["onboarding","live-mode"]'),
    ("Question about pricing", '["billing"]'),
)


def _uniform(rng, size, low, high) -> np.ndarray:
    return low + rng.random(size) * (np.asarray(high) - np.asarray(low))


def draw_identities(rng: np.random.Generator, devs: dict[str, np.ndarray], org_of: np.ndarray) -> dict[str, pa.Array]:
    """User ids, unique e-mail addresses and the org id of each developer's organisation (`org_of`, -1: none)."""
    n = len(devs["signup_at"])
    first, last = rng.integers(0, len(FIRST_NAMES), n), rng.integers(0, len(LAST_NAMES), n)
    email = concat(
        lookup(FIRST_NAMES, first), ".", lookup(LAST_NAMES, last), integers_text(np.arange(n) + 1),
        "@", lookup(DOMAINS, rng.integers(0, len(DOMAINS), n)),
    )
    org_ids = base62_ids(rng, int(org_of.max(initial=-1)) + 1, 14, "org_")
    return {
        "user_id": base62_ids(rng, n, 16, "usr_"),
        "email": email,
        "org_id": org_ids.take(pa.array(org_of, mask=org_of < 0)),
    }


def _email_variants(rng, emails: pa.Array) -> pa.Array:
    """The same address as another system types it: random case and surrounding whitespace."""
    n = len(emails)
    case = rng.integers(0, 4, n)
    cased = pc.if_else(pa.array(case == 1), pc.utf8_upper(emails),
                       pc.if_else(pa.array(case == 2), pc.utf8_title(emails), emails))
    padding = ("", "", "", " ", "  ")
    return concat(lookup(padding, rng.integers(0, len(padding), n)), cased, lookup(padding, rng.integers(0, len(padding), n)))


class Analytics:
    """Analytics events collected group by group; anonymous and user ids as indices into tables (-1 = none)."""

    def __init__(self, rng):
        self.rng = rng
        self._parts: list[dict] = []

    def add(self, time, kind, *, anonymous=-1, user=-1, event=-1, properties: pa.Array | None = None) -> None:
        size = len(time)
        part = {k: np.broadcast_to(np.asarray(v), size) for k, v in
                {"time": time, "type": kind, "anonymous": anonymous, "user": user, "event": event}.items()}
        part["properties"] = properties if properties is not None else pa.nulls(size, pa.string())
        self._parts.append(part)

    def page(self, time, path, anonymous, user=-1, attribution=INTERNAL) -> None:
        path = np.broadcast_to(np.asarray(path), len(time))
        self.add(time, PAGE, anonymous=anonymous, user=user, properties=_page_properties(path, attribution))

    def fields(self, anonymous_ids: pa.Array, user_ids: pa.Array) -> tuple[np.ndarray, dict[str, JsonValues]]:
        columns = {k: np.concatenate([p[k] for p in self._parts]) for k in ("time", "type", "anonymous", "user", "event")}
        properties = pa.concat_arrays([p["properties"] for p in self._parts])
        time, n = columns["time"], len(columns["time"])
        sent = time + np.round(self.rng.random(n) * 2 * SECOND)
        received = sent + np.round(_uniform(self.rng, n, 20, 800))
        anonymous, user = columns["anonymous"], columns["user"]
        return time, {
            "message_id": json_text(uuids(self.rng, n)),
            "type": json_text(lookup(EVENT_TYPES, columns["type"])),
            "event": json_text(lookup(TRACK_EVENTS, columns["event"])),
            "anonymous_id": json_text(anonymous_ids.take(pa.array(anonymous, mask=anonymous < 0))),
            "user_id": json_text(user_ids.take(pa.array(user, mask=user < 0))),
            "timestamp": json_timestamps(time),
            "sent_at": json_timestamps(sent),
            "received_at": json_timestamps(received),
            "properties": json_raw(properties),
        }


def _page_properties(path, attribution) -> pa.Array:
    """path, url, and for a visit's first view its referrer and UTM tags (later views: the site as referrer)."""
    attribution = np.broadcast_to(np.asarray(attribution), len(path))
    rows = [a[1:] for a in ATTRIBUTIONS] + [(f"{SITE}/", None, None, None)]
    referrer, source, medium, campaign = (list(column) for column in zip(*rows))
    utm = [f"?utm_source={s}&utm_medium={m}&utm_campaign={c}" if m else None for _, s, m, c in rows]
    paths = lookup(PAGE_PATHS, path)
    url = pc.binary_join_element_wise(SITE, paths, lookup(utm, attribution), "",
                                      null_handling="replace", null_replacement="")
    return json_objects({
        "path": json_text(paths),
        "url": json_text(url),
        "referrer": json_text(lookup(referrer, attribution)),
        "utm_source": json_text(lookup(source, attribution)),
        "utm_medium": json_text(lookup(medium, attribution)),
        "utm_campaign": json_text(lookup(campaign, attribution)),
    })


def _track_properties(fields: dict[str, list]) -> pa.Array:
    return json_objects({name: json_text(pa.array(values, type=pa.string())) for name, values in fields.items()})


def _attribution(rng, channel: np.ndarray) -> np.ndarray:
    """A random first-view attribution row of each visit's channel (rows are grouped by channel)."""
    names = np.array([a[0] for a in ATTRIBUTIONS])
    first = np.array([np.flatnonzero(names == c)[0] for c in CHANNELS[:-1]])
    count = np.array([(names == c).sum() for c in CHANNELS[:-1]])
    return first[channel] + np.floor(rng.random(len(channel)) * count[channel]).astype(np.int64)


def _developer_analytics(rng, out: Analytics, devs, plan, end: float) -> None:
    """Pre-signup browsing, identify at signup, dashboard and docs visits, milestone and webhook events.

    Anonymous id index: i = the signup device of developer i, n + i = the device of the first
    visit (when that was another device)."""
    n = len(devs["signup_at"])
    dev = np.arange(n)
    signup, intent = devs["signup_at"], devs["intent_at"]
    first_device = np.where(devs["second_device"], n + dev, dev)
    observed = np.flatnonzero(devs["intent_observed"])
    attribution = _attribution(rng, devs["channel"][observed])

    lands_elsewhere = devs["first_view_at"][observed] < intent[observed]
    landing = observed[lands_elsewhere]
    out.page(devs["first_view_at"][landing], rng.integers(0, len(OTHER_PATHS), len(landing)) + len(INTENT_PATHS) + 1,
             first_device[landing], attribution=attribution[lands_elsewhere])
    out.page(intent[observed], rng.integers(0, len(INTENT_PATHS), len(observed)), first_device[observed],
             attribution=np.where(lands_elsewhere, INTERNAL, attribution))
    browsing = np.repeat(observed, rng.integers(0, 4, len(observed)))
    between = intent[browsing] + np.round(_uniform(rng, len(browsing), 0.05, 0.9) * (signup - intent)[browsing])
    out.page(between, rng.integers(0, SIGNUP_PATH + len(OTHER_PATHS) + 1, len(browsing)), first_device[browsing])
    lead = np.round(_uniform(rng, len(observed), 0.05, 0.95) * np.minimum((signup - intent)[observed], 3 * MINUTE))
    out.page(signup[observed] - lead, SIGNUP_PATH, observed)

    out.add(signup + np.round(_uniform(rng, n, 50, 2 * SECOND)), IDENTIFY, anonymous=dev, user=dev)
    dashboard = PAGE_PATHS.index("/dashboard")
    out.page(signup + np.round(_uniform(rng, n, 3 * SECOND, 30 * SECOND)), dashboard, dev, dev)
    restitched = np.flatnonzero(devs["second_device"])
    out.page(signup[restitched] + np.round(_uniform(rng, len(restitched), HOUR, 10 * DAY)), dashboard,
             n + restitched, restitched)
    _docs_visits(rng, out, devs, plan)
    _key_events(rng, out, devs, plan)
    _milestone_and_webhooks(rng, out, devs, end)
    if "friction_reads" in devs:
        _friction_page_reads(out, devs, end)


def _friction_page_reads(out: Analytics, devs, end: float) -> None:
    """The planted docs page, read `friction_reads` times in one sitting (plantings.py); no draws of the batch's own."""
    dev = np.repeat(np.arange(len(devs["signup_at"])), devs["friction_reads"])
    nth = np.arange(len(dev)) - np.repeat(np.cumsum(devs["friction_reads"]) - devs["friction_reads"], devs["friction_reads"])
    time = devs["friction_at"][dev] + nth * FRICTION_READ_GAP_MS
    dev, time = dev[time <= end], time[time <= end]
    out.page(time, devs["friction_page"][dev], dev, dev)


def _docs_visits(rng, out: Analytics, devs, plan) -> None:
    signup = devs["signup_at"]
    last_visit = np.where(np.isnan(plan["life_end"]), signup + 14 * DAY, plan["life_end"])
    dev = np.repeat(np.arange(len(signup)), rng.integers(0, 5, len(signup)))
    time = signup[dev] + np.round(_uniform(rng, len(dev), HOUR, np.maximum(last_visit[dev] - signup[dev], 2 * HOUR)))
    out.page(time, rng.integers(0, len(INTENT_PATHS), len(dev)), dev, dev)


def _key_events(rng, out: Analytics, devs, plan) -> None:
    keys_page = PAGE_PATHS.index("/dashboard/api-keys")
    for created, mode in ((devs["key_at"], "test"), (plan["live_key_at"], "live")):
        dev = np.flatnonzero(~np.isnan(created))
        out.page(created[dev] - np.round(_uniform(rng, len(dev), SECOND, 8 * SECOND)), keys_page, dev, dev)
        out.add(created[dev] + np.round(_uniform(rng, len(dev), 100, SECOND)), TRACK, anonymous=dev, user=dev,
                event=TRACK_EVENTS.index("api_key_created"), properties=_track_properties({"mode": [mode] * len(dev)}))


def _milestone_and_webhooks(rng, out: Analytics, devs, end: float) -> None:
    milestone = np.flatnonzero(~np.isnan(devs["milestone_at"]))
    languages = ("python", "node", "go", "ruby", "java", "curl")
    out.add(devs["milestone_at"][milestone], TRACK, anonymous=milestone, user=milestone,
            event=TRACK_EVENTS.index("quickstart_completed"),
            properties=_track_properties({"language": [languages[i] for i in rng.integers(0, 6, len(milestone))]}))

    production, first_call = devs["production_at"], devs["first_call_at"]
    webhook_producer = np.flatnonzero(devs["production_signal"] == 2)
    later_webhook = np.flatnonzero(devs["production_signal"] == 1)
    later_webhook = later_webhook[rng.random(len(later_webhook)) < 0.3]
    test_webhook = np.flatnonzero(~np.isnan(first_call) & (rng.random(len(first_call)) < 0.25))
    registrations = (
        (webhook_producer, production[webhook_producer], "production"),
        (later_webhook, production[later_webhook] + np.round(_uniform(rng, len(later_webhook), HOUR, 20 * DAY)), "production"),
        (test_webhook, first_call[test_webhook] + np.round(_uniform(rng, len(test_webhook), 10 * MINUTE, 10 * DAY)), "test"),
    )
    webhooks_page = PAGE_PATHS.index("/dashboard/webhooks")
    for dev, time, environment in registrations:
        dev, time = dev[time <= end], time[time <= end]
        out.page(time - np.round(_uniform(rng, len(dev), 5 * SECOND, MINUTE)), webhooks_page, dev, dev)
        out.add(time, TRACK, anonymous=dev, user=dev, event=TRACK_EVENTS.index("webhook_endpoint_registered"),
                properties=_track_properties({
                    "environment": [environment] * len(dev),
                    "url": ["https://api.customer-app.example/webhooks/acme"] * len(dev),
                }))


def _visitor_analytics(rng, out: Analytics, visitors: dict[str, np.ndarray], first_index: int) -> None:
    """Anonymous visitors who never sign up: a landing page, and a docs/pricing view when they show intent."""
    n = len(visitors["visitor_channel"])
    anonymous = first_index + np.arange(n)
    first_view = visitors["visitor_first_view_at"]
    has_intent = visitors["visitor_has_intent"]
    lands_elsewhere = ~has_intent | (rng.random(n) < 0.35)
    other_path = rng.integers(0, len(OTHER_PATHS), n) + len(INTENT_PATHS) + 1
    out.page(first_view, np.where(lands_elsewhere, other_path, rng.integers(0, len(INTENT_PATHS), n)), anonymous,
             attribution=_attribution(rng, visitors["visitor_channel"]))
    then = np.flatnonzero(has_intent & lands_elsewhere)
    out.page(first_view[then] + np.round(_uniform(rng, len(then), 10 * SECOND, 5 * MINUTE)),
             rng.integers(0, len(INTENT_PATHS), len(then)), anonymous[then])
    wanders = np.flatnonzero(~has_intent & (rng.random(n) < 0.5))
    out.page(first_view[wanders] + np.round(_uniform(rng, len(wanders), 10 * SECOND, 10 * MINUTE)),
             rng.integers(0, len(OTHER_PATHS), len(wanders)) + len(INTENT_PATHS) + 1, anonymous[wanders])


def _email_events(rng, devs, ids) -> tuple[np.ndarray, dict[str, JsonValues]]:
    """Onboarding e-mails realising each developer's engagement segment (one open per e-mail at most)."""
    n, k = len(devs["signup_at"]), len(EMAIL_CAMPAIGNS)
    segment, bounced = devs["email_segment"], devs["email_bounced"]
    offsets = np.array([days for _, days in EMAIL_CAMPAIGNS]) * DAY
    sent = devs["signup_at"][:, None] + offsets + np.round(_uniform(rng, (n, k), MINUTE, 10 * MINUTE))
    unsubscribes = ~bounced & (segment < 2) & (rng.random(n) < 0.08)
    last = np.where(unsubscribes, rng.integers(1, k, n), k - 1)
    delivered = ~bounced[:, None] & (np.arange(k) <= last[:, None])
    rank = np.argsort(np.argsort(np.where(delivered, rng.random((n, k)), 2.0), axis=1), axis=1)
    opens_wanted = np.select([segment == 2, segment == 1],
                             [rng.integers(3, k + 1, n), 1 + np.floor(rng.random(n) * (last + 1))], 0)
    opened = rank < opens_wanted[:, None]
    clicked = opened & (segment[:, None] == 2) & ((rng.random((n, k)) < 0.4) | (rank == 0))
    open_at = sent + np.round(np.exp(_uniform(rng, (n, k), np.log(2 * MINUTE), np.log(2 * DAY))))
    click_at = open_at + np.round(_uniform(rng, (n, k), 5 * SECOND, 10 * MINUTE))
    unsubscribe_at = sent[np.arange(n), last] + np.round(_uniform(rng, n, 2 * DAY, 3 * DAY))

    campaign = np.broadcast_to(np.arange(k), (n, k))
    dev = np.broadcast_to(np.arange(n)[:, None], (n, k))
    kinds = ("delivered", "open", "click", "bounce", "unsubscribe")
    groups = [  # (which e-mails, when, event kind)
        (delivered, sent, 0),
        (opened, open_at, 1),
        (clicked, click_at, 2),
        (bounced[:, None] & (campaign == 0), sent, 3),
        (unsubscribes[:, None] & (campaign == last[:, None]), np.broadcast_to(unsubscribe_at[:, None], (n, k)), 4),
    ]
    rows = [(dev[m], campaign[m], t[m], np.full(m.sum(), kind)) for m, t, kind in groups]
    dev, campaign, time, kind = (np.concatenate(column) for column in zip(*rows))
    names = [name for name, _ in EMAIL_CAMPAIGNS]
    url = lookup([f"{SITE}/docs/quickstart?utm_source=onboarding&utm_medium=email&utm_campaign={c}" for c in names],
                 np.where(kind == 2, campaign, -1))
    return time, {
        "event_id": json_text(base62_ids(rng, len(dev), 20, "evt_")),
        "email": json_text(_email_variants(rng, ids["email"].take(pa.array(dev)))),
        "campaign": json_text(lookup(names, campaign)),
        "event": json_text(lookup(kinds, kind)),
        "timestamp": json_timestamps(time),
        "url": json_text(url),
    }


def _support_tickets(rng, devs, ids, first_dev: int, p: Parameters, end: float) -> tuple[np.ndarray, dict[str, JsonValues]]:
    """At most one ticket per developer, far more often after first-session errors."""
    n = len(devs["signup_at"])
    reasons = np.column_stack([devs["unauthorized_before_first_call"], devs["bad_request_first_day"],
                               devs["rate_limited_first_day"], devs["failed_attempts_only"]])
    had_errors = reasons.any(axis=1)
    opens = rng.random(n) < np.where(had_errors, p.ticket_share_after_errors, p.ticket_share)
    general = 4 + rng.integers(0, 2, n)
    reason = np.where(had_errors, np.argmax(reasons, axis=1), general)
    after_error = np.where(reason == 3, devs["key_at"], devs["first_call_at"])
    time = np.round(np.where(had_errors, after_error + _uniform(rng, n, 10 * MINUTE, 2 * DAY),
                             devs["signup_at"] + _uniform(rng, n, DAY, 30 * DAY)))
    dev = np.flatnonzero(opens & (time <= end))
    return time[dev], {
        "ticket_id": json_text(integers_text(100_000 + first_dev + dev)),
        "email": json_text(_email_variants(rng, ids["email"].take(pa.array(dev)))),
        "created_at": json_timestamps(time[dev]),
        "subject": json_text(lookup([s for s, _ in TICKETS], reason[dev])),
        "tags": json_raw(lookup([t for _, t in TICKETS], reason[dev])),
    }


def _auth_users(rng, devs, ids) -> tuple[np.ndarray, dict[str, JsonValues]]:
    n = len(devs["signup_at"])
    verified_after = np.exp(_uniform(rng, n, np.log(10 * SECOND), np.log(2 * DAY)))
    verified_at = np.where(devs["email_verified"], devs["signup_at"] + np.round(verified_after), np.nan)
    return devs["signup_at"], {
        "user_id": json_text(ids["user_id"]),
        "org_id": json_text(ids["org_id"]),
        "email": json_text(ids["email"]),
        "account_type": json_text(lookup(ACCOUNT_TYPES, devs["account_type"])),
        "created_at": json_timestamps(devs["signup_at"]),
        "email_verified_at": json_timestamps(verified_at),
    }


def _api_keys(devs, plan, ids, key_ids: pa.Array) -> tuple[np.ndarray, dict[str, JsonValues]]:
    """Rows for the first test key, the key rotated in, and the live key (slots 0, 1, 2 of `key_ids`).

    A rotation creates the new key and revokes the old one at the same instant;
    a churned developer's current test key is revoked after their last use."""
    n = len(devs["signup_at"])
    rotation, churn_revocation = plan["rotation_at"], plan["revoked_at"]
    rotated = ~np.isnan(rotation)
    created = np.concatenate([devs["key_at"], rotation, plan["live_key_at"]])
    revoked = np.concatenate([np.where(rotated, rotation, churn_revocation),
                              np.where(rotated, churn_revocation, np.nan), np.full(n, np.nan)])
    rows = np.flatnonzero(~np.isnan(created))
    dev, slot = rows % n, rows // n
    return created[rows], {
        "key_id": json_text(key_ids.take(pa.array(rows))),
        "user_id": json_text(ids["user_id"].take(pa.array(dev))),
        "org_id": json_text(ids["org_id"].take(pa.array(dev))),
        "mode": json_text(lookup(("test", "test", "live"), slot)),
        "created_at": json_timestamps(created[rows]),
        "revoked_at": json_timestamps(revoked[rows]),
    }


def write_batch(sink: LandingWriter, rng: np.random.Generator, devs, plan, ids, visitors, first_dev: int,
                p: Parameters, scale: float, end: float) -> dict[str, np.ndarray]:
    """Write every record of one batch of developers (and its share of anonymous visitors).

    Returns the batch's requests (without their text) for the counts in truth.json."""
    n = len(devs["signup_at"])
    key_ids = base62_ids(rng, 3 * n, 20, "key_")
    sink.write("auth_users", *_auth_users(rng, devs, ids))
    sink.write("api_keys", *_api_keys(devs, plan, ids, key_ids))

    requests = draw_requests(rng, devs, plan, p, scale, end)
    sink.write("gateway_requests", requests["time"], request_fields(rng, requests, key_ids, n, plan))

    analytics = Analytics(rng)
    _developer_analytics(rng, analytics, devs, plan, end)
    _visitor_analytics(rng, analytics, visitors, 2 * n)
    visitor_count = len(visitors["visitor_channel"])
    anonymous_ids = uuids(rng, 2 * n + visitor_count)
    sink.write("analytics_events", *analytics.fields(anonymous_ids, ids["user_id"]))
    sink.write("email_events", *_email_events(rng, devs, ids))
    sink.write("support_tickets", *_support_tickets(rng, devs, ids, first_dev, p, end))
    return requests
