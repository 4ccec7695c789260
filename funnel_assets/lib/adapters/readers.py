"""Readers that turn a vendor file into `Item`s with the line each record starts on.

All of them read gzip transparently, drop a UTF-8 byte order mark (Supabase's
CSV export starts with one) and never raise on bad content: an unreadable
record becomes an `Item` with an `error`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from funnel_assets.lib.adapters.base import Item

_DECODER = json.JSONDecoder()
JSON_START = ("{", "[")  # first characters of a JSON file, as opposed to CSV or log lines


def open_text(path: Path) -> IO[str]:
    raw = path.open("rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8-sig", errors="replace", newline="")
    raw.seek(0)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


def first_char(path: Path) -> str:
    """The first non-blank character of a file ('' when empty): tells JSON from text formats."""
    with open_text(path) as handle:
        for line in handle:
            if line.strip():
                return line.strip()[0]
    return ""


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based line numbers, line endings removed."""
    with open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            stripped = line.rstrip("\r\n")
            if stripped.strip():
                yield number, stripped


def read_json(path: Path, scrub: Callable[[Any], Any] | None = None) -> Iterator[Item]:
    """Every JSON value in a file: NDJSON, values concatenated with no newline
    (Firehose), pretty-printed values over many lines, and top-level arrays
    (one item per element, with the element's own line).

    A file whose first value fits on one line is read line by line, so one
    truncated line costs one record, not the rest of the file.

    `scrub` removes secrets from each value before anything else sees it; the
    item's raw text is then the scrubbed value, never the original text."""
    buffer, start, pending = "", 0, []
    line_mode: bool | None = True if _suffix(path) in (".jsonl", ".ndjson") else None
    with open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            if not buffer and not pending:
                if not line.strip():
                    continue
                start = number
            began = start
            pending.append(line)
            # a pretty-printed value can only end on a line opening with its closing bracket:
            # decoding at every line of a long value would take quadratic time
            if not (line_mode or began == number or line.startswith(("}", "]"))):
                continue
            buffer, pending = buffer + "".join(pending), []
            buffer, start, items = _drain(buffer, start)
            if line_mode is None and items:
                line_mode = began == number
            if line_mode and buffer:
                items.append(Item(start, buffer.strip(), error="invalid JSON: the line ends inside a value"))
                buffer = ""
            yield from (_scrubbed(item, scrub) for item in items)
    buffer += "".join(pending)
    if buffer.strip():
        buffer, start, items = _drain(buffer, start)
        yield from (_scrubbed(item, scrub) for item in items)
    if buffer.strip():
        yield _scrubbed(Item(start, buffer.strip(), error="truncated JSON at end of file"), scrub)


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    return suffixes[-1] if suffixes else ""


def _drain(buffer: str, start: int) -> tuple[str, int, list[Item]]:
    """Decode the complete values at the head of `buffer`; keep an incomplete tail for the next line."""
    items: list[Item] = []
    position, line, counted = 0, start, 0
    while True:
        position = _skip_blank(buffer, position)
        if position == len(buffer):
            return "", start, items
        line += buffer.count("\n", counted, position)
        counted = position
        try:
            value, end = _DECODER.raw_decode(buffer, position)
        except json.JSONDecodeError as error:
            if error.pos >= len(buffer.rstrip()):
                return buffer[position:], line, items  # the value goes on over the next line
            position = _skip_broken(buffer, position, error, line, items)
            continue
        if isinstance(value, list):
            items.extend(_elements(buffer, position, line))
        else:
            items.append(Item(line, buffer[position:end], value))
        position = end


def _skip_broken(buffer: str, position: int, error: json.JSONDecodeError, line: int, items: list[Item]) -> int:
    """Reject a broken value and return where reading resumes.

    A value that broke on a later line than it started loses only its first
    line: in NDJSON that line was a truncated record and the next lines are
    good records that were read as its continuation."""
    first_line_end = buffer.find("\n", position)
    if 0 <= first_line_end < error.pos:
        broken = buffer[position:first_line_end].strip()
        items.append(Item(line, broken, error="invalid JSON: the value starting on this line does not close"))
        return first_line_end
    error_line_end = buffer.find("\n", error.pos)
    end = len(buffer) if error_line_end < 0 else error_line_end
    items.append(Item(line, buffer[position:end].strip(), error=f"invalid JSON: {error.msg}"))
    return end


