"""NGINX / Apache access logs (combined format or your own) -> gateway_requests.

The combined format has no header fields, so the key has to be put in the
log. Options, first match wins:
- `key_variable`: a variable of `log_format` holding the key id
  (e.g. `remote_user` when clients send the key id as the basic-auth user);
- `key_header`: the request header carrying the key id; read from
  `$http_<header>` when `log_format` has it, else from the first field after
  the format (add ` "$http_x_api_key_id"` to the end of your log_format);
- `key_query_param`: a query parameter of the request line;
- none of these: the first field after the format is the key id.
`key_map` translates the value found into your key id (use it when the value
is not the key's public id). The query string never reaches `path`.

Request id: `$request_id` (NGINX) / `%{UNIQUE_ID}e` (Apache) or
`$http_x_request_id` when logged; otherwise a hash of the line plus its
occurrence number in the file, so identical lines stay distinct requests and
a re-read file gets the same ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

from funnel_assets.lib.adapters.base import (
    Adapter,
    Converted,
    Item,
    RecordError,
    Rejected,
    content_id,
    integer,
    iso,
    number,
    path_only,
    query_param,
    require,
    run,
    to_utc,
)
from funnel_assets.lib.adapters.logformat import LogFormat
from funnel_assets.lib.adapters.readers import read_lines

Parsed = tuple[dict[str, str | None], list[str | None], str]
KeyLocator = Callable[[dict[str, str | None], list[str | None]], str | None]


def convert(path: Path, options: dict) -> Iterator[Converted | Rejected]:
    log_format = LogFormat.compile(options.get("log_format", "combined"))
    locate_key = _key_locator(log_format, options)
    key_map = options.get("key_map") or {}

    def to_landing(parsed: Parsed) -> list[tuple[str, dict]]:
        variables, trailing, fallback_id = parsed
        key = locate_key(variables, trailing)
        if not key:
            raise RecordError("key_id", "no API key in the line (see the key_* options of the combined_log format)")
        return [("gateway_requests", _request(variables, key_map.get(key, key), fallback_id))]

    return run(path, _items(path, log_format), to_landing)


def _items(path: Path, log_format: LogFormat) -> Iterator[Item]:
    repeats = _RepeatCounter()
    for line_number, line in read_lines(path):
        parsed = log_format.parse(line)
        if parsed is None:
            yield Item(line_number, line, error="line does not match the log format")
            continue
        yield Item(line_number, line, (*parsed, content_id("log", f"{line}\n#{repeats.count(line)}")))


class _RepeatCounter:
    """How many times a line has been seen in the file, so identical lines get distinct ids.

    Logs are not in time order (a line is written when its request ends), so
    repeats can be far apart; memory stays bounded by forgetting the lines
    first seen longest ago once `limit` distinct lines are remembered."""

    def __init__(self, limit: int = 500_000):
        self.limit = limit
        self.seen: dict[bytes, int] = {}

    def count(self, line: str) -> int:
        key = hashlib.blake2b(line.encode(), digest_size=12).digest()
        occurrence = self.seen[key] = self.seen.get(key, 0) + 1
        if len(self.seen) > self.limit:
            for oldest in list(islice(self.seen, self.limit // 2)):
                del self.seen[oldest]
        return occurrence


def _key_locator(log_format: LogFormat, options: dict) -> KeyLocator:
    """How to find the key in a parsed line, decided once from the options."""
    variables = set(log_format.variables)
    if options.get("key_variable"):
        name = options["key_variable"]
        if name not in variables:
            raise ValueError(f"key_variable {name!r} is not a variable of the log format")
        return lambda values, trailing: values.get(name)
    if options.get("key_header"):
        name = "http_" + options["key_header"].lower().replace("-", "_")
        # a stock format has no room for the header: it is then the field appended after the format
        return (lambda values, trailing: values.get(name)) if name in variables else _first_trailing
    if options.get("key_query_param"):
        param = options["key_query_param"]
        return lambda values, trailing: values.get("arg_" + param) or query_param(_target(values) or "", param)
    return _first_trailing


def _first_trailing(values: dict[str, str | None], trailing: list[str | None]) -> str | None:
    return trailing[0] if trailing else None


def _target(values: dict[str, str | None]) -> str | None:
    """The request target (path and query) from `$request` or `$request_uri`."""
    request = values.get("request")
    if request:
        parts = request.split(" ")
        return parts[1] if len(parts) >= 2 else None
    return values.get("request_uri") or values.get("uri")


def _request(values: dict[str, str | None], key_id: str, fallback_id: str) -> dict:
    method, target = _method_and_target(values)
    return {
        "request_id": values.get("request_id") or values.get("http_x_request_id") or fallback_id,
        "timestamp": iso(to_utc(_time(values), "time_local")),
        "key_id": key_id,
        "method": method,
        "path": path_only(target),
        "status": integer(require(values, "status"), "status"),
        "user_agent": values.get("http_user_agent"),
        "latency_ms": _latency_ms(values),
    }


def _method_and_target(values: dict[str, str | None]) -> tuple[str, str]:
    if values.get("request_method"):
        target = values.get("request_uri") or values.get("uri")
        if not target:
            raise RecordError("request_uri", "the log format has $request_method but no $request_uri or $uri")
        return values["request_method"], target
    parts = require(values, "request").split(" ")
    if len(parts) < 2 or not parts[0].isalpha():
        raise RecordError("request", f"request line {values['request']!r} is not METHOD TARGET PROTOCOL")
    return parts[0], parts[1]


def _time(values: dict[str, str | None]) -> str:
    for name in ("time_iso8601", "time_local", "msec"):
        if values.get(name):
            return values[name]
    raise RecordError("time_local", "the log format has no time ($time_local, $time_iso8601 or $msec)")


def _latency_ms(values: dict[str, str | None]) -> float | int | None:
    if values.get("request_time_us"):
        return number(values["request_time_us"], "request_time_us") / 1000
    seconds = number(values.get("request_time"), "request_time")
    return None if seconds is None else round(seconds * 1000, 3)


ADAPTER = Adapter(
    name="combined_log",
    sources=("gateway_requests",),
    convert=convert,
    options=("log_format", "key_header", "key_query_param", "key_variable", "key_map"),
    description="NGINX / Apache access logs (combined or a configured log_format)",
)
