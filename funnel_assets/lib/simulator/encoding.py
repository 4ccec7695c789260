"""Column-at-a-time JSON text: ids, ISO timestamps and JSON objects built with Arrow.

Writing 10 M gateway lines with json.dumps costs minutes; joining Arrow
string columns costs seconds. Each field is a `JsonValues` column (nullable
Arrow strings plus whether to quote them); a line is one element-wise join
of all fields, so no per-field copies are made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DAY_MS = 86_400_000
BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'


def _ascii_rows(chars: np.ndarray) -> pa.Array:
    """Rows of an (n, width) uint8 array as strings."""
    width = chars.shape[1]
    return pa.array(np.ascontiguousarray(chars).view(f"S{width}").ravel(), type=pa.binary()).cast(pa.string())


def concat(*parts) -> pa.Array:
    """Element-wise concatenation of string arrays and scalars; null if any part is null."""
    return pc.binary_join_element_wise(*parts, "")


def base62_ids(rng: np.random.Generator, n: int, length: int, prefix: str = "", with_digit: bool = False) -> pa.Array:
    """Random ids like `usr_9fK2mQ81xLp0aZ7b`; `with_digit` guarantees a digit (so path segments read as ids)."""
    codes = rng.integers(0, 62, size=(n, length), dtype=np.uint8)
    if with_digit and n:
        codes[np.arange(n), rng.integers(0, length, n)] = rng.integers(0, 10, n, dtype=np.uint8)
    return concat(prefix, _ascii_rows(BASE62[codes]))


def uuids(rng: np.random.Generator, n: int) -> pa.Array:
    """Random version-4 UUID strings."""
    nibbles = rng.integers(0, 16, size=(n, 32), dtype=np.uint8)
    nibbles[:, 12] = 4
    nibbles[:, 16] = 8 + (nibbles[:, 16] & 3)
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    for source, target in ((slice(0, 8), slice(0, 8)), (slice(8, 12), slice(9, 13)), (slice(12, 16), slice(14, 18)),
                           (slice(16, 20), slice(19, 23)), (slice(20, 32), slice(24, 36))):
        chars[:, target] = HEX[nibbles[:, source]]
    return _ascii_rows(chars)


def integers_text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


@lru_cache(maxsize=1)
def _time_of_day_tables() -> tuple[pa.Array, pa.Array]:
    seconds = pa.array([f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}." for s in range(86_400)])
    millis = pa.array([f"{ms:03d}000+00:00" for ms in range(1000)])
    return seconds, millis


def iso_timestamps(ms: np.ndarray) -> pa.Array:
    """Epoch milliseconds (NaN = null) as `2025-01-06T09:15:02.123000+00:00`."""
    ms = np.asarray(ms, dtype=float)
    missing = np.isnan(ms)
    whole = np.where(missing, 0, ms).astype(np.int64)
    if missing.all():
        return pa.nulls(len(ms), pa.string())
    day = whole // DAY_MS
    first_day = int(day[~missing].min())
    days = pa.array([str(np.datetime64(d, "D")) for d in range(first_day, int(day[~missing].max()) + 1)])
    seconds, millis = _time_of_day_tables()
    return concat(
        days.take(pa.array(day - first_day, mask=missing)),
        seconds.take(pa.array((whole % DAY_MS) // 1000)),
        millis.take(pa.array(whole % 1000)),
    )


@dataclass(frozen=True)
class JsonValues:
    """A column of JSON values: `text`, to be written in double quotes when `quoted`; null = field left out."""

    text: pa.Array
    quoted: bool


def json_text(values: pa.Array) -> JsonValues:
    """String values; quoting happens when the object is joined, escaping only when a value needs it."""
    if pc.any(pc.match_substring_regex(values, _NEEDS_ESCAPE)).as_py():
        return JsonValues(pa.array([None if v is None else json.dumps(v) for v in values.to_pylist()], pa.string()), False)
    return JsonValues(values, True)


def json_timestamps(ms: np.ndarray) -> JsonValues:
    return JsonValues(iso_timestamps(ms), True)


def json_raw(text: pa.Array) -> JsonValues:
    """Values already in JSON (numbers, objects, arrays)."""
    return JsonValues(text, False)


def json_objects(fields: dict[str, JsonValues], end: str = "}") -> pa.Array:
    """One JSON object per row, in one join: `{"a":"x","b":1` + end; a null value leaves its field out.

    The first field must be present in every row (it carries no leading comma)."""
    pieces: list = []
    for i, (name, values) in enumerate(fields.items()):
        if i == 0 and values.text.null_count:
            raise ValueError(f"the first field ({name}) must be present in every row")
        quote = '"' if values.quoted else ""
        before, after = f'{"{" if i == 0 else ","}"{name}":{quote}', quote
        if values.text.null_count:  # leave out the name and quotes too
            present = pc.is_valid(values.text)
            before = pc.if_else(present, before, pa.scalar(None, pa.string()))
            after = pc.if_else(present, after, pa.scalar(None, pa.string())) if after else after
        pieces += [before, values.text] + ([after] if after else [])
    return pc.binary_join_element_wise(*pieces, end, "", null_handling="replace", null_replacement="")


def lookup(table: list[str | None] | tuple, index: np.ndarray) -> pa.Array:
    """table[index] as a string column; a None entry, or a negative index, gives null."""
    index = np.asarray(index)
    return pa.array(list(table), type=pa.string()).take(pa.array(index, mask=index < 0))