def _elements(buffer: str, opening: int, line: int) -> Iterator[Item]:
    """The elements of an already validated array opening at `opening` (on `line`), each with its own line."""
    position, counted = _skip_blank(buffer, opening + 1), opening
    while buffer[position] != "]":
        value, end = _DECODER.raw_decode(buffer, position)
        line += buffer.count("\n", counted, position)
        counted = position
        yield Item(line, buffer[position:end], value)
        position = _skip_blank(buffer, end)
        if buffer[position] == ",":
            position = _skip_blank(buffer, position + 1)


def _skip_blank(buffer: str, position: int) -> int:
    while position < len(buffer) and buffer[position] in " \t\r\n":
        position += 1
    return position


def _scrubbed(item: Item, scrub: Callable[[Any], Any] | None) -> Item:
    if scrub is None:
        return item
    if item.error is not None:
        return Item(item.line, redact_text(item.raw), error=item.error)
    value = scrub(item.value)
    return Item(item.line, json.dumps(value, ensure_ascii=False), value)


def read_csv(path: Path, scrub: Callable[[Any], Any] | None = None) -> Iterator[Item]:
    """CSV rows as dicts keyed by the header, with the line each row starts on.

    With `scrub`, the secret columns are removed from the row before anything
    else sees it and the raw text is the scrubbed row as JSON."""
    with open_text(path) as handle:
        consumed: list[str] = []

        def remembered(lines: Iterable[str]) -> Iterator[str]:
            for line in lines:
                consumed.append(line)
                yield line

        reader = csv.reader(remembered(handle))
        try:
            header = next(reader)
        except (StopIteration, csv.Error):
            return
        consumed.clear()
        line = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield Item(line, redact_text("".join(consumed)), error=f"invalid CSV: {error}")
                consumed.clear()
                line = reader.line_num + 1
                continue
            raw = "".join(consumed).rstrip("\r\n")
            consumed.clear()
            if any(cell.strip() for cell in row):
                yield _csv_item(line, header, row, raw, scrub)
            line = reader.line_num + 1


def _csv_item(line: int, header: list[str], row: list[str], raw: str, scrub: Callable[[Any], Any] | None) -> Item:
    if len(row) != len(header):
        shown = redact_text(raw) if scrub else raw
        return Item(line, shown, error=f"row has {len(row)} fields, the header has {len(header)}")
    value: dict[str, Any] = dict(zip(header, row, strict=True))
    if scrub is None:
        return Item(line, raw, value)
    value = scrub(value)
    return Item(line, json.dumps(value, ensure_ascii=False), value)


def flatten(items: Iterable[Item], expand: Callable[[Any], list[Any] | None]) -> Iterator[Item]:
    """Replace an item that wraps several records (a batch, a page of results) by one item per record."""
    for item in items:
        try:
            inner = expand(item.value) if item.error is None else None
        except (ValueError, TypeError) as error:
            yield Item(item.line, item.raw, error=f"cannot read the records it wraps: {error}")
            continue
        if inner is None:
            yield item
            continue
        for value in inner:
            yield Item(item.line, json.dumps(value, ensure_ascii=False), value)


# --- secrets ----------------------------------------------------------------

_SECRET_WORDS = ("password", "token", "secret", "backup_code", "salt")
_SECRET_PATTERNS = (
    # a JSON member whose name says it is a secret: keep the name, drop the value
    re.compile(r'("[^"]*(?:password|token|secret|backup_code|salt)[^"]*"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE),
    # password hashes wherever they appear (bcrypt, argon2, scrypt, pbkdf2, sha crypt)
    re.compile(r"\$(?:2[abxy]?|argon2i?d?|scrypt|pbkdf2[-_a-z0-9]*|[56])\$[^\s\",]+"),
)


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def drop_secrets(value: Any) -> Any:
    """The value without any member whose name marks a secret (password hashes, tokens, TOTP secrets)."""
    if isinstance(value, dict):
        return {key: drop_secrets(inner) for key, inner in value.items() if not is_secret_key(str(key))}
    if isinstance(value, list):
        return [drop_secrets(inner) for inner in value]
    return value


def redact_text(raw: str) -> str:
    """Unparseable text from an auth export, with anything secret-looking blanked."""
    redacted = _SECRET_PATTERNS[0].sub(r'\1"[dropped]"', raw)
    return _SECRET_PATTERNS[1].sub("[dropped]", redacted)
