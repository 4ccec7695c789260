"""The simulator behind `funnel generate`: determinism, contract-valid day files,
landing records that realise the planted stage times, and a stage model whose
drawn statistics agree with its expectation."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from funnel_assets.lib.contracts import SOURCES, load_contract
from funnel_assets.lib.simulator import DEFAULT_PARAMETERS, draw_developers, generate, summarize
from funnel_assets.lib.simulator.parameters import STAGES

CONTRACTS = Path(__file__).resolve().parents[1] / "data_contracts"
# the day file of a record is the UTC day of its contract's time field
TIME_FIELDS = {source: load_contract(source).time_field for source in SOURCES}
SESSION_GAP = pd.Timedelta(minutes=30)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
VERSION = re.compile(r"^v\d+$")
RAW_CLIENTS = ("curl", "python-requests", "postmanruntime", "axios", "go-http-client", "okhttp", "wget",
               "node-fetch", "httpie")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("simulated")
    return out, generate(out, developers=300, weeks=4, seed=11)


def _read(out: Path, source: str) -> pd.DataFrame:
    rows = [json.loads(line) for path in sorted((out / "landing" / source).glob("*.jsonl")) for line in path.open()]
    return pd.DataFrame(rows)


def _times(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="ISO8601")


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --- determinism --------------------------------------------------------------------------


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path):
    small = {"developers": 80, "weeks": 2, "start": date(2025, 3, 3)}
    generate(tmp_path / "a", seed=3, **small)
    generate(tmp_path / "b", seed=3, **small)
    generate(tmp_path / "c", seed=4, **small)
    first = _digest(tmp_path / "a")
    assert first and first == _digest(tmp_path / "b")
    other = _digest(tmp_path / "c")
    assert other["truth_developers.csv.gz"] != first["truth_developers.csv.gz"]
    assert any(other.get(name) != digest for name, digest in first.items() if name.startswith("landing/"))


def test_rerunning_into_the_same_folder_replaces_the_files(tmp_path):
    small = {"developers": 60, "weeks": 1}
    generate(tmp_path / "a", seed=5, **small)
    generate(tmp_path / "b", seed=6, **small)
    generate(tmp_path / "b", seed=5, **small)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


# --- landing files against the contracts ---------------------------------------------------

TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "timestamp": lambda v: isinstance(v, str) and datetime.fromisoformat(v).utcoffset() is not None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


@pytest.mark.parametrize("source", sorted(TIME_FIELDS))
def test_every_line_follows_its_contract_and_sits_in_its_day_file(run, source):
    out, truth = run
    contract = yaml.safe_load((CONTRACTS / source / "v1.yaml").read_text())
    fields = {f["name"]: f for f in contract["fields"]}
    required = {name for name, f in fields.items() if f.get("required")}
    lines = 0
    for path in sorted((out / "landing" / source).glob("*.jsonl")):
        for line in path.open():
            record = json.loads(line)
            lines += 1
            assert required <= record.keys(), (path.name, line)
            assert record.keys() <= fields.keys(), (path.name, line)
            for name, value in record.items():
                assert TYPE_CHECKS[fields[name]["type"]](value), (name, value)
                assert value in fields[name].get("allowed", [value]), (name, value)
            day = datetime.fromisoformat(record[TIME_FIELDS[source]]).astimezone(timezone.utc).date()
            assert path.name == f"{day.isoformat()}.jsonl"
    assert lines == truth["counts"]["lines"][source] > 0


def test_analytics_clocks_are_consistent_and_ids_unique(run):
    out, _ = run
    events = _read(out, "analytics_events")
    timestamp, sent, received = (_times(events[c]) for c in ("timestamp", "sent_at", "received_at"))
    assert (timestamp <= sent).all() and (sent < received).all()
    assert ((received - sent) < pd.Timedelta(seconds=1)).all()
    assert events["message_id"].is_unique
    assert _read(out, "gateway_requests")["request_id"].is_unique
    assert _read(out, "email_events")["event_id"].is_unique


def test_as_of_is_the_latest_event_and_near_the_observation_end(run):
    out, truth = run
    latest = max(_times(_read(out, source)[field]).max() for source, field in TIME_FIELDS.items())
    assert latest == pd.Timestamp(truth["counts"]["as_of"])
    observation_end = pd.Timestamp(truth["parameters"]["observation_end"])
    assert observation_end - pd.Timedelta(days=2) < latest < observation_end


# --- an independent re-computation of every developer's stages from the landing files ------


def _is_id(segment: str) -> bool:
    return bool(UUID.match(segment)) or (any(c.isdigit() for c in segment) and not VERSION.match(segment))


def _endpoint(method: str, path: str) -> str:
    route = "/".join("{id}" if _is_id(s) else s for s in path.split("?")[0].split("/"))
    return f"{method} {route}"


def _client(user_agent) -> tuple[str, str]:
    if not isinstance(user_agent, str):
        return "unknown", "unknown"
    name = user_agent.split("/")[0].lower()
    if name.startswith("acme-"):
        return "sdk", name
    return ("raw_http", name) if name in RAW_CLIENTS else ("unknown", "unknown")


def _channel(properties: dict) -> str:
    referrer = properties.get("referrer") or ""
    host = re.sub(r"^[a-z]+://([^/:?#]+).*$", r"\1", referrer.lower()) if referrer else ""
    if properties.get("utm_medium") in ("cpc", "ppc", "paid"):
        return "paid"
    if any(engine in host for engine in ("google.", "bing.", "duckduckgo.", "yahoo.")):
        return "organic_search"
    if any(host == d or host.endswith("." + d) for d in ("producthunt.com", "github.com", "npmjs.com")):
        return "product_listing"
    return "other"


def _successful_requests(out: Path) -> pd.DataFrame:
    """2xx requests attributed to the user owning the key at the time, with their endpoint."""
    requests = _read(out, "gateway_requests")
    requests["timestamp"] = _times(requests["timestamp"])
    keys = _read(out, "api_keys")
    keys["created_at"] = _times(keys["created_at"])
    keys["revoked_at"] = _times(keys.get("revoked_at", pd.Series(index=keys.index, dtype=object)))
    joined = requests.merge(keys[["key_id", "user_id", "mode", "created_at", "revoked_at"]], on="key_id")
    valid = (joined["created_at"] <= joined["timestamp"]) & (
        joined["revoked_at"].isna() | (joined["timestamp"] < joined["revoked_at"]))
    ok = joined[valid & joined["status"].between(200, 299)].copy()
    ok["endpoint"] = [_endpoint(m, p) for m, p in zip(ok["method"], ok["path"])]
    return ok.sort_values(["user_id", "timestamp"], kind="stable")


def _active_integration(ok: pd.DataFrame) -> pd.Series:
    """Time of the request bringing a session's second distinct endpoint, first over all sessions."""
    new_session = (ok["user_id"] != ok["user_id"].shift()) | (ok["timestamp"].diff() >= SESSION_GAP)
    ok = ok.assign(session=new_session.cumsum())
    firsts = ok.drop_duplicates(["session", "endpoint"])
    second = firsts[firsts.groupby("session").cumcount() == 1]
    return second.groupby("user_id")["timestamp"].min()


