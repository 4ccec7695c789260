"""State that changes: later records of a user or an API key are newer versions, not duplicates.

Hand-built landing files (and Clerk webhooks) whose answers are known by
construction: keys revoked after their creation by a new line in the day
file of the revocation (as a platform appends key events), a user whose org
changes, and requests made with a key before and after its revocation.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from funnel_assets.lib.adapters import convert_command
from funnel_assets_tests.conftest import Pipeline
from funnel_assets_tests.landing import T0, at



def append(data_dir: Path, source: str, day: str, rows: list[dict]) -> None:
    """Lines appended to the day file `day` of `source`, whatever the records' own times."""
    folder = data_dir / "landing" / source
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{day}.jsonl", "a") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


def day_of(moment: str) -> str:
    return datetime.fromisoformat(moment).date().isoformat()


def user(uid, days, org=None):
    row = {"user_id": uid, "email": f"{uid}@example.com", "account_type": "organization" if org else "individual",
           "created_at": at(days=days)}
    return row | ({"org_id": org} if org else {})


def key(kid, uid, days, revoked_days=None, mode="test"):
    row = {"key_id": kid, "user_id": uid, "mode": mode, "created_at": at(days=days)}
    return row | ({"revoked_at": at(days=revoked_days)} if revoked_days is not None else {})


def call(rid, kid, when):
    return {"request_id": rid, "timestamp": when, "key_id": kid, "method": "GET", "path": "/v1/customers",
            "status": 200, "user_agent": "curl/8.4.0"}


def checks(result) -> dict[str, list]:
    found: dict[str, list] = {}
    for evaluation in result.get_asset_check_evaluations():
        found.setdefault(evaluation.check_name, []).append(evaluation)
    return found


def passed(result, name: str) -> bool:
    evaluations = checks(result)[name]
    return all(e.passed for e in evaluations)


def version_counts(result, source: str) -> tuple[int, int]:
    """Current and history rows over the weeks of the run (its result without a partition), and per week."""
    evaluations = checks(result)[f"raw_{source}_reconciles_input_lines"]
    [overall] = [e for e in evaluations if e.partition is None]
    weeks = [e for e in evaluations if e.partition is not None]
    per_week = tuple(sum(e.metadata[name].value for e in weeks) for name in ("current", "history"))
    totals = tuple(overall.metadata[name].value for name in ("current", "history"))
    assert per_week == totals
    return totals


def owners(pipeline: Pipeline) -> pd.DataFrame:
    frame = pipeline.frame("select key_pid, valid_from, valid_to, user_pid, org_pid from identity_key_owners")
    names = {pid: raw for raw, pid in pipeline.pids(["k_early", "k_later", "k_next_week", "k_kept",
                                                       "ann", "ben", "org_1", "org_2"]).items()}
    for column in ("key_pid", "user_pid", "org_pid"):
        frame[column] = frame[column].map(names)
    frame = frame.sort_values("key_pid").reset_index(drop=True)
    return frame.astype(object).where(frame.notna(), None)


def ts(value: str) -> pd.Timestamp:
    return pd.Timestamp(datetime.fromisoformat(value)).tz_convert("UTC")


@pytest.fixture(scope="module")
def revoked_later(tmp_path_factory, definitions):
    pipeline = Pipeline(definitions, tmp_path_factory.mktemp("revoked_later"))
    data = pipeline.data_dir
    append(data, "auth_users", day_of(at(days=0)), [user("ann", 0), user("ben", 0, org="org_1")])
    # ben moves to another organisation: a new version of his record, landed later in the same day file
    append(data, "auth_users", day_of(at(days=0)), [user("ben", 0, org="org_2")])
    append(data, "api_keys", day_of(at(days=0)), [
        key("k_early", "ann", 0, revoked_days=0.5),  # revoked in its first record
        key("k_later", "ann", 0),
        key("k_next_week", "ben", 0.5),
        key("k_kept", "ben", 0.5),
    ])
    # the revocations, three days after creation, as new lines for the same key_id and created_at
    # in the day file of the revocation: one in the same week, one in the next week
    later = key("k_later", "ann", 0, revoked_days=3)
    append(data, "api_keys", day_of(later["revoked_at"]), [later])
    next_week = key("k_next_week", "ben", 0.5, revoked_days=7.5)
    append(data, "api_keys", day_of(next_week["revoked_at"]), [next_week])
    append(data, "gateway_requests", day_of(at(days=1)), [call("r_before", "k_later", at(days=1))])
    append(data, "gateway_requests", day_of(at(days=3, hours=1)), [call("r_after", "k_later", at(days=3, hours=1))])
    append(data, "gateway_requests", day_of(at(days=7)), [call("r_nw_before", "k_next_week", at(days=7))])
    append(data, "gateway_requests", day_of(at(days=8)), [
        call("r_nw_after", "k_next_week", at(days=8)),
        call("r_kept", "k_kept", at(days=8)),
    ])
    return pipeline, pipeline.run()


