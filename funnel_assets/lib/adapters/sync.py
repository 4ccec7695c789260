"""Vendor sources of the configuration -> landing format v1, once per version of each file.

The asset `vendor_landing_files` (upstream of every raw asset) calls
`sync_vendor_sources`, so every run that ingests converts first:
every file of every configured vendor source (a file, or the files under a
folder) is converted into `<data_dir>/landing/` the first time it is seen,
and again only when it has changed. The manifest
`<data_dir>/landing/.converted.json` remembers, for each vendor file, the
version converted (size, modification time, format, options) and the byte
ranges the conversion appended to each landing file and to
`quarantine/convert.jsonl`, each with its SHA-256.

A changed file (a log that grew, a new export under the same name, other
options) replaces its own records and nothing else: its byte ranges are cut
out of the files it wrote to, keeping every other line (your own landing
records, other vendor files' records), and it is converted again. A range is
cut only if its bytes still hash to what was written: a landing file edited
inside those ranges stops the sync with an error naming it, rather than a
guess at which lines to remove. A vendor file that has disappeared (rotated
away) keeps its records, and so does one no longer configured.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from funnel_assets.lib.adapters import check_inputs, convert_file, input_files
from funnel_assets.lib.adapters.base import Converted, Rejected
from funnel_assets.lib.adapters.landing_writer import QUARANTINE_FILE, landing_path, write_landing

MANIFEST = Path("landing") / ".converted.json"
MANIFEST_VERSION = 1
# folders of the data directory the sync writes: never read back as vendor input
OUTPUT_FOLDERS = ("landing", "quarantine")


class SyncError(ValueError):
    """The vendor sources cannot be brought up to date without duplicating or losing records."""


@dataclass(frozen=True)
class VendorInput:
    """One configured vendor source: a file or a folder of files in one vendor format."""

    format: str
    path: Path
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class SyncReport:
    converted: list[str]  # vendor files converted by this sync (new or changed)
    replaced: list[str]  # those of them whose earlier records were replaced
    unchanged: int
    counts: dict[str, int]  # landing records per source, and `rejected`

    def summary(self, data_dir: Path) -> str:
        files = f"{len(self.converted)} file(s) converted"
        if self.replaced:
            files += f" ({len(self.replaced)} changed since last time: their earlier records replaced)"
        line = f"vendor sources: {files}, {self.unchanged} unchanged"
        if self.counts:
            line += ": " + ", ".join(f"{name}={count:,}" for name, count in sorted(self.counts.items()))
        if self.counts.get("rejected"):
            line += f"\n  rejected records, with file, line, field and reason: {Path(data_dir) / QUARANTINE_FILE}"
        return line


def sync_vendor_sources(sources: Sequence[VendorInput], data_dir: Path) -> SyncReport:
    """Convert the new and changed files of `sources` into `data_dir`, record them in the manifest."""
    data_dir = Path(data_dir)
    files = _planned_files(sources, data_dir)
    manifest = _load_manifest(data_dir)
    entries: dict[str, dict] = manifest["files"]
    # a version is taken before its file is read: a log that grows meanwhile is converted again next time
    versions = {file: _version(file, source) for file, source in files}
    pending = [(file, source) for file, source in files if entries.get(str(file), {}).get("version") != versions[file]]
    replaced = [str(file) for file, _ in pending if str(file) in entries]
    counts: Counter[str] = Counter()
    if replaced:
        _cut(data_dir, replaced, entries)
        _save_manifest(data_dir, manifest)
    for file, source in pending:
        file_counts, written = _convert(file, source, data_dir)
        entries[str(file)] = {"version": versions[file], "counts": file_counts, "written": written}
        _save_manifest(data_dir, manifest)
        counts.update(file_counts)
    return SyncReport([str(file) for file, _ in pending], replaced, len(files) - len(pending), dict(counts))


def pending_vendor_files(sources: Sequence[VendorInput], data_dir: Path) -> dict[str, dict]:
    """The files a sync would convert (new or changed), each with its version; reads no content."""
    data_dir = Path(data_dir)
    entries = _load_manifest(data_dir)["files"]
    versions = {str(file): _version(file, source) for file, source in _planned_files(sources, data_dir)}
    return {file: version for file, version in versions.items() if entries.get(file, {}).get("version") != version}


# --- what to convert ----------------------------------------------------------


def _planned_files(sources: Sequence[VendorInput], data_dir: Path) -> list[tuple[Path, VendorInput]]:
    """Every file of every source, resolved; refuses a bad configuration before anything is written."""
    outputs = [(data_dir / folder).resolve() for folder in OUTPUT_FOLDERS]
    claimed: dict[Path, VendorInput] = {}
    for index, source in enumerate(sources):
        where = f"vendor_sources[{index}] ({source.format} at {source.path})"
        path = Path(source.path).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"{where}: no file or folder {path}")
        files = [file.resolve() for file in input_files(path)]
        try:
            check_inputs(source.format, files, source.options)
        except (ValueError, FileNotFoundError) as error:
            raise type(error)(f"{where}: {error}") from None
        for file in files:
            if any(file.is_relative_to(output) for output in outputs):
                continue
            earlier = claimed.setdefault(file, source)
            if (earlier.format, earlier.options) != (source.format, source.options):
                raise SyncError(
                    f"{where}: {file} is also read by a vendor source in format {earlier.format!r} or other options"
                )
    return list(claimed.items())


def _version(file: Path, source: VendorInput) -> dict:
    """What a file's records depend on: its content (told by size and modification time), format and options."""
    stat = file.stat()
    options = json.dumps(source.options, sort_keys=True, default=str)
    return {
        "format": source.format,
        "options_sha256": hashlib.sha256(options.encode()).hexdigest(),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }


