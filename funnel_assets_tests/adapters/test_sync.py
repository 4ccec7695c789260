"""Vendor sources converted into the landing folder once per file version (funnel_assets.lib.adapters.sync)."""

import json
import os
from pathlib import Path

import pytest

from funnel_assets.lib.adapters.sync import MANIFEST, SyncError, VendorInput, sync_vendor_sources


def sendgrid_event(event_id: str, day: int, kind: str = "open") -> dict:
    monday = 1772409600  # 2026-03-02T00:00:00Z
    when = monday + day * 86400 + 3600
    return {"email": "ada@acme.io", "timestamp": when, "event": kind, "sg_event_id": event_id, "category": "welcome"}


def write_body(path: Path, *events: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(list(events)) + "\n")
    return path


def append_body(path: Path, *events: dict) -> None:
    stat = path.stat()
    with path.open("a") as handle:
        handle.write(json.dumps(list(events)) + "\n")
    # a file rewritten within the same clock tick still tells by its size; keep the test independent of that
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def landing_ids(data: Path) -> list[str]:
    return [
        json.loads(line)["event_id"]
        for path in sorted((data / "landing" / "email_events").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def snapshot(data: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data)): p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file() and p.name != MANIFEST.name}


@pytest.fixture
def hooks(tmp_path):
    inbox = tmp_path / "sendgrid"
    write_body(inbox / "2026-03-02.json", sendgrid_event("e1", 0), sendgrid_event("e2", 1), sendgrid_event("p1", 1, "processed"))
    write_body(inbox / "2026-03-03.json", sendgrid_event("e3", 1))
    return inbox, tmp_path / "data", [VendorInput("sendgrid", inbox, {})]


def test_first_sync_converts_every_file_and_records_it(hooks):
    inbox, data, sources = hooks
    report = sync_vendor_sources(sources, data)
    assert (len(report.converted), report.unchanged, report.counts) == (2, 0, {"email_events": 3, "rejected": 1})
    assert landing_ids(data) == ["e1", "e2", "e3"]
    manifest = json.loads((data / MANIFEST).read_text())
    entry = manifest["files"][str((inbox / "2026-03-02.json").resolve())]
    stat = (inbox / "2026-03-02.json").stat()
    assert entry["version"]["format"] == "sendgrid"
    assert (entry["version"]["size"], entry["version"]["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns)
    assert entry["counts"] == {"email_events": 2, "rejected": 1}
    assert {w["path"] for w in entry["written"]} == {
        "landing/email_events/2026-03-02.jsonl",
        "landing/email_events/2026-03-03.jsonl",
        "quarantine/convert.jsonl",
    }


def test_second_sync_of_unchanged_files_writes_nothing(hooks):
    _, data, sources = hooks
    sync_vendor_sources(sources, data)
    before = snapshot(data)
    report = sync_vendor_sources(sources, data)
    assert (report.converted, report.unchanged, report.counts) == ([], 2, {})
    assert snapshot(data) == before


def test_a_grown_file_replaces_its_own_records_and_keeps_every_other_line(hooks):
    inbox, data, sources = hooks
    # lines of your own in the same day file, written before the vendor records and appended after them
    day = data / "landing" / "email_events" / "2026-03-03.jsonl"
    own = {"event_id": "own1", "email": "x@y.z", "campaign": "c", "event": "open", "timestamp": "2026-03-03T05:00:00+00:00"}
    day.parent.mkdir(parents=True)
    day.write_text(json.dumps(own) + "\n")
    sync_vendor_sources(sources, data)
    with day.open("a") as handle:
        handle.write(json.dumps({**own, "event_id": "own2"}) + "\n")
    append_body(inbox / "2026-03-02.json", sendgrid_event("e4", 1), sendgrid_event("p2", 1, "deferred"))

    report = sync_vendor_sources(sources, data)
    assert (len(report.replaced), report.unchanged, report.counts) == (1, 1, {"email_events": 3, "rejected": 2})
    assert sorted(landing_ids(data)) == ["e1", "e2", "e3", "e4", "own1", "own2"]
    quarantine = [json.loads(line)["raw"] for line in (data / "quarantine" / "convert.jsonl").read_text().splitlines()]
    assert len(quarantine) == 2 and "p1" in quarantine[0] and "p2" in quarantine[1]
    # and once more: nothing changes
    before = snapshot(data)
    assert sync_vendor_sources(sources, data).converted == []
    assert snapshot(data) == before


def test_other_options_convert_the_file_again(hooks, tmp_path):
    inbox, data, _ = hooks
    sync_vendor_sources([VendorInput("sendgrid", inbox, {})], data)
    report = sync_vendor_sources([VendorInput("sendgrid", inbox, {"campaign_field": "campaign"})], data)
    assert len(report.replaced) == 2
    assert sorted(landing_ids(data)) == ["e1", "e2", "e3"]


def test_an_edit_inside_the_vendor_records_stops_the_sync_naming_the_file(hooks):
    inbox, data, sources = hooks
    sync_vendor_sources(sources, data)
    day = data / "landing" / "email_events" / "2026-03-02.jsonl"
    day.write_text(day.read_text().replace("welcome", "WELCOME"))
    append_body(inbox / "2026-03-02.json", sendgrid_event("e4", 1))
    with pytest.raises(SyncError, match="2026-03-02.jsonl was edited"):
        sync_vendor_sources(sources, data)
    assert "WELCOME" in day.read_text()  # nothing was cut


def test_a_vanished_vendor_file_keeps_its_records(hooks):
    inbox, data, sources = hooks
    sync_vendor_sources(sources, data)
    (inbox / "2026-03-02.json").unlink()
    report = sync_vendor_sources(sources, data)
    assert (report.converted, report.unchanged) == ([], 1)
    assert landing_ids(data) == ["e1", "e2", "e3"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (VendorInput("sendgird", Path("IN"), {}), "unknown format 'sendgird'"),
        (VendorInput("sendgrid", Path("IN"), {"campaign": "x"}), "has no option(s) ['campaign']"),
        (VendorInput("sendgrid", Path("IN/missing.json"), {}), "no file or folder"),
    ],
)
def test_a_bad_vendor_source_is_refused_before_anything_is_written(hooks, source, message):
    inbox, data, sources = hooks
    source = VendorInput(source.format, Path(str(source.path).replace("IN", str(inbox))), source.options)
    with pytest.raises((ValueError, FileNotFoundError)) as error:
        sync_vendor_sources([*sources, source], data)
    assert message in str(error.value) and "vendor_sources[1]" in str(error.value)
    assert not data.exists()


def test_one_file_claimed_by_two_formats_is_refused(hooks):
    inbox, data, sources = hooks
    with pytest.raises(SyncError, match="also read by"):
        sync_vendor_sources([*sources, VendorInput("segment", inbox / "2026-03-03.json", {})], data)