def test_a_revocation_sent_later_reaches_the_identity_map(revoked_later):
    pipeline, _ = revoked_later
    assert owners(pipeline).to_dict("records") == [
        {"key_pid": "k_early", "valid_from": ts(at()), "valid_to": ts(at(days=0.5)), "user_pid": "ann", "org_pid": None},
        {"key_pid": "k_kept", "valid_from": ts(at(days=0.5)), "valid_to": None, "user_pid": "ben", "org_pid": None},
        {"key_pid": "k_later", "valid_from": ts(at()), "valid_to": ts(at(days=3)), "user_pid": "ann", "org_pid": None},
        {"key_pid": "k_next_week", "valid_from": ts(at(days=0.5)), "valid_to": ts(at(days=7.5)), "user_pid": "ben",
         "org_pid": None},
    ]


def test_requests_after_a_later_revocation_are_not_attributed_to_the_old_owner(revoked_later):
    pipeline, _ = revoked_later
    attributed = pipeline.frame(
        "select event_id from developer_events where event_type = 'api_request' order by event_id"
    ).event_id.tolist()
    assert attributed == ["r_before", "r_kept", "r_nw_before"]


def test_later_versions_are_history_not_duplicates(revoked_later):
    pipeline, result = revoked_later
    assert pipeline.frame("select count(*) as n from quarantine").n[0] == 0
    keys = pipeline.frame(
        "select key_id, _source_file, _source_line, revoked_at, _first_version from raw_api_keys "
        "where key_id in ('k_later', 'k_next_week') order by key_id, _source_file"
    )
    assert keys[["key_id", "_source_file", "_source_line"]].values.tolist() == [
        ["k_later", "landing/api_keys/2025-03-03.jsonl", 2],
        ["k_later", "landing/api_keys/2025-03-06.jsonl", 1],
        ["k_next_week", "landing/api_keys/2025-03-03.jsonl", 3],
        ["k_next_week", "landing/api_keys/2025-03-10.jsonl", 1],
    ]
    assert [None if pd.isna(v) else v for v in keys._first_version] == [
        None,
        "landing/api_keys/2025-03-03.jsonl:2",
        None,
        "landing/api_keys/2025-03-03.jsonl:3",
    ]
    for source in ("api_keys", "auth_users"):
        assert passed(result, f"raw_{source}_reconciles_input_lines")
        assert passed(result, f"raw_{source}_has_unique_" + ("key_id_and_created_at_pairs" if source == "api_keys"
                                                              else "user_ids"))
    # accepted = current + history: 4 + 2 keys (2 revocations), 2 + 1 users (ben's org change)
    assert version_counts(result, "api_keys") == (4, 2)
    assert version_counts(result, "auth_users") == (2, 1)


def test_a_user_follows_their_latest_version(revoked_later):
    pipeline, _ = revoked_later
    users = pipeline.frame("select user_pid, org_pid, account_type from identity_users order by account_type")
    names = {pid: raw for raw, pid in pipeline.pids(["ann", "ben", "org_2"]).items()}
    assert [(names[u], names.get(o), t) for u, o, t in users.itertuples(index=False)] == [
        ("ann", None, "individual"),
        ("ben", "org_2", "organization"),
    ]
    # one account_created event per user, from their first version
    signups = pipeline.frame("select count(*) as n from developer_events where event_type = 'account_created'")
    assert signups.n[0] == 2


# --- Clerk: the whole User object in every user.* webhook ---------------------------------------


def ms(moment: str) -> int:
    return int(datetime.fromisoformat(moment).timestamp() * 1000)