# --- converting one file ------------------------------------------------------


def _convert(file: Path, source: VendorInput, data_dir: Path) -> tuple[dict[str, int], list[dict]]:
    """Append one vendor file's records; return its counts and the byte ranges it appended to each file."""
    sizes_before: dict[Path, int] = {}

    def noting_targets(items: Iterable[Converted | Rejected]) -> Iterator[Converted | Rejected]:
        for item in items:
            target = QUARANTINE_FILE if isinstance(item, Rejected) else landing_path(Path(), item)
            if target not in sizes_before:  # seen before anything is written to it
                sizes_before[target] = _size(data_dir / target)
            yield item

    counts = write_landing(noting_targets(convert_file(source.format, file, source.options)), data_dir)
    written = []
    for target, start in sorted(sizes_before.items()):
        end = _size(data_dir / target)
        digest = _digest(data_dir / target, start, end)
        written.append({"path": target.as_posix(), "start": start, "end": end, "sha256": digest})
    return counts, written


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _digest(path: Path, start: int, end: int) -> str:
    with path.open("rb") as handle:
        handle.seek(start)
        return hashlib.sha256(handle.read(end - start)).hexdigest()


# --- replacing the records of changed files -------------------------------------


def _cut(data_dir: Path, replaced: list[str], entries: dict[str, dict]) -> None:
    """Remove the byte ranges `replaced` files wrote, shift the others' ranges, drop their entries."""
    ranges: dict[str, list[dict]] = {}
    for name in replaced:
        for written in entries[name]["written"]:
            ranges.setdefault(written["path"], []).append(written)
    for target, removed in ranges.items():  # check everything before changing anything
        _check_unchanged(data_dir, target, removed, replaced)
    for name in replaced:
        del entries[name]
    for target, removed in ranges.items():
        path = data_dir / target
        if not path.exists():  # deleted by hand: nothing of anyone's is left in it
            for entry in entries.values():
                entry["written"] = [w for w in entry["written"] if w["path"] != target]
            continue
        spans = sorted((w["start"], w["end"]) for w in removed)
        content = path.read_bytes()
        kept, position = bytearray(), 0
        for start, end in spans:
            kept += content[position:start]
            position = end
        kept += content[position:]
        _replace_file(path, bytes(kept))
        for entry in entries.values():
            for written in entry["written"]:
                if written["path"] == target:
                    shift = sum(end - start for start, end in spans if end <= written["start"])
                    written["start"] -= shift
                    written["end"] -= shift


def _check_unchanged(data_dir: Path, target: str, removed: list[dict], replaced: list[str]) -> None:
    path = data_dir / target
    if not path.exists():
        return
    size = path.stat().st_size
    for written in removed:
        if written["end"] > size or _digest(path, written["start"], written["end"]) != written["sha256"]:
            raise SyncError(
                f"{path} was edited where funnel wrote the records of {', '.join(replaced)} "
                f"(bytes {written['start']}-{written['end']}), which changed since: funnel cannot tell which lines "
                f"to replace. Restore {path}, or delete the landing files written from vendor sources and "
                f"{data_dir / MANIFEST} to convert every vendor file again."
            )


def _replace_file(path: Path, content: bytes) -> None:
    if not content:
        path.unlink()
        return
    temporary = path.with_name(f".{path.name}.tmp")  # a dot name: never read as a landing file
    temporary.write_bytes(content)
    os.replace(temporary, path)


# --- manifest -------------------------------------------------------------------


def _load_manifest(data_dir: Path) -> dict:
    path = data_dir / MANIFEST
    if not path.exists():
        return {"manifest_version": MANIFEST_VERSION, "files": {}}
    manifest = json.loads(path.read_text())
    if manifest.get("manifest_version") != MANIFEST_VERSION:
        raise SyncError(f"{path}: manifest version {manifest.get('manifest_version')!r}, expected {MANIFEST_VERSION}")
    return manifest


def _save_manifest(data_dir: Path, manifest: dict) -> None:
    path = data_dir / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(temporary, path)
