"""The pipeline reads nothing but the landing files.

- Removing the simulator's truth files changes nothing.
- Data from a second, independent generator written here (gzip files, CRLF
  line ends, other UTC offsets, extra fields, mixed-case e-mails, shuffled
  lines) gives exactly the stage times and TTFAC percentiles that a plain
  Python reading of DESIGN.md's definitions computes from the same records.
"""

import gzip
import json
import random
import shutil
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from funnel_assets.lib.simulator import generate
from funnel_assets_tests.conftest import Pipeline

MARTS = [
    "mart_stage_conversion",
    "mart_ttfac_by_cohort",
    "mart_sdk_usage",
    "mart_first_session_depth",
    "mart_production_rate",
    "mart_first_day_errors",
    "mart_segment_conversion",
    "mart_bottleneck",
]


def test_same_marts_without_the_truth_files(tmp_path, definitions):
    with_truth = Pipeline(definitions, tmp_path / "with")
    generate(with_truth.data_dir, developers=600, weeks=3, seed=5, requests=30_000)
    without_truth = Pipeline(definitions, tmp_path / "without")
    shutil.copytree(with_truth.data_dir / "landing", without_truth.data_dir / "landing")
    assert (with_truth.data_dir / "truth.json").exists() and not (without_truth.data_dir / "truth.json").exists()
    for pipeline in (with_truth, without_truth):
        pipeline.run()
    for mart in MARTS:
        a = with_truth.frame(f"select * from {mart} order by all")
        b = without_truth.frame(f"select * from {mart} order by all")
        assert len(a) > 0 and a.equals(b), mart


# --- a second generator, and an oracle reading DESIGN.md's definitions in plain Python ---

START = datetime(2025, 6, 2, tzinfo=timezone.utc)  # a Monday
ENDPOINTS = [("GET", "/v1/items/{id}"), ("POST", "/v1/items"), ("GET", "/v1/orders"), ("DELETE", "/v1/orders/{id}")]
OFFSETS = [timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7, minutes=-30))]


def stamp(moment: datetime, rng: random.Random) -> str:
    """The same instant written in one of several offsets."""
    text = moment.astimezone(rng.choice(OFFSETS)).isoformat()
    return text.replace("+00:00", "Z") if rng.random() < 0.5 else text


def raw_path(route: str, rng: random.Random) -> str:
    return route.replace("{id}", rng.choice([f"itm_{rng.randrange(10**6)}x", str(rng.randrange(10**5)), "a1b2c3"]))


def other_generator(seed: int, developers: int):
    rng = random.Random(seed)
    records = defaultdict(list)
    people = []
    for n in range(developers):
        uid, anon = f"U-{seed}-{n}", f"anon-{seed}-{n}"
        signup = START + timedelta(days=rng.uniform(0, 20))
        email = f"Dev{n}@Corp.example"
        records["auth_users"].append(
            {"user_id": uid, "email": f" {email.upper()} " if rng.random() < 0.3 else email,
             "account_type": rng.choice(["individual", "organization"]), "created_at": stamp(signup, rng),
             "favourite_colour": "teal"}  # an extra field: kept, reported, harmless
        )
        person = {"user_id": uid, "signup": signup, "pages": [], "keys": [], "requests": [], "tracks": []}
        if rng.random() < 0.7:
            seen = signup - timedelta(minutes=rng.uniform(1, 3000))
            path = rng.choice(["/docs/start", "/pricing", "/blog/x", "/signup"])
            records["analytics_events"].append(
                {"message_id": f"m-{seed}-{n}-p", "type": "page", "anonymous_id": anon, "timestamp": stamp(seen, rng),
                 "properties": {"path": path}})
            records["analytics_events"].append(
                {"message_id": f"m-{seed}-{n}-i", "type": "identify", "anonymous_id": anon, "user_id": uid,
                 "timestamp": stamp(signup, rng)})
            person["pages"].append((seen, path))
        if rng.random() < 0.8:
            key_at = signup + timedelta(minutes=rng.uniform(0, 600))
            mode = "live" if rng.random() < 0.3 else "test"
            records["api_keys"].append({"key_id": f"K{seed}.{n}", "user_id": uid, "mode": mode, "created_at": stamp(key_at, rng)})
            person["keys"].append((key_at, mode))
            moment = key_at + timedelta(minutes=rng.uniform(1, 20000))
            for r in range(rng.randrange(0, 25)):
                moment += timedelta(minutes=rng.choice([1, 5, 29.9, 30, 31, 400]))
                method, route = rng.choice(ENDPOINTS)
                status = rng.choice([200, 200, 201, 204, 401, 429, 500])
                records["gateway_requests"].append(
                    {"request_id": f"r-{seed}-{n}-{r}", "timestamp": stamp(moment, rng), "key_id": f"K{seed}.{n}",
                     "method": method.lower() if rng.random() < 0.2 else method, "path": raw_path(route, rng),
                     "status": status, "user_agent": rng.choice(["curl/8.0", "acme-ruby/2.0", None])})
                person["requests"].append((moment, f"{method} {route}", status, mode))
        if rng.random() < 0.4:
            done = signup + timedelta(hours=rng.uniform(-2, 300))
            event = rng.choice(["quickstart_completed", "webhook_endpoint_registered"])
            records["analytics_events"].append(
                {"message_id": f"m-{seed}-{n}-t", "type": "track", "event": event, "user_id": uid,
                 "timestamp": stamp(done, rng), "properties": {"environment": rng.choice(["production", "sandbox"])}})
            person["tracks"].append((done, event, records["analytics_events"][-1]["properties"]["environment"]))
        people.append(person)
    return records, people