def clerk_event(kind: str, updated: str, keys: list[dict]) -> dict:
    return {
        "type": kind,
        "object": "event",
        "timestamp": ms(updated) + 250,
        "data": {
            "id": "user_2clerk",
            "created_at": ms(at()),
            "updated_at": ms(updated),
            "primary_email_address_id": "idn_1",
            "email_addresses": [{"id": "idn_1", "email_address": "cleo@example.com"}],
            "private_metadata": {"api_keys": keys},
        },
    }


def clerk_key(kid: str, revoked: str | None = None) -> dict:
    return {"key_id": kid, "mode": "test", "created_at": at(minutes=1)} | ({"revoked_at": revoked} if revoked else {})


@pytest.fixture(scope="module")
def clerk_updates(tmp_path_factory, definitions):
    pipeline = Pipeline(definitions, tmp_path_factory.mktemp("clerk_updates"))
    events = [
        clerk_event("user.created", at(minutes=1), [clerk_key("k_one"), clerk_key("k_two")]),
        # delivered before the update it follows: converted in the order of updated_at
        clerk_event("user.updated", at(days=5), [clerk_key("k_one", revoked=at(days=3))]),
        clerk_event("user.updated", at(days=3), [clerk_key("k_one", revoked=at(days=3)), clerk_key("k_two")]),
        # a profile change that leaves the keys as they were
        clerk_event("user.updated", at(days=6), [clerk_key("k_one", revoked=at(days=3))]),
    ]
    webhooks = pipeline.root / "clerk_webhooks.jsonl"
    webhooks.write_text("".join(json.dumps(event) + "\n" for event in events))
    counts = convert_command("clerk", [webhooks], pipeline.data_dir, {})
    # two monthly Auth0 exports: the second has dora's key revoked and her new organisation, and eve unchanged
    dora = {"user_id": "auth0|dora", "email": "dora@example.com", "created_at": at(days=1),
            "app_metadata": {"api_keys": [{"key_id": "k_dora", "mode": "live", "created_at": at(days=1)}]}}
    eve = {"user_id": "auth0|eve", "email": "eve@example.com", "created_at": at(days=1)}
    dora_later = dora | {"app_metadata": {"org_id": "org_d", "api_keys": [
        {"key_id": "k_dora", "mode": "live", "created_at": at(days=1), "revoked_at": at(days=2)}]}}
    for name, users in (("march.json", [dora, eve]), ("april.json", [dora_later, eve])):
        (pipeline.root / name).write_text("".join(json.dumps(u) + "\n" for u in users))
        convert_command("auth0", [pipeline.root / name], pipeline.data_dir, {})
    # Zendesk's incremental export: the whole ticket again on each change, the later page first
    ticket = {"id": 71, "requester_id": 9, "created_at": at(days=2), "subject": "401 on every call", "tags": []}
    pages = [
        {"tickets": [ticket | {"updated_at": at(days=4), "tags": ["solved"]}], "users": [{"id": 9, "email": "cleo@example.com"}]},
        {"tickets": [ticket | {"updated_at": at(days=2)}], "users": [{"id": 9, "email": "cleo@example.com"}]},
    ]
    export = pipeline.root / "zendesk_incremental.jsonl"
    export.write_text("".join(json.dumps(page) + "\n" for page in pages))
    counts |= {"support_tickets": convert_command("zendesk", [export], pipeline.data_dir, {})["support_tickets"]}
    append(pipeline.data_dir, "gateway_requests", day_of(at(days=1)), [call("c_one_before", "k_one", at(days=1))])
    append(pipeline.data_dir, "gateway_requests", day_of(at(days=4)), [
        call("c_one_after", "k_one", at(days=4)),
        call("c_two_before", "k_two", at(days=4)),
    ])
    append(pipeline.data_dir, "gateway_requests", day_of(at(days=5, hours=1)),
           [call("c_two_after", "k_two", at(days=5, hours=1)), call("c_dora_after", "k_dora", at(days=5, hours=1))])
    return pipeline, pipeline.run(), counts


