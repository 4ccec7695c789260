"""Planted behaviour of the simulated developers, and the vocabularies they use.

Every number the simulator plants lives in `Parameters`, so truth.json can
record it and a test can change it. Probabilities keyed by channel use the
names in `CHANNELS`; time ranges are (low, high) in the unit the field name
says. Channel behaviour follows the seed: paid developers convert less and
call later, organic-search developers have high intent and often skip the
quickstart, product-listing developers are exploring and call less.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from funnel_assets.lib.stage_names import STAGES  # noqa: F401  (the simulator plants these)

CHANNELS = ("paid", "organic_search", "product_listing", "other", "unknown")
UNKNOWN_CHANNEL = CHANNELS.index("unknown")
ACCOUNT_TYPES = ("individual", "organization")
EMAIL_SEGMENTS = ("none", "medium", "high")
PRODUCTION_SIGNALS = ("none", "live_call", "webhook")

# (client_name, client_kind, user agent); None = the request carries no User-Agent.
CLIENTS = (
    ("acme-python", "sdk", "acme-python/1.4.2"),
    ("acme-node", "sdk", "acme-node/3.2.0"),
    ("acme-go", "sdk", "acme-go/0.9.1"),
    ("acme-ruby", "sdk", "acme-ruby/2.1.0"),
    ("acme-java", "sdk", "acme-java/1.0.3"),
    ("curl", "raw_http", "curl/8.4.0"),
    ("python-requests", "raw_http", "python-requests/2.31.0"),
    ("postmanruntime", "raw_http", "PostmanRuntime/7.36.0"),
    ("axios", "raw_http", "axios/1.6.2"),
    ("go-http-client", "raw_http", "Go-http-client/1.1"),
    ("okhttp", "raw_http", "okhttp/4.12.0"),
    ("wget", "raw_http", "Wget/1.21.4"),
    ("node-fetch", "raw_http", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)"),
    ("httpie", "raw_http", "HTTPie/3.2.2"),
    (
        "unknown",
        "unknown",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    ),
    ("unknown", "unknown", None),
)
CLIENT_KINDS = ("sdk", "raw_http", "unknown")
CLIENT_NAMES = tuple(dict.fromkeys(name for name, _, _ in CLIENTS))

# (method, route template, status of a success, how a raw path's id looks)
ENDPOINTS = (
    ("GET", "/v1/customers", 200, None),
    ("POST", "/v1/customers", 201, None),
    ("GET", "/v1/customers/{id}", 200, "cus_"),
    ("POST", "/v1/charges", 201, None),
    ("GET", "/v1/charges/{id}", 200, "ch_"),
    ("POST", "/v1/refunds", 201, None),
    ("GET", "/v1/invoices", 200, None),
    ("GET", "/v1/invoices/{id}", 200, "number"),
    ("POST", "/v1/webhooks", 201, None),
    ("DELETE", "/v1/webhooks/{id}", 204, "we_"),
    ("GET", "/v1/events", 200, None),
    ("GET", "/v1/events/{id}", 200, "uuid"),
)
MAX_DEPTH = 6  # first-session depths drawn: 1..MAX_DEPTH

# Endpoints whose 400s the seed blames on badly documented parameters.
BAD_REQUEST_ENDPOINTS = (3, 5)

EMAIL_CAMPAIGNS = (
    ("welcome", 0.0),
    ("quickstart_nudge", 1.0),
    ("first_call_tips", 3.0),
    ("integration_guide", 7.0),
    ("going_live", 14.0),
)  # (campaign, days after signup)


def _by_channel(paid, organic_search, product_listing, other, unknown) -> dict[str, float]:
    return dict(zip(CHANNELS, (paid, organic_search, product_listing, other, unknown)))


@dataclass(frozen=True)
class Parameters:
    start: date = date(2025, 1, 6)
    weeks: int = 12
    # Activity is followed this long past the last signup week: the 90-day
    # cohort horizon plus the longest (30-day) window, plus a day of margin.
    follow_up_days: int = 121
    horizon_days: int = 90
    weekend_signup_weight: float = 0.55
    signup_hour_utc_mean: float = 15.0
    signup_hour_utc_sd: float = 4.0

    channel_share: dict = field(default_factory=lambda: _by_channel(0.20, 0.30, 0.15, 0.20, 0.15))
    organization_share: dict = field(default_factory=lambda: _by_channel(0.30, 0.30, 0.15, 0.30, 0.35))
    # Visitors who never sign up, per developer; share of them who view a docs/pricing/signup page.
    nonsignup_visitors_per_developer: float = 3.0
    nonsignup_visitor_intent_share: float = 0.8

    # intent: first qualifying page view before signup
    intent_within_week: dict = field(default_factory=lambda: _by_channel(0.85, 0.92, 0.80, 0.88, 0.0))
    intent_lead_within_week_minutes: tuple = (1.0, 6 * 24 * 60.0)  # log-uniform
    intent_lead_late_days: tuple = (8.0, 30.0)  # uniform
    nonqualifying_first_view_share: float = 0.3  # first lands on / or the blog, then docs
    nonqualifying_first_view_lead_seconds: tuple = (10.0, 300.0)
    second_device_share: float = 0.1  # browsed on one device, signed up on another

    email_verified_share: float = 0.85
    email_bounce_share: float = 0.03
    email_segment_share: dict = field(
        default_factory=lambda: {
            "paid": (0.55, 0.30, 0.15),
            "organic_search": (0.40, 0.35, 0.25),
            "product_listing": (0.45, 0.35, 0.20),
            "other": (0.45, 0.33, 0.22),
            "unknown": (0.50, 0.30, 0.20),
        }
    )  # (none, medium, high)

    # first_api_call: ever calls, and whether within 72 h (else 8-45 days late)
    call_share: dict = field(default_factory=lambda: _by_channel(0.42, 0.62, 0.40, 0.55, 0.50))
    fast_call_share: dict = field(default_factory=lambda: _by_channel(0.45, 0.65, 0.55, 0.60, 0.55))
    fast_ttfac_minutes: dict = field(
        default_factory=lambda: {
            "paid": (10.0, 72 * 60.0),
            "organic_search": (3.0, 24 * 60.0),
            "product_listing": (5.0, 72 * 60.0),
            "other": (4.0, 48 * 60.0),
            "unknown": (4.0, 48 * 60.0),
        }
    )  # log-uniform
    late_ttfac_days: tuple = (8.0, 45.0)

    # credential_provisioned: minutes after signup, or just before a late first call
    early_key_seconds: tuple = (20.0, 900.0)  # log-uniform
    late_caller_key_just_before_share: float = 0.3
    key_before_late_call_minutes: tuple = (2.0, 180.0)  # log-uniform
    noncaller_key_share: float = 0.45
    noncaller_late_key_share: float = 0.15
    noncaller_early_key_seconds: tuple = (20.0, 6 * 3600.0)  # log-uniform
    noncaller_late_key_days: tuple = (8.0, 60.0)

    # first-session depth (distinct endpoints in 24 h from the first call), P(depth = 1..6)
    depth_share: dict = field(
        default_factory=lambda: {
            "paid": (0.50, 0.25, 0.12, 0.07, 0.04, 0.02),
            "organic_search": (0.25, 0.25, 0.20, 0.15, 0.10, 0.05),
            "product_listing": (0.45, 0.25, 0.15, 0.08, 0.05, 0.02),
            "other": (0.40, 0.25, 0.15, 0.10, 0.06, 0.04),
            "unknown": (0.40, 0.25, 0.15, 0.10, 0.06, 0.04),
        }
    )

    # first_integration_milestone (quickstart) after the first call
    milestone_share: dict = field(default_factory=lambda: _by_channel(0.50, 0.30, 0.65, 0.55, 0.50))
    milestone_within_week_share: float = 0.8
    milestone_fast_minutes: tuple = (10.0, 6 * 24 * 60.0)  # log-uniform
    milestone_late_days: tuple = (8.0, 40.0)

    # active_integration: in the first session (2nd endpoint within minutes), or later
    active_in_first_session_share: float = 0.40  # of callers with depth >= 2
    active_in_first_session_minutes: tuple = (1.0, 25.0)
    active_later_share_by_depth: tuple = (0.30, 0.45, 0.60)  # depth 1, 2, >= 3
    active_factor_by_email_segment: tuple = (0.75, 1.0, 1.5)  # none, medium, high
    active_factor_with_milestone: float = 1.3
    active_later_within_14d_share: float = 0.60
    active_later_fast_days: tuple = (1.5, 13.0)
    active_later_late_days: tuple = (16.0, 60.0)

    # production_deployment
    production_share_after_active: float = 0.45
    production_share_without_active: float = 0.04
    production_factor_by_account_type: tuple = (0.85, 1.5)  # individual, organization
    production_factor_by_depth: tuple = (0.7, 0.9, 1.1, 1.3, 1.3, 1.3)
    production_factor_by_channel: dict = field(default_factory=lambda: _by_channel(0.75, 1.15, 0.8, 1.0, 1.0))
    production_within_30d_share: float = 0.75  # of those after active
    production_fast_days: tuple = (1.0, 28.0)
    production_late_days: tuple = (32.0, 80.0)
    production_without_active_days: tuple = (2.0, 60.0)
    production_webhook_share: float = 0.3  # else a live-key call

    # organisations (orgs.py): how team developers form them; the stage times above are not changed
    org_second_developer_days: int = 7  # a second developer this soon after the first joins early (the pipeline's default)
    org_late_joiner_share: float = 0.12  # of team developers filling no invitation: join an older organisation
    org_early_second_developer_share: tuple = (0.20, 0.50)  # founder not in production within the horizon, in production

    # clients: the class of the user agent of the first successful call
    sdk_share: dict = field(default_factory=lambda: _by_channel(0.50, 0.40, 0.60, 0.45, 0.45))
    unknown_client_share: float = 0.04
    sdk_language_share: dict = field(
        default_factory=lambda: {
            "acme-python": 0.40, "acme-node": 0.30, "acme-go": 0.12, "acme-ruby": 0.08, "acme-java": 0.10,
        }
    )
    raw_client_share: dict = field(
        default_factory=lambda: {
            "curl": 0.35, "python-requests": 0.20, "postmanruntime": 0.15, "axios": 0.10,
            "go-http-client": 0.05, "okhttp": 0.04, "wget": 0.03, "node-fetch": 0.04, "httpie": 0.04,
        }
    )
    browser_share_of_unknown_client: float = 0.7  # else no User-Agent at all
    client_switch_share: float = 0.1  # later traffic from another client

    # first-session errors (non-2xx: they never set a stage)
    unauthorized_before_first_call_share: tuple = (0.15, 0.35, 0.25)  # by client kind sdk, raw, unknown
    bad_request_first_day_share: float = 0.2
    rate_limited_first_day_share: float = 0.08
    noncaller_failed_attempts_share: float = 0.35
    usage_error_share: float = 0.02
    attempt_with_other_client_share: float = 0.3  # 401s before the first call sent from another client

    # support tickets, more likely after first-session errors
    ticket_share: float = 0.03
    ticket_share_after_errors: float = 0.18

    # gateway volume (scaled by `requests=`): usage sessions per day and requests per session
    usage_sessions_per_day: tuple = (0.3, 0.5, 0.8)  # never active, active, in production
    requests_per_session: tuple = (2.0, 6.0, 15.0)  # before active, active, in production (Poisson mean + 1)
    first_endpoint_weights: tuple = (0.30, 0.20, 0.05, 0.20, 0.02, 0.02, 0.08, 0.02, 0.03, 0.01, 0.06, 0.01)
    usage_endpoint_weights: tuple = (0.12, 0.10, 0.14, 0.16, 0.08, 0.04, 0.08, 0.06, 0.03, 0.02, 0.10, 0.07)
    live_request_share: float = 0.6
    key_rotation_share: float = 0.15
    revoked_key_401s: tuple = (1, 3)
    churned_key_revocation_share: float = 0.2

    def to_json(self) -> dict:
        planted = asdict(self)
        planted["start"] = self.start.isoformat()
        return planted


DEFAULT_PARAMETERS = Parameters()
