"""Small hand-built landing files whose answers are known by construction."""

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest

from funnel_assets_tests.landing import T0, at, write_landing

W0 = date(2025, 3, 3)


def user(uid, days, account_type="individual", email=None):
    return {
        "user_id": uid,
        "email": email or f"{uid}@example.com",
        "account_type": account_type,
        "created_at": at(days=days),
    }


def key(kid, uid, days, mode="test", revoked_days=None, minutes=0):
    row = {"key_id": kid, "user_id": uid, "mode": mode, "created_at": at(days=days, minutes=minutes)}
    if revoked_days is not None:
        row["revoked_at"] = at(days=revoked_days)
    return row


_request_ids = iter(range(1, 10_000))


def call(kid, when, path="/v1/customers", method="GET", status=200, agent="curl/8.4.0"):
    return {
        "request_id": f"req_{next(_request_ids)}",
        "timestamp": when,
        "key_id": kid,
        "method": method,
        "path": path,
        "status": status,
        "user_agent": agent,
    }


def page(mid, when, path, anonymous_id=None, user_id=None, **props):
    row = {"message_id": mid, "type": "page", "timestamp": when, "properties": {"path": path, **props}}
    if anonymous_id:
        row["anonymous_id"] = anonymous_id
    if user_id:
        row["user_id"] = user_id
    return row


def track(mid, when, event, user_id, **props):
    return {"message_id": mid, "type": "track", "event": event, "timestamp": when, "user_id": user_id, "properties": props}


def identify(mid, when, anonymous_id, user_id):
    return {"message_id": mid, "type": "identify", "timestamp": when, "anonymous_id": anonymous_id, "user_id": user_id}


@pytest.fixture(scope="module", params=["duckdb", "spark"])
def built(request, tmp_path_factory, definitions):
    """The known-answer data run on each engine: every test below holds on both."""
    from funnel_assets_tests.conftest import Pipeline

    if request.param == "spark":
        request.getfixturevalue("spark")  # the shared session (skips with the reason when Spark cannot run here)
    pipeline = Pipeline(definitions, tmp_path_factory.mktemp("known"), engine=request.param)
    records = {
        "auth_users": [
            user("alice", 0),
            user("bob", 1),
            user("carol", 2, account_type="organization"),
            user("dave", 1),
            user("erin", 1),
            user("dan", 1),
            user("late", 190),
        ],
        "api_keys": [
            key("k_alice", "alice", 0, minutes=5),
            key("k_alice_live", "alice", 2, mode="live"),
            key("k_bob", "bob", 1, minutes=1),
            key("k_carol", "carol", 2, minutes=5),
            key("k_dan", "dan", 1, minutes=1),
            # one key id, two owners one after the other
            key("k_shared", "dave", 1, revoked_days=3),
            key("k_shared", "erin", 4),
            key("k_late", "late", 190, minutes=1),
        ],
        "gateway_requests": [
            call("k_alice", at(minutes=6), status=401),
            call("k_alice", at(minutes=10), path="/v1/customers/cus_123"),
            call("k_alice", at(minutes=15), path="/v1/charges", method="POST", agent="acme-python/1.4.2"),
            call("k_alice", at(minutes=20), path="/v1/customers/cus_456?expand=true"),
            call("k_alice_live", at(days=2, hours=1), path="/v1/charges", method="POST"),
            # exactly seven days after sign-up: inside the window
            call("k_bob", at(days=8)),
            # seven days and one second: outside
            call("k_dan", at(days=8, seconds=1)),
            call("k_carol", at(days=3)),
            call("k_shared", at(days=2)),
            call("k_shared", at(days=3, hours=1), status=401),
            call("k_shared", at(days=5)),
            call("k_late", at(days=190, hours=1)),
            # the latest event: the data's as-of time
            call("k_alice", at(days=200)),
        ],
        "analytics_events": [
            page("m1", at(hours=-1), "/docs/quickstart", anonymous_id="anon_alice",
                 referrer="https://www.google.com/search?q=acme"),
            identify("m2", at(), "anon_alice", "alice"),
            track("m3", at(hours=1), "quickstart_completed", "alice"),
            # carol completes the quickstart a day before her first call
            track("m4", at(days=2, hours=1), "quickstart_completed", "carol"),
            # a visitor who never signs up
            page("m5", at(hours=2), "/pricing", anonymous_id="anon_stranger"),
        ],
    }
    write_landing(pipeline.data_dir, records)
    pipeline.run()
    return pipeline


def stages(built):
    frame = built.frame("select * from developer_stages")
    names = {pid: u for u, pid in built.pids(["alice", "bob", "carol", "dave", "erin", "dan", "late"]).items()}
    frame["who"] = frame["user_pid"].map(names)
    return frame.set_index("who")


def conversion(built, from_stage, to_stage, window, cohort=W0):
    frame = built.frame(
        "select * from mart_stage_conversion where from_stage = $f and to_stage = $t and window_days = $w "
        "and cohort_week = $c",
        {"f": from_stage, "t": to_stage, "w": window, "c": cohort},
    )
    assert len(frame) == 1
    return frame.iloc[0]


def ts(value: str) -> pd.Timestamp:
    return pd.Timestamp(datetime.fromisoformat(value)).tz_convert("UTC")


