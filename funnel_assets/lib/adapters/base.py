"""What every source adapter shares: the result types, the per-record driver
that turns vendor records into landing records or rejections, and the small
value helpers (timestamps, ids, paths) the vendor mappings are built from.

An adapter never raises in the middle of a file: every vendor record either
becomes one or more contract-valid landing records (`Converted`) or one
`Rejected` naming the file, line, field and reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from funnel_assets.lib.contracts import load_contract

# Campaign name used when an e-mail provider's event names no campaign at all
# (transactional mail, audience-level unsubscribes): the contract requires one.
NO_CAMPAIGN = "(none)"

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@dataclass(frozen=True)
class Converted:
    """A landing format v1 record of `source` (contract fields, plus a few named extras)."""

    source: str
    record: dict


@dataclass(frozen=True)
class Rejected:
    """A vendor record that could not be converted, kept for the quarantine."""

    file: str
    line: int
    field: str | None
    reason: str
    raw: str


@dataclass(frozen=True)
class Adapter:
    """One vendor format: its name, the landing sources it feeds, the options it reads."""

    name: str
    sources: tuple[str, ...]
    convert: Callable[[Path, dict], Iterator[Converted | Rejected]]
    options: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Item:
    """One vendor record as read from a file: parsed `value`, or `error` when unreadable."""

    line: int
    raw: str
    value: Any = None
    error: str | None = None


class RecordError(ValueError):
    """Raised by a vendor mapping: the record cannot become a landing record."""

    def __init__(self, field: str | None, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


# A mapping returns (landing source, record) pairs for one vendor record.
ToLanding = Callable[[Any], Iterable[tuple[str, dict]]]


def run(path: Path, items: Iterable[Item], to_landing: ToLanding) -> Iterator[Converted | Rejected]:
    """Drive one file: map every item, check every output against its contract."""
    file = str(path)
    for item in items:
        if item.error is not None:
            yield Rejected(file, item.line, None, item.error, item.raw)
            continue
        try:
            outputs = [(source, compact(record)) for source, record in to_landing(item.value)]
        except RecordError as error:
            yield Rejected(file, item.line, error.field, error.reason, item.raw)
            continue
        except Exception as error:  # noqa: BLE001 - a record of an unforeseen shape is quarantined, the file goes on
            yield Rejected(file, item.line, None, f"unexpected record shape ({type(error).__name__}: {error})", item.raw)
            continue
        if not outputs:
            yield Rejected(file, item.line, None, "the record produced no landing record", item.raw)
        for source, record in outputs:
            problem = contract_problem(source, record)
            if problem:
                yield Rejected(file, item.line, problem[0], problem[1], item.raw)
            else:
                yield Converted(source, record)


def in_update_order(items: list[Item], update_time: Callable[[Any], Any]) -> list[Item]:
    """Full-state records moved among their own places into the order of their update time (stable).

    Items whose `update_time` is None keep their place. A vendor that sends the
    whole entity on every change (webhooks, incremental exports) may deliver
    the updates out of order; converted in update order, the latest lands last,
    which is the landing order the raw layer falls back on for versions."""
    places = [i for i, item in enumerate(items) if update_time(item.value) is not None]
    ordered = sorted((items[i] for i in places), key=lambda item: update_time(item.value))
    reordered = list(items)
    for place, item in zip(places, ordered):
        reordered[place] = item
    return reordered


def compact(record: dict) -> dict:
    """Drop absent optional values so a landing line only carries what is known."""
    return {key: value for key, value in record.items() if value is not None}


def contract_problem(source: str, record: dict) -> tuple[str, str] | None:
    """The first (field, reason) by which `record` breaks the source's contract, or None."""
    for spec in load_contract(source).fields:
        value = record.get(spec.name)
        if value is None or value == "":
            if spec.required:
                return spec.name, f"required field {spec.name} is missing"
            continue
        if not _has_type(value, spec.type):
            return spec.name, f"{spec.name} should be {spec.type}, got {type(value).__name__} {value!r}"
        if spec.allowed and value not in spec.allowed:
            return spec.name, f"{spec.name} {value!r} is not one of {list(spec.allowed)}"
    return None


def _has_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "timestamp":
        try:
            return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
        except ValueError:
            return False
    return False


# --- values -----------------------------------------------------------------


def require(obj: Mapping, key: str, field: str | None = None) -> Any:
    """`obj[key]`, or a RecordError naming the vendor field when absent or empty."""
    value = obj.get(key) if isinstance(obj, Mapping) else None
    if value is None or value == "":
        raise RecordError(field or key, f"{field or key} is missing")
    return value


def lookup(obj: Any, dotted: str) -> Any:
    """`a.b.c` from nested dicts, also accepting a flat key spelled `a.b.c` (CSV headers)."""
    if isinstance(obj, Mapping) and dotted in obj:
        return obj[dotted]
    current = obj
    for part in dotted.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def first_present(obj: Any, paths: Iterable[str]) -> Any:
    """The first non-empty value among dotted `paths`."""
    for dotted in paths:
        value = lookup(obj, dotted)
        if value not in (None, "", [], {}):
            return value
    return None