def _gateway_stages(out: Path) -> pd.DataFrame:
    ok = _successful_requests(out)
    first = ok.groupby("user_id").head(1).set_index("user_id")
    window = ok.join(first["timestamp"].rename("first_call"), on="user_id")
    in_first_day = window["timestamp"] <= window["first_call"] + pd.Timedelta(hours=24)
    clients = [_client(ua) for ua in first.get("user_agent", pd.Series(index=first.index, dtype=object))]
    return pd.DataFrame({
        "first_api_call_at": first["timestamp"],
        "first_session_depth": window[in_first_day].groupby("user_id")["endpoint"].nunique(),
        "active_integration_at": _active_integration(ok),
        "first_live_call": ok[ok["mode"] == "live"].groupby("user_id")["timestamp"].min(),
        "client_kind": [kind for kind, _ in clients],
        "client_name": [name for _, name in clients],
    })


def _analytics_stages(out: Path, users: pd.DataFrame) -> pd.DataFrame:
    events = _read(out, "analytics_events")
    events["timestamp"] = _times(events["timestamp"])
    both = events.dropna(subset=["anonymous_id", "user_id"])
    owner = both.drop_duplicates("anonymous_id").set_index("anonymous_id")["user_id"]
    events["who"] = events["user_id"].fillna(events["anonymous_id"].map(owner))
    events = events.dropna(subset=["who"]).join(users["account_created_at"], on="who")
    pages = events[events["type"] == "page"].sort_values("timestamp", kind="stable")
    path = pages["properties"].map(lambda p: p["path"])
    qualifying = pages[path.str.match(r"^/(docs|pricing|signup)")]
    before_signup = pages[pages["timestamp"] < pages["account_created_at"]]
    tracks = events[events["type"] == "track"]
    production_webhook = tracks[(tracks["event"] == "webhook_endpoint_registered")
                                & tracks["properties"].map(lambda p: p.get("environment") == "production")]
    return pd.DataFrame({
        "first_qualifying_view": qualifying.groupby("who")["timestamp"].min(),
        "channel": before_signup.groupby("who")["properties"].first().map(_channel),
        "first_integration_milestone_at": tracks[tracks["event"] == "quickstart_completed"].groupby("who")["timestamp"].min(),
        "production_webhook": production_webhook.groupby("who")["timestamp"].min(),
    })