def test_clerk_keys_revoked_or_deleted_in_later_updates_reach_the_identity_map(clerk_updates):
    pipeline, _, counts = clerk_updates
    assert counts == {"files": 1, "auth_users": 4, "api_keys": 7, "support_tickets": 2}
    names = {pid: raw for raw, pid in pipeline.pids(["k_one", "k_two", "user_2clerk", "k_dora", "auth0|dora"]).items()}
    rows = pipeline.frame("select key_pid, valid_from, valid_to, user_pid from identity_key_owners order by valid_to")
    assert [(names[k], f, t, names[u]) for k, f, t, u in rows.itertuples(index=False)] == [
        # revoked in the second Auth0 export
        ("k_dora", ts(at(days=1)), ts(at(days=2)), "auth0|dora"),
        ("k_one", ts(at(minutes=1)), ts(at(days=3)), "user_2clerk"),
        # gone from the key list of the update at day 5: deleted then
        ("k_two", ts(at(minutes=1)), ts(at(days=5)), "user_2clerk"),
    ]
    attributed = pipeline.frame(
        "select event_id from developer_events where event_type = 'api_request' order by event_id"
    ).event_id.tolist()
    assert attributed == ["c_one_before", "c_two_before"]
    # one key_created event per key, one account_created for the user
    created = pipeline.frame("select event_type, count(*) as n from developer_events "
                             "where source = 'auth' group by all order by 1")
    assert created.values.tolist() == [["account_created", 3], ["key_created", 3]]
    orgs = pipeline.frame("select user_pid, org_pid from identity_users where org_pid is not null")
    assert orgs.values.tolist() == [[pipeline.pid("auth0|dora"), pipeline.pid("org_d")]]


def test_a_clerk_webhook_stream_reconciles_with_no_duplicates(clerk_updates):
    pipeline, result, _ = clerk_updates
    assert pipeline.frame("select count(*) as n from quarantine").n[0] == 0
    for source, key in (("auth_users", "user_ids"), ("api_keys", "key_id_and_created_at_pairs")):
        assert passed(result, f"raw_{source}_reconciles_input_lines")
        assert passed(result, f"raw_{source}_has_unique_{key}")
    # clerk: 4 webhooks of one user; auth0: dora and eve in two exports
    assert version_counts(result, "auth_users") == (3, 3 + 2)
    # clerk: 7 key records of 2 issues; auth0: k_dora in two exports
    assert version_counts(result, "api_keys") == (3, 5 + 1)
    assert version_counts(result, "support_tickets") == (1, 1)
    assert passed(result, "raw_support_tickets_has_unique_ticket_ids")


def test_a_zendesk_ticket_updated_later_is_one_ticket_in_its_latest_version(clerk_updates):
    pipeline, _, _ = clerk_updates
    tickets = pipeline.frame("select event_time from developer_events where event_type = 'support_ticket'")
    assert tickets.event_time.tolist() == [ts(at(days=2))]
    latest = pipeline.frame(
        "select tags from raw_support_tickets "
        "qualify row_number() over (order by _version_time desc, _source_file desc, _source_line desc) = 1"
    )
    assert json.loads(latest.tags[0]) == ["solved"]


# --- simulated activity: revocations appended later for 15 keys ---------------------------------


def test_fifteen_revocations_appended_later_all_reach_the_identity_map(tmp_path, definitions):
    from dataclasses import replace

    import duckdb

    from funnel_assets.lib.simulator import DEFAULT_PARAMETERS, generate

    pipeline = Pipeline(definitions, tmp_path)
    generate(pipeline.data_dir, developers=250, weeks=3, seed=11, requests=8000,
             params=replace(DEFAULT_PARAMETERS, follow_up_days=49))
    landing = pipeline.data_dir / "landing"
    con = duckdb.connect()
    keys = {
        record["key_id"]: record
        for path in sorted((landing / "api_keys").glob("*.jsonl"))
        for record in map(json.loads, path.read_text().splitlines())
    }
    revoked_at_creation = sum("revoked_at" in record for record in keys.values())
    # keys still in use three days after creation, so that requests follow their revocation
    later = con.execute(
        f"""
        select k.key_id, k.created_at
        from read_json_auto('{landing}/api_keys/*.jsonl', union_by_name = true) as k
        join read_json_auto('{landing}/gateway_requests/*.jsonl', union_by_name = true) as r using (key_id)
        where {'k.revoked_at is null and ' if revoked_at_creation else ''}
              cast(r.timestamp as timestamptz) > cast(k.created_at as timestamptz) + interval 3 day
        group by all order by min(r.timestamp), k.key_id limit 15
        """
    ).fetchall()
    assert len(later) == 15 and revoked_at_creation > 0
    for key_id, _ in later:
        record = keys[key_id]
        revoked = datetime.fromisoformat(record["created_at"]) + timedelta(days=3)
        append(pipeline.data_dir, "api_keys", revoked.date().isoformat(), [record | {"revoked_at": revoked.isoformat()}])
    result = pipeline.run()

    revoked_issues = pipeline.frame("select count(*) as n from identity_key_owners where valid_to is not null").n[0]
    assert revoked_issues == revoked_at_creation + 15
    pids = pipeline.pids([key_id for key_id, _ in later])
    attributed_after = pipeline.frame(
        """
        select count(*) as n
        from developer_events as e
        join identity_key_owners as o using (key_pid)
        where e.event_type = 'api_request' and list_contains(cast($pids as varchar[]), e.key_pid)
          and e.event_time >= o.valid_to
        """,
        {"pids": list(pids.values())},
    ).n[0]
    calls_after = pipeline.frame(
        """
        select count(*) as n
        from raw_gateway_requests as r
        join identity_key_owners as o on o.key_pid = pseudo(r.key_id)
        where list_contains(cast($pids as varchar[]), o.key_pid) and r.timestamp >= o.valid_to
        """,
        {"pids": list(pids.values())},
    ).n[0]
    assert calls_after > 0 and attributed_after == 0
    assert passed(result, "raw_api_keys_reconciles_input_lines")
    assert passed(result, "raw_api_keys_has_unique_key_id_and_created_at_pairs")
    assert version_counts(result, "api_keys")[1] == 15


