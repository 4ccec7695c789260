"""The organisation funnel on data from another generator, against a plain-Python reading of its definitions.

The generator's users carry org_id: organisations with one to four
developers, individuals, and developers who are later issued a key of a
second organisation (moving, or working for both). The oracle attributes
every request and key creation to the organisation that owned the key, any
other event to the organisation the developer joined last, and reads the
stage definitions with test_independent_data's developer oracle.
"""

import random
from collections import defaultdict
from datetime import timedelta

import json

import numpy as np
import pandas as pd
import pytest

from funnel_assets.cli import main
from funnel_assets.defs.resources import DEFAULT_TRANSITIONS
from funnel_assets.lib.orgs import ORG_STAGES
from funnel_assets_tests.conftest import Pipeline
from funnel_assets_tests.test_trace import _landing_record
from funnel_assets_tests.test_independent_data import ENDPOINTS, START, oracle, raw_path, stamp, write_odd_landing

HORIZON = timedelta(days=90)
EARLY = timedelta(days=7)


def org_generator(seed: int, orgs: int, individuals: int):
    """Landing records, and each developer's keys (with their organisation), requests and tracks."""
    rng = random.Random(seed)
    records = defaultdict(list)
    people = []
    org_ids = [f"ORG-{seed}-{o}" for o in range(orgs)]
    team = [(org, rng.uniform(0, 18), size) for org in org_ids for size in [rng.choice([1, 1, 2, 2, 3, 4])]]
    starts = [(org, first + (0 if d == 0 else rng.uniform(0, 20)), d) for org, first, size in team for d in range(size)]
    starts += [(None, rng.uniform(0, 18), n) for n in range(individuals)]
    for n, (org, day, _) in enumerate(starts):
        uid = f"U-{seed}-{n}"
        signup = START + timedelta(days=day)
        user = {"user_id": uid, "email": f"dev{n}@corp.example", "created_at": stamp(signup, rng),
                "account_type": "organization" if org else "individual"}
        if org:
            user["org_id"] = org
        records["auth_users"].append(user)
        person = {"user_id": uid, "signup": signup, "org": org, "keys": [], "tracks": []}
        key_orgs = [(org, signup + timedelta(minutes=rng.uniform(0, 3000)))] if rng.random() < 0.85 else []
        if org and rng.random() < 0.25:
            # later issued a key of another organisation: moves there, or works for both
            other = rng.choice([o for o in org_ids if o != org])
            key_orgs.append((other, signup + timedelta(days=rng.uniform(2, 30))))
        for k, (key_org, key_at) in enumerate(key_orgs):
            key_id = f"K{seed}.{n}.{k}"
            mode = "live" if rng.random() < 0.35 else "test"
            key = {"key_id": key_id, "user_id": uid, "mode": mode, "created_at": stamp(key_at, rng)}
            if key_org:
                key["org_id"] = key_org
            records["api_keys"].append(key)
            requests = []
            moment = key_at + timedelta(minutes=rng.uniform(1, 15000))
            for r in range(rng.randrange(0, 16)):
                moment += timedelta(minutes=rng.choice([1, 5, 29.9, 31, 400, 3000]))
                method, route = rng.choice(ENDPOINTS)
                status = rng.choice([200, 200, 201, 401, 500])
                records["gateway_requests"].append(
                    {"request_id": f"r-{seed}-{n}-{k}-{r}", "timestamp": stamp(moment, rng), "key_id": key_id,
                     "method": method, "path": raw_path(route, rng), "status": status, "user_agent": "curl/8.0"})
                requests.append((moment, f"{method} {route}", status, mode))
            person["keys"].append({"org": key_org, "at": key_at, "mode": mode, "requests": requests})
        for t in range(rng.randrange(0, 3)):
            done = signup + timedelta(hours=rng.uniform(-2, 900))
            event = rng.choice(["quickstart_completed", "webhook_endpoint_registered"])
            environment = rng.choice(["production", "sandbox"])
            records["analytics_events"].append(
                {"message_id": f"m-{seed}-{n}-{t}", "type": "track", "event": event, "user_id": uid,
                 "timestamp": stamp(done, rng), "properties": {"environment": environment}})
            person["tracks"].append((done, event, environment))
        people.append(person)
    return records, people