def write_odd_landing(data_dir, records, rng: random.Random) -> None:
    """Landing format v1 as another system might write it: gzip, CRLF, shuffled lines."""
    for source, rows in records.items():
        time_field = "timestamp" if "timestamp" in rows[0] else "created_at"
        by_day = defaultdict(list)
        for row in rows:
            by_day[datetime.fromisoformat(row[time_field]).astimezone(timezone.utc).date()].append(row)
        folder = data_dir / "landing" / source
        folder.mkdir(parents=True, exist_ok=True)
        for day, day_rows in by_day.items():
            rng.shuffle(day_rows)
            text = "".join(json.dumps({k: v for k, v in r.items() if v is not None}) + "\r\n" for r in day_rows)
            if rng.random() < 0.5:
                with gzip.open(folder / f"{day}.jsonl.gz", "wt") as handle:
                    handle.write(text)
            else:
                (folder / f"{day}.jsonl").write_text(text)


def oracle(person) -> dict:
    """DESIGN.md's stage definitions, read literally, for one developer."""
    signup = person["signup"]
    intent_pages = [t for t, p in person["pages"] if p.startswith(("/docs", "/pricing", "/signup"))]
    ok = sorted((t, e, m) for t, e, s, m in person["requests"] if 200 <= s <= 299)
    first_call = ok[0][0] if ok else None
    active = None
    session, previous = set(), None
    for t, endpoint, _ in ok:
        if previous is None or t - previous >= timedelta(minutes=30):
            session = set()
        if endpoint not in session:
            session.add(endpoint)
            if len(session) == 2 and active is None:
                active = t
        previous = t
    production = [t for t, _, m in ok if m == "live"] + [
        t for t, e, env in person["tracks"] if e == "webhook_endpoint_registered" and env == "production"]
    depth = len({e for t, e, _ in ok if first_call <= t <= first_call + timedelta(hours=24)}) if ok else 0
    return {
        "intent_at": min(intent_pages + [signup]),
        "credential_provisioned_at": min((t for t, _ in person["keys"]), default=None),
        "first_api_call_at": first_call,
        "first_integration_milestone_at": min((t for t, e, _ in person["tracks"] if e == "quickstart_completed"), default=None),
        "active_integration_at": active,
        "production_deployment_at": min(production, default=None),
        "first_session_depth": depth,
    }


@pytest.mark.parametrize("seed", [11, 12])
def test_a_second_generator_gives_the_stages_its_oracle_computes(tmp_path, definitions, seed):
    records, people = other_generator(seed, developers=250)
    pipeline = Pipeline(definitions, tmp_path)
    write_odd_landing(pipeline.data_dir, records, random.Random(seed))
    pipeline.run()
    stages = pipeline.frame("select * from developer_stages").set_index("user_pid")
    assert len(stages) == len(people)
    pids = pipeline.pids([person["user_id"] for person in people])
    for person in people:
        row = stages.loc[pids[person["user_id"]]]
        for column, value in oracle(person).items():
            got = row[column]
            if value is None:
                assert pd.isna(got), (person["user_id"], column, got)
            elif isinstance(value, datetime):
                assert got == pd.Timestamp(value), (person["user_id"], column, got, value)
            else:
                assert got == value, (person["user_id"], column, got, value)

    ttfac = pipeline.frame("select * from mart_ttfac_by_cohort").set_index("cohort_week")
    by_cohort = defaultdict(list)
    for person in people:
        week = (person["signup"] - timedelta(days=person["signup"].weekday())).date()
        first = oracle(person)["first_api_call_at"]
        if first is not None:
            by_cohort[week].append((first - person["signup"]).total_seconds())
    for week, seconds in by_cohort.items():
        row = ttfac.loc[pd.Timestamp(week)]
        assert row.called == len(seconds)
        assert row.p50_s == pytest.approx(np.quantile(seconds, 0.5))
        assert row.p90_s == pytest.approx(np.quantile(seconds, 0.9))