def test_a_late_key_file_refreshes_the_weeks_after_it(definitions):
    """Incremental runs: a revocation landing in a closed week re-attributes every later event week."""
    from funnel_assets.defs.resources import FunnelRules
    from funnel_assets.orchestration.incremental import FileChange
    from funnel_assets.orchestration.launch import plan_for
    from funnel_assets.orchestration.weeks import WeekRange, identity_sources

    graph = definitions.resolve_asset_graph()
    assert {"api_keys", "auth_users"} <= identity_sources(graph)
    revocation_week = T0.date() + timedelta(weeks=1)
    last_week = T0.date() + timedelta(weeks=6)
    todo = plan_for(graph, FunnelRules(), [FileChange("api_keys", "landing/api_keys/x", revocation_week, "new")],
                    WeekRange(T0.date(), last_week), as_of=None)
    assert todo.events.first <= revocation_week and todo.events.last == last_week
    assert todo.sources == ("api_keys",) and todo.raw == WeekRange(revocation_week, last_week)


# --- ingestion week by week, without Dagster ------------------------------------------------------


def test_versions_week_by_week_and_a_later_week_ingested_first(tmp_path):
    from funnel_assets_tests.test_quality_ingest import Warehouse

    warehouse = Warehouse(tmp_path)
    week, next_week = T0.date(), T0.date() + timedelta(weeks=1)
    created = key("k_1", "ann", 0)
    revoked = key("k_1", "ann", 0, revoked_days=8)
    warehouse.write("api_keys", f"{week}.jsonl", json.dumps(created).encode() + b"\n")
    warehouse.write("api_keys", f"{next_week}.jsonl", json.dumps(revoked).encode() + b"\n")
    # the later week first: its revocation looks like the key's first version
    counts, _ = warehouse.ingest("api_keys", next_week, next_week + timedelta(weeks=1))
    assert (counts.accepted, counts.duplicates, counts.later_versions) == (1, 0, 0)
    counts, outcomes = warehouse.ingest("api_keys", week, next_week)
    assert (counts.accepted, counts.duplicates) == (1, 0)
    assert outcomes["reconciliation"].passed
    stale = outcomes["duplicates"]
    assert not stale.passed and stale.failing_rows == 1
    assert stale.metadata()["later_weeks_to_rematerialise"] == [next_week.isoformat()]
    # re-materialised, the later week links its row to the first version: nothing left to report
    counts, outcomes = warehouse.ingest("api_keys", next_week, next_week + timedelta(weeks=1))
    assert (counts.accepted, counts.duplicates, counts.later_versions) == (1, 0, 1)
    _, outcomes = warehouse.ingest("api_keys", week, next_week)
    assert outcomes["duplicates"].passed
    rows = warehouse.frame("select _source_file, _version_time, coalesce(_first_version, '-') from raw_api_keys order by 1")
    assert rows.values.tolist() == [
        [f"landing/api_keys/{week}.jsonl", ts(at()), "-"],
        [f"landing/api_keys/{next_week}.jsonl", ts(at(days=8)), f"landing/api_keys/{week}.jsonl:1 (week {week})"],
    ]