def test_stage_times_and_the_events_that_set_them(built):
    s = stages(built)
    alice = s.loc["alice"]
    assert alice.intent_at == ts(at(hours=-1))
    assert alice.intent_observed
    assert alice.intent_event_id == "m1"
    assert alice.channel == "organic_search"
    assert alice.credential_provisioned_at == ts(at(minutes=5))
    assert alice.first_api_call_at == ts(at(minutes=10))
    assert alice.first_integration_milestone_at == ts(at(hours=1))
    # the POST /v1/charges at +15 min brings the session's second endpoint
    assert alice.active_integration_at == ts(at(minutes=15))
    assert alice.production_deployment_at == ts(at(days=2, hours=1))
    assert alice.first_session_depth == 2
    assert alice.client_kind == "raw_http" and alice.client_name == "curl"


def test_developer_without_a_pre_signup_page_view(built):
    bob = stages(built).loc["bob"]
    assert not bob.intent_observed
    assert bob.intent_at == bob.account_created_at
    assert bob.channel == "unknown"


def test_key_reissued_to_another_user_is_attributed_by_time(built):
    s = stages(built)
    assert s.loc["dave"].first_api_call_at == ts(at(days=2))
    assert s.loc["erin"].first_api_call_at == ts(at(days=5))
    unattributed = built.frame(
        "select count(*) as n from raw_gateway_requests r where not exists "
        "(select 1 from developer_events e where e.event_id = r.request_id)"
    ).n[0]
    assert unattributed == 1  # the call between dave's revocation and erin's key


def test_window_boundary_is_inclusive(built):
    row = conversion(built, "account_created", "first_api_call", 7)
    # alice, bob (exactly 7 days), carol, dave, erin convert; dan (7 days + 1 s) does not
    assert (row.entered, row.converted) == (6, 5)
    assert row.is_complete and row.rate == pytest.approx(5 / 6)


def test_a_to_stage_reached_before_from_counts(built):
    row = conversion(built, "first_api_call", "first_integration_milestone", 7)
    # alice (after), carol (a day before her first call)
    assert (row.entered, row.converted) == (6, 2)


def test_visitors_are_counted_by_intent_week(built):
    row = conversion(built, "intent", "account_created", 7)
    # alice (observed intent) and the stranger; bob etc. have no observed intent
    assert (row.entered, row.converted) == (2, 1)


def test_open_cohort_is_incomplete_not_low(built):
    late_week = date(2025, 3, 3) + timedelta(weeks=27)
    row = conversion(built, "account_created", "first_api_call", 7, cohort=late_week)
    assert not row.is_complete
    assert pd.isna(row.rate)
    assert row.benchmark_band == "incomplete"
    assert row.rate_so_far == 1.0


def test_id_bearing_path_maps_to_route_template(built):
    routes = built.frame("select distinct endpoint from developer_events where event_type = 'api_request' order by 1")
    assert list(routes.endpoint) == ["GET /v1/customers", "GET /v1/customers/{id}", "POST /v1/charges"]


def test_ttfac_percentiles(built):
    row = built.frame("select * from mart_ttfac_by_cohort where cohort_week = $c", {"c": W0}).iloc[0]
    # alice 10 min, bob 7 d, dan 7 d + 1 s, carol 1 d, dave 1 d, erin 4 d
    seconds = sorted([600, 7 * 86400, 7 * 86400 + 1, 86400, 86400, 4 * 86400])
    assert (row.developers, row.called, row.never_called) == (6, 6, 0)
    assert row.p50_s == pytest.approx(pd.Series(seconds).quantile(0.5))
    assert row.p90_s == pytest.approx(pd.Series(seconds).quantile(0.9))


def test_no_email_or_raw_id_past_raw(built):
    for table in ["identity_users", "developer_events", "developer_stages", "mart_sdk_usage"]:
        frame = built.frame(f"select * from {table}")
        text = frame.astype(str).to_string()
        assert "@example.com" not in text
        assert "alice" not in text and "k_alice" not in text


def test_first_day_errors(built):
    rows = built.frame(
        "select endpoint, status, requests, developers from mart_first_day_errors where cohort_week = $c and is_error",
        {"c": W0},
    )
    # alice's 401 before her first success; dave's 401 came on a key he no longer held (unattributed)
    assert rows.to_dict("records") == [{"endpoint": "GET /v1/customers", "status": 401, "requests": 1, "developers": 1}]


def test_bottleneck_is_the_transition_furthest_below_its_median(built):
    row = built.frame("select * from mart_bottleneck where cohort_week = $c", {"c": W0}).iloc[0]
    # first call -> active within 14 d: only alice of six callers, 1/6 against a 40 % median
    assert (row.from_stage, row.to_stage, row.window_days) == ("first_api_call", "active_integration", 14)
    assert row.rate == pytest.approx(1 / 6)
    assert row.benchmark_band == "warning"


def test_segments(built):
    rows = built.frame(
        "select segment_value, developers from mart_segment_conversion "
        "where cohort_week = $c and segment = 'channel' order by 1",
        {"c": W0},
    )
    assert rows.to_dict("records") == [
        {"segment_value": "organic_search", "developers": 1},
        {"segment_value": "unknown", "developers": 5},
    ]