def org_members(people) -> dict[tuple[str, str], dict]:
    """(org, user) -> that developer's events inside the organisation, shaped for the developer oracle."""
    joins = defaultdict(list)
    for person in people:
        if person["org"]:
            joins[(person["org"], person["user_id"])].append(person["signup"])
        for key in person["keys"]:
            if key["org"]:
                joins[(key["org"], person["user_id"])].append(key["at"])
    members = {}
    for (org, uid), times in joins.items():
        members[(org, uid)] = {"org": org, "user_id": uid, "joined": min(times), "signup": min(times),
                               "pages": [], "keys": [], "requests": [], "tracks": []}
    for person in people:
        uid = person["user_id"]
        for key in person["keys"]:
            if key["org"]:
                member = members[(key["org"], uid)]
                member["keys"].append((key["at"], key["mode"]))
                member["requests"] += key["requests"]
        mine = [m for m in members.values() if m["user_id"] == uid]
        for done, event, environment in person["tracks"]:
            joined = [m for m in mine if m["joined"] <= done]
            if joined:
                max(joined, key=lambda m: m["joined"])["tracks"].append((done, event, environment))
    return members


def org_oracle(people) -> dict[str, dict]:
    """org -> cohort week, developers, and per stage its time, the developer who set it and the developers by then."""
    by_org = defaultdict(list)
    for member in org_members(people).values():
        stages = oracle(member)
        stages["account_created_at"] = member["joined"]
        by_org[member["org"]].append((member, stages))
    orgs = {}
    for org, members in by_org.items():
        joined = sorted(m["joined"] for m, _ in members)
        row = {"cohort_week": (joined[0] - timedelta(days=joined[0].weekday())).date(), "developers": len(members),
               "early_second_developer": len(joined) > 1 and joined[1] <= joined[0] + EARLY}
        for stage in ORG_STAGES:
            reached = [(s[f"{stage}_at"], m["user_id"]) for m, s in members if s[f"{stage}_at"] is not None]
            at, who = min(reached) if reached else (None, None)
            row[stage] = {"at": at, "user_id": who,
                          "developers": sum(t <= at for t in joined) if at is not None else None}
        orgs[org] = row
    return orgs


@pytest.fixture(scope="module")
def org_pipeline(tmp_path_factory, definitions):
    records, people = org_generator(21, orgs=45, individuals=40)
    pipeline = Pipeline(definitions, tmp_path_factory.mktemp("orgs"))
    write_odd_landing(pipeline.data_dir, records, random.Random(21))
    pipeline.run()
    return pipeline, org_oracle(people), people, records


def test_org_stages_equal_the_oracle_org_by_org(org_pipeline):
    pipeline, orgs, people, _ = org_pipeline
    stages = pipeline.frame("select * from org_stages").set_index("org_pid")
    pids = pipeline.pids(list(orgs) + [p["user_id"] for p in people])
    individuals = {pids[p["user_id"]] for p in people if p["org"] is None}
    moved = sum(1 for p in people for k in p["keys"] if k["org"] and k["org"] != p["org"])
    assert moved >= 3 and individuals  # the data has developers in two organisations, and individuals
    assert sorted(stages.index) == sorted(pids[o] for o in orgs)
    assert not individuals & set(stages[[f"{s}_user_pid" for s in ORG_STAGES]].stack())
    for org, want in orgs.items():
        row = stages.loc[pids[org]]
        assert row.cohort_week.date() == want["cohort_week"] and row.developers == want["developers"], org
        for stage in ORG_STAGES:
            expected = want[stage]
            if expected["at"] is None:
                assert pd.isna(row[f"{stage}_at"]), (org, stage)
                continue
            assert row[f"{stage}_at"] == pd.Timestamp(expected["at"]), (org, stage)
            assert row[f"{stage}_user_pid"] == pids[expected["user_id"]], (org, stage)
            assert row[f"{stage}_developers"] == expected["developers"], (org, stage)


def _reached(want, stage):
    at = want[stage]["at"]
    return at is not None and at <= want["account_created"]["at"] + HORIZON


