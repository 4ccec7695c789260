"""What the landing folder may hold, and how each kind of bad entry is refused or counted."""

from __future__ import annotations

import gzip
import os
from datetime import timedelta

import pytest

from funnel_assets.lib.landing import day_files
from funnel_assets_tests.test_quality_ingest import W1, W2, Warehouse, lines, request

BOM = b"\xef\xbb\xbf"


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    return Warehouse(tmp_path)


@pytest.mark.parametrize("compressed", [False, True])
def test_a_byte_order_mark_is_stripped_on_the_line_by_line_path_too(warehouse, compressed):
    # the invalid UTF-8 on line 2 sends the file to Python's line-by-line reader
    content = BOM + lines(request(1, W1), b'{"request_id": "req_2", "path": "/v1/caf\xe9"}', request(3, W1))
    name = f"{W1}.jsonl.gz" if compressed else f"{W1}.jsonl"
    warehouse.write("gateway_requests", name, gzip.compress(content) if compressed else content)
    counts, _ = warehouse.ingest("gateway_requests", W1, W2)
    assert (counts.input_lines, counts.accepted, counts.quarantined) == (3, 2, 1)
    assert warehouse.frame("select read_by from ingested_files").read_by.tolist() == ["python"]
    assert warehouse.frame("select request_id from raw_gateway_requests order by 1").request_id.tolist() == [
        "req_1", "req_3"
    ]


def test_a_byte_order_mark_on_the_duckdb_path(warehouse):
    warehouse.write("gateway_requests", f"{W1}.jsonl", BOM + lines(request(1, W1), request(2, W1)))
    counts, _ = warehouse.ingest("gateway_requests", W1, W2)
    assert (counts.accepted, counts.quarantined) == (2, 0)


def test_a_symbolic_link_is_refused_and_never_read(warehouse, tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    warehouse.write("gateway_requests", f"{W1}.jsonl", lines(request(1, W1)))
    link = warehouse.data / "landing" / "gateway_requests" / f"{W1 + timedelta(days=1)}.jsonl"
    os.symlink(secret, link)
    with pytest.raises(ValueError) as raised:
        day_files(warehouse.data, "gateway_requests")
    message = str(raised.value)
    assert message == (f"{link}: a symbolic link (to {secret}); landing files must be regular files inside the "
                       f"landing folder")


def test_a_directory_named_like_a_day_file_is_refused_and_the_refusals_counted(warehouse):
    folder = warehouse.data / "landing" / "gateway_requests"
    (folder / f"{W1}.jsonl").mkdir(parents=True)
    (folder / f"{W1 + timedelta(days=1)}.jsonl.gz").mkdir()
    with pytest.raises(ValueError) as raised:
        day_files(warehouse.data, "gateway_requests")
    assert str(raised.value) == (
        f"{folder / f'{W1}.jsonl'}: a directory; landing files must be regular files inside the landing folder "
        f"(and 1 more refused in {folder})"
    )


def test_a_file_named_with_an_impossible_day_names_its_path(warehouse):
    warehouse.write("gateway_requests", "2026-13-45.jsonl", lines(request(1, W1)))
    path = warehouse.data / "landing" / "gateway_requests" / "2026-13-45.jsonl"
    with pytest.raises(ValueError) as raised:
        day_files(warehouse.data, "gateway_requests")
    assert str(raised.value) == f"{path}: 2026-13-45 is not a calendar day (expected <YYYY-MM-DD>)"


def test_a_time_before_its_landing_day_is_flagged_like_one_after_it(warehouse):
    def signup(uid: str, created_at: str) -> dict:
        return {"user_id": uid, "email": f"{uid}@example.com", "account_type": "individual", "created_at": created_at}

    warehouse.write("auth_users", f"{W1}.jsonl", lines(
        signup("u1", f"{W1}T10:00:00+00:00"),
        signup("u2", f"{W1 - timedelta(days=1)}T23:30:00+00:00"),  # within the hour's tolerance
        signup("u3", "1900-01-01T00:00:00+00:00"),
    ))
    counts, outcomes = warehouse.ingest("auth_users", W1, W2)
    assert counts.accepted + counts.quarantined + counts.duplicates == counts.input_lines == 3
    past = outcomes["past"]
    assert past.check.name == "raw_auth_users_has_no_events_before_their_day" and past.check.blocking
    assert not past.passed and past.failing_rows == 1
    assert past.metadata()["sample"][0]["line"] == 3
    assert outcomes["future"].passed


def test_a_later_version_of_a_state_record_may_keep_its_first_time(warehouse):
    created = f"{W1}T10:00:00+00:00"
    key = {"key_id": "k1", "user_id": "u1", "mode": "test", "created_at": created}
    warehouse.write("api_keys", f"{W1}.jsonl", lines(key))
    # the revocation, two days later, carries the key's creation time
    warehouse.write("api_keys", f"{W1 + timedelta(days=2)}.jsonl",
                    lines({**key, "revoked_at": f"{W1 + timedelta(days=2)}T08:00:00+00:00"}))
    counts, outcomes = warehouse.ingest("api_keys", W1, W2)
    assert counts.input_lines == 2
    assert outcomes["past"].passed