def _recomputed_stages(out: Path) -> pd.DataFrame:
    users = _read(out, "auth_users").set_index("user_id")
    users["account_created_at"] = _times(users["created_at"])
    keys = _read(out, "api_keys")
    stages = users[["account_created_at"]].join([
        _times(keys["created_at"]).groupby(keys["user_id"]).min().rename("credential_provisioned_at"),
        _gateway_stages(out),
        _analytics_stages(out, users),
    ])
    stages["intent_observed"] = stages["channel"].notna()
    stages["channel"] = stages["channel"].fillna("unknown")
    stages["intent_at"] = stages[["first_qualifying_view", "account_created_at"]].min(axis=1)
    stages["production_deployment_at"] = stages[["first_live_call", "production_webhook"]].min(axis=1)
    stages["first_session_depth"] = stages["first_session_depth"].fillna(0).astype(int)
    stages[["client_kind", "client_name"]] = stages[["client_kind", "client_name"]].fillna("")
    return stages


def test_landing_records_realise_every_planted_stage_time(run):
    out, _ = run
    truth = pd.read_csv(out / "truth_developers.csv.gz", keep_default_na=False).set_index("user_id")
    recomputed = _recomputed_stages(out).reindex(truth.index)
    for stage in STAGES:
        column = f"{stage}_at"
        planted = _times(truth[column].replace("", None))
        pd.testing.assert_series_equal(recomputed[column], planted, check_names=False, check_freq=False)
    for column in ("intent_observed", "channel", "first_session_depth", "client_kind", "client_name"):
        pd.testing.assert_series_equal(recomputed[column], truth[column], check_names=False, check_dtype=False)


def test_every_stage_and_quirk_occurs_in_the_small_run(run):
    out, _ = run
    truth = pd.read_csv(out / "truth_developers.csv.gz", keep_default_na=False)
    for stage in STAGES:
        assert (truth[f"{stage}_at"] != "").any(), stage
    assert set(truth["production_signal"]) == {"none", "live_call", "webhook"}
    assert truth["key_rotated"].any() and truth["second_device"].any() and truth["active_in_first_session"].any()
    assert {"sdk", "raw_http"} <= set(truth["client_kind"])
    statuses = set(_read(out, "gateway_requests")["status"])
    assert {200, 201, 400, 401, 429} <= statuses


def test_revoked_keys_only_get_401_after_revocation(run):
    out, truth = run
    requests = _read(out, "gateway_requests")
    keys = _read(out, "api_keys").dropna(subset=["revoked_at"])
    late = requests.merge(keys, on="key_id")
    late = late[_times(late["timestamp"]) >= _times(late["revoked_at"])]
    assert len(late) == truth["counts"]["unattributed_requests"] > 0
    assert (late["status"] == 401).all()


def test_email_engagement_segments_match_the_email_events(run):
    out, _ = run
    truth = pd.read_csv(out / "truth_developers.csv.gz", keep_default_na=False).set_index("user_id")
    users = _read(out, "auth_users").set_index("user_id")
    emails = _read(out, "email_events")
    emails["user_id"] = emails["email"].str.strip().str.lower().map(
        pd.Series(users.index, index=users["email"].str.lower()))
    assert emails["user_id"].notna().all()
    opened = emails[emails["event"] == "open"].groupby("user_id")["campaign"].nunique().reindex(truth.index, fill_value=0)
    clicked = emails[emails["event"] == "click"].groupby("user_id").size().reindex(truth.index, fill_value=0)
    segment = np.select([(opened >= 3) & (clicked >= 1), (opened >= 1) & (clicked == 0)], ["high", "medium"], "none")
    assert (segment == truth["email_segment"]).all()
    tickets = _read(out, "support_tickets")
    assert tickets["email"].str.strip().str.lower().isin(users["email"]).all()