def test_org_marts_equal_the_oracle_cell_by_cell(org_pipeline):
    pipeline, orgs, _, _ = org_pipeline
    cohorts = defaultdict(list)
    for want in orgs.values():
        cohorts[pd.Timestamp(want["cohort_week"])].append(want)

    conversion = pipeline.frame("select * from mart_org_stage_conversion").set_index(
        ["cohort_week", "from_stage", "to_stage", "window_days"])
    transitions = [t for t in DEFAULT_TRANSITIONS if t["from_stage"] != "intent"]
    assert len(conversion) == len(transitions) * len(conversion.index.unique("cohort_week"))
    for week, members in cohorts.items():
        for t in transitions:
            entered = [w for w in members if w[t["from_stage"]]["at"] is not None
                       and (t["from_stage"] == "account_created" or _reached(w, t["from_stage"]))]
            converted = [w for w in entered if w[t["to_stage"]]["at"] is not None
                         and w[t["to_stage"]]["at"] <= w[t["from_stage"]]["at"] + timedelta(days=t["window_days"])]
            row = conversion.loc[(week, t["from_stage"], t["to_stage"], t["window_days"])]
            assert (row.entered, row.converted) == (len(entered), len(converted)), (week, t)

    ttfac = pipeline.frame("select * from mart_org_ttfac").set_index("cohort_week")
    production = pipeline.frame("select * from mart_org_production_rate").set_index("cohort_week")
    by_stage = pipeline.frame("select * from mart_org_developers_by_stage").set_index(
        ["cohort_week", "stage", "early_second_developer"])
    for week, members in cohorts.items():
        seconds = [(w["first_api_call"]["at"] - w["account_created"]["at"]).total_seconds()
                   for w in members if w["first_api_call"]["at"] is not None]
        row = ttfac.loc[week]
        assert (row.developers, row.called) == (len(members), len(seconds)), week
        assert row.p50_s == pytest.approx(np.quantile(seconds, 0.5)) and row.p90_s == pytest.approx(np.quantile(seconds, 0.9))

        row = production.loc[week]
        for days in (30, 60, 90):
            live = [w for w in members if w["production_deployment"]["at"] is not None
                    and w["production_deployment"]["at"] <= w["account_created"]["at"] + timedelta(days=days)]
            assert row[f"production_{days}d"] == len(live), (week, days)

        for early in (False, True):
            group = [w for w in members if w["early_second_developer"] == early]
            for stage in ORG_STAGES:
                if not group:
                    assert (week, stage, early) not in by_stage.index
                    continue
                reached = [w for w in group if _reached(w, stage)]
                row = by_stage.loc[(week, stage, early)]
                assert (row.orgs, row.reached) == (len(group), len(reached)), (week, stage, early)
                assert (row.developers if reached else 0) == sum(w[stage]["developers"] for w in reached)


def trace(pipeline, capsys, *args):
    argv = ["trace", *args, "--warehouse", pipeline.resource.warehouse_path, "--format", "json"]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_trace_lists_the_orgs_each_org_cell_counts(org_pipeline, capsys):
    pipeline, orgs, _, _ = org_pipeline
    pids = pipeline.pids(list(orgs))
    weeks = sorted({w["cohort_week"] for w in orgs.values()})
    listed = 0
    for week in weeks:
        members = {o: w for o, w in orgs.items() if w["cohort_week"] == week}
        rows = trace(pipeline, capsys, "mart_org_stage_conversion", "--cohort", str(week),
                     "--from", "first_api_call", "--to", "active_integration", "--who", "converted")
        expected = {pids[o] for o, w in members.items() if _reached(w, "first_api_call")
                    and w["active_integration"]["at"] is not None
                    and w["active_integration"]["at"] <= w["first_api_call"]["at"] + timedelta(days=14)}
        assert {r["org_pid"] for r in rows} == expected, week
        rows = trace(pipeline, capsys, "mart_org_developers_by_stage", "--cohort", str(week),
                     "--stage", "production_deployment", "--early-second-developer", "yes", "--who", "converted")
        expected = {pids[o] for o, w in members.items() if w["early_second_developer"]
                    and _reached(w, "production_deployment")}
        assert {r["org_pid"] for r in rows} == expected, week
        rows = trace(pipeline, capsys, "mart_org_ttfac", "--cohort", str(week), "--who", "never_called")
        assert {r["org_pid"] for r in rows} == {pids[o] for o, w in members.items() if w["first_api_call"]["at"] is None}
        listed += len(rows)
    assert listed > 0


def test_org_trace_points_each_stage_at_the_landing_line_of_its_event_in_that_org(org_pipeline, capsys):
    pipeline, orgs, people, records = org_pipeline
    pids = pipeline.pids(list(orgs) + [p["user_id"] for p in people])
    org_of_pid = {pids[o]: o for o in orgs}
    key_org = {k["key_id"]: k.get("org_id") for k in records["api_keys"]}
    checked = 0
    for week in sorted({w["cohort_week"] for w in orgs.values()}):
        for row in trace(pipeline, capsys, "mart_org_production_rate", "--cohort", str(week), "--days", "90"):
            org = org_of_pid[row["org_pid"]]
            for stage in ORG_STAGES:
                if row[f"{stage}_at"] is None:
                    continue
                record = _landing_record(pipeline.data_dir, row[f"{stage}_source_file"], row[f"{stage}_source_line"])
                assert pids[record["user_id"]] == row[f"{stage}_user_pid"] if "user_id" in record else True
                if "/gateway_requests/" in row[f"{stage}_source_file"]:
                    assert record["request_id"] == row[f"{stage}_event_id"] and key_org[record["key_id"]] == org
                elif "/api_keys/" in row[f"{stage}_source_file"]:
                    assert record["org_id"] == org and row[f"{stage}_event_id"].startswith("key:")
                elif "/analytics_events/" in row[f"{stage}_source_file"]:
                    assert record["message_id"] == row[f"{stage}_event_id"]
                else:
                    assert "/auth_users/" in row[f"{stage}_source_file"] and record["org_id"] == org
                checked += 1
    assert checked > len(orgs)