def text(value: Any, field: str) -> str | None:
    """An id-like value as a string (vendors send numeric ids as numbers)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError(field, f"{field} should be a string, got {type(value).__name__} {value!r}")
    return str(value)


def integer(value: Any, field: str) -> int:
    """An integer that vendors may send as a string ("200")."""
    if isinstance(value, bool):
        raise RecordError(field, f"{field} should be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise RecordError(field, f"{field} should be an integer, got {type(value).__name__} {value!r}")


def number(value: Any, field: str) -> float | int | None:
    """An optional number that vendors may send as a string ("171")."""
    if value is None or value in ("", "-"):
        return None
    if isinstance(value, bool):
        raise RecordError(field, f"{field} should be a number, got {value!r}")
    if isinstance(value, int | float):
        return value
    try:
        parsed = float(value)
    except (TypeError, ValueError):
        raise RecordError(field, f"{field} should be a number, got {type(value).__name__} {value!r}") from None
    return int(parsed) if parsed.is_integer() else parsed


def boolean(value: Any) -> bool | None:
    """A flag that CSV exports spell "true"/"false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def json_object(value: Any, field: str) -> dict:
    """An object that exports may carry as a JSON-encoded string (CSV, Parquet)."""
    if value in (None, ""):
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            raise RecordError(field, f"{field} is not valid JSON") from None
        if isinstance(parsed, dict):
            return parsed
    raise RecordError(field, f"{field} should be an object, got {type(value).__name__}")


def content_id(prefix: str, value: Any) -> str:
    """A stable id for a vendor record that has none: the same record always gets the same id,
    so a re-converted file deduplicates downstream instead of doubling."""
    canonical = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return f"{prefix}-sha1-{hashlib.sha1(canonical.encode()).hexdigest()[:32]}"


def path_only(target: str) -> str:
    """The path of a request target or URL, without query string or fragment.

    The query is dropped on purpose: it can carry secrets (`?api_key=`) and the
    route template downstream only needs the path."""
    if "://" in target:
        return urlsplit(target).path or "/"
    return target.split("?", 1)[0].split("#", 1)[0] or "/"


def query_param(target: str, name: str) -> str | None:
    values = parse_qs(urlsplit(target).query).get(name)
    return values[0] if values else None


def page_properties(props: dict) -> dict:
    """Fill `path` and the utm_* keys from `url` when a vendor only sent the URL."""
    url = props.get("url")
    if not isinstance(url, str) or not url:
        return props
    filled = dict(props)
    filled.setdefault("path", urlsplit(url).path or "/")
    query = parse_qs(urlsplit(url).query)
    for key in UTM_KEYS:
        if key not in filled and query.get(key):
            filled[key] = query[key][0]
    return filled


def header(headers: Any, name: str) -> str | None:
    """A header value from a case-insensitive header map (repeated headers come as lists)."""
    if not isinstance(headers, Mapping):
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() != wanted:
            continue
        if isinstance(value, list):
            value = value[0] if value else None
        return value if isinstance(value, str) else None
    return None


# --- time -------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def to_utc(value: Any, field: str, naive_tz: tzinfo = UTC) -> datetime:
    """A vendor timestamp as an aware UTC datetime.

    Accepts ISO-8601 (with or without offset; a naive one is read in `naive_tz`),
    the CLF form `10/Oct/2000:13:55:36 -0700`, and epoch numbers whose unit is
    told by magnitude (seconds, milliseconds, microseconds or nanoseconds: any
    date between 1973 and 5138 is unambiguous)."""
    if value is None or value == "":
        raise RecordError(field, f"{field} is missing")
    if isinstance(value, bool):
        raise RecordError(field, f"{field} should be a timestamp, got {value!r}")
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=naive_tz)).astimezone(UTC)
    if isinstance(value, int | float):
        return from_epoch(value, field)
    if not isinstance(value, str):
        raise RecordError(field, f"{field} should be a timestamp, got {type(value).__name__}")
    stripped = value.strip()
    try:
        return from_epoch(float(stripped), field)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(stripped)
    except ValueError:
        parsed = _clf_time(stripped)
    if parsed is None:
        raise RecordError(field, f"{field} {value!r} is not a timestamp")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_tz)
    return parsed.astimezone(UTC)


def from_epoch(value: float, field: str) -> datetime:
    magnitude = abs(value)
    scale = 1e9 if magnitude > 1e17 else 1e6 if magnitude > 1e14 else 1e3 if magnitude > 1e11 else 1
    try:
        return datetime.fromtimestamp(value / scale, UTC)
    except (OverflowError, OSError, ValueError):
        raise RecordError(field, f"{field} {value!r} is out of range") from None


def _clf_time(value: str) -> datetime | None:
    """`13/Feb/2021:07:54:52 +0000`, month names read independently of the locale."""
    try:
        day, month, rest = value.split("/", 2)
        year, clock = rest.split(":", 1)
        clock, offset = clock.split(" ")
        hour, minute, second = (int(part) for part in clock.split(":"))
        sign = -1 if offset[0] == "-" else 1
        hours, minutes = int(offset[1:3]), int(offset[3:5])
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
        return datetime(int(year), _MONTHS[month], int(day), hour, minute, second, tzinfo=zone)
    except (ValueError, KeyError, IndexError):
        return None


def iso(moment: datetime) -> str:
    """Landing timestamps: ISO-8601 in UTC with an explicit offset."""
    return moment.astimezone(UTC).isoformat()


def iso_or_none(value: Any, field: str, naive_tz: tzinfo = UTC) -> str | None:
    if value in (None, "", "-"):
        return None
    return iso(to_utc(value, field, naive_tz))