def test_visitor_conversion_counts_match_the_landing_files(run):
    out, truth = run
    events = _read(out, "analytics_events")
    events["timestamp"] = _times(events["timestamp"])
    both = events.dropna(subset=["anonymous_id", "user_id"])
    owner = both.drop_duplicates("anonymous_id").set_index("anonymous_id")["user_id"]
    pages = events[events["type"] == "page"].copy()
    pages["visitor"] = pages["user_id"].fillna(pages["anonymous_id"].map(owner)).fillna(pages["anonymous_id"])
    qualifying = pages[pages["properties"].map(lambda p: p["path"]).str.match(r"^/(docs|pricing|signup)")]
    intent = qualifying.groupby("visitor")["timestamp"].min()
    users = _read(out, "auth_users").set_index("user_id")
    signup = _times(users["created_at"]).reindex(intent.index)
    observed = intent[~(signup <= intent)]  # a developer's intent counts only when seen before signup
    converted = signup.reindex(observed.index) <= observed + pd.Timedelta(days=7)
    row = truth["drawn"]["transitions"]["intent->account_created@7"]
    assert (row["entered"], row["converted"]) == (len(observed), int(converted.sum()))


# --- the stage model: drawn statistics against the model's expectation -----------------------


def _rates(stats: dict):
    """(name, rate, denominator) of every rate-like statistic of a summary."""
    for key, row in stats["transitions"].items():
        yield key, row["rate"], row["entered"]
    n, callers = stats["developers"], stats["clients"]["callers"]
    for group in ("channel_share", "account_type_share", "email_segment_share"):
        for name, share in stats[group].items():
            yield f"{group}.{name}", share, n
    for group in ("client_kind_share", "client_name_share"):
        for name, share in stats["clients"][group].items():
            yield f"{group}.{name}", share, callers
    depth = stats["first_session_depth"]
    for d, share in depth["depth_share"].items():
        yield f"depth_share.{d}", share, callers
        yield f"production_rate_by_depth.{d}", depth["production_rate_by_depth"][d], depth["callers_by_depth"][d]
    yield "depth_ge3_share", depth["depth_ge3_share"], callers
    for days in (30, 60, 90):
        yield f"production_rate_{days}d", stats["production_rate"][f"rate_{days}d"], n
    yield "called", stats["ttfac"]["called"] / n, n


@pytest.fixture(scope="module")
def expected() -> dict:
    return summarize(draw_developers(np.random.default_rng(20_250_106), 400_000, DEFAULT_PARAMETERS),
                     DEFAULT_PARAMETERS, quantile_grid=True)


def test_drawn_rates_are_within_four_standard_errors_of_expected(expected):
    drawn = summarize(draw_developers(np.random.default_rng(99), 20_000, DEFAULT_PARAMETERS), DEFAULT_PARAMETERS)
    model = {name: rate for name, rate, _ in _rates(expected)}
    for name, rate, entered in _rates(drawn):
        p = model[name]
        tolerance = 4 * np.sqrt(p * (1 - p) / entered) if entered else 0
        assert abs(rate - p) <= tolerance + 1e-12, (name, rate, p, tolerance)


def test_drawn_ttfac_quantiles_fall_in_distribution_free_bands(expected):
    drawn = summarize(draw_developers(np.random.default_rng(99), 20_000, DEFAULT_PARAMETERS), DEFAULT_PARAMETERS)
    grid = expected["ttfac"]["quantile_grid_s"]
    levels = np.array([float(q) for q in grid])
    values = np.array(list(grid.values()))
    called = drawn["ttfac"]["called"]
    for q in (0.25, 0.50, 0.75, 0.90):
        half_width = 4 * np.sqrt(q * (1 - q) / called)
        low, high = np.interp([max(q - half_width, 0.01), min(q + half_width, 0.99)], levels, values)
        assert low <= drawn["ttfac"][f"p{round(q * 100)}_s"] <= high, q


def test_planted_benchmarks_sit_near_the_seed_medians(expected):
    rate = {key: row["rate"] for key, row in expected["transitions"].items()}
    assert 0.25 <= rate["account_created->first_api_call@7"] <= 0.35
    assert 0.40 <= rate["first_api_call->active_integration@14"] <= 0.55
    assert 0.30 <= rate["active_integration->production_deployment@30"] <= 0.45
    by_depth = expected["first_session_depth"]["production_rate_by_depth"]
    assert by_depth["1"] < by_depth["2"] < by_depth["3"]


# --- volume -------------------------------------------------------------------------------


def test_requests_target_is_met_within_five_percent(tmp_path):
    truth = generate(tmp_path, developers=150, weeks=2, seed=2, requests=120_000)
    assert abs(truth["counts"]["requests"] - 120_000) <= 0.05 * 120_000


def test_a_requests_target_below_the_minimum_volume_is_refused(tmp_path):
    with pytest.raises(ValueError, match="at least"):
        generate(tmp_path, developers=100, weeks=1, requests=10)
