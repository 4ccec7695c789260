"""AWS API Gateway access logs -> gateway_requests.

Two shapes, told apart by the file's first character:
- JSON (the console's JSON preset plus your own keys), one object per line as
  CloudWatch writes it or objects concatenated with no newline as Firehose
  writes them to S3;
- text lines (the CLF or CSV preset, or any `$context` format).

Values are read by `$context` variable, not by JSON key: pass the access log
format you configured as `log_format` and any key names work; without it the
console preset's keys and the common additions (`apiKeyId`, `apiKey`,
`userAgent`, `path`, `requestTimeEpoch`, `responseLatency`) are recognised,
and for text lines the CLF preset is assumed with the key id as an extra
field after `$context.requestId`.

Key: `$context.identity.apiKeyId`; else `$context.identity.apiKey` exactly as
API Gateway logs it (masked to its last characters); either through `key_map`
when given. Path: `$context.path` (raw, ids included) when logged, else
`$context.resourcePath` (the route template, already free of ids).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from funnel_assets.lib.adapters.base import (
    Adapter,
    Converted,
    Item,
    RecordError,
    Rejected,
    integer,
    iso,
    number,
    path_only,
    require,
    run,
    to_utc,
)
from funnel_assets.lib.adapters.logformat import LogFormat
from funnel_assets.lib.adapters.readers import JSON_START, first_char, read_json, read_lines

CLF_PRESET = (
    "$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] "
    '"$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength $context.requestId'
)

# JSON keys of the console preset and of the usual additions -> `$context` variable.
DEFAULT_JSON_KEYS = {
    "requestId": "requestId",
    "extendedRequestId": "extendedRequestId",
    "ip": "identity.sourceIp",
    "caller": "identity.caller",
    "user": "identity.user",
    "requestTime": "requestTime",
    "requestTimeEpoch": "requestTimeEpoch",
    "httpMethod": "httpMethod",
    "resourcePath": "resourcePath",
    "path": "path",
    "status": "status",
    "protocol": "protocol",
    "responseLength": "responseLength",
    "apiKeyId": "identity.apiKeyId",
    "apiKey": "identity.apiKey",
    "userAgent": "identity.userAgent",
    "responseLatency": "responseLatency",
}

Context = dict[str, str | None]


def convert(path: Path, options: dict) -> Iterator[Converted | Rejected]:
    key_map = options.get("key_map") or {}
    log_format = options.get("log_format")
    if first_char(path) in JSON_START:
        keys = _json_keys(log_format) if log_format else DEFAULT_JSON_KEYS
        return run(path, read_json(path), lambda obj: [("gateway_requests", _request(_from_json(obj, keys), key_map))])
    parse = _text_parser(LogFormat.compile(log_format or CLF_PRESET))
    return run(path, _text_items(path, parse), lambda context: [("gateway_requests", _request(context, key_map))])


def _json_keys(log_format: str) -> dict[str, str]:
    """JSON key -> `$context` variable, read from the JSON access log format itself."""
    try:
        template = json.loads(log_format)
    except json.JSONDecodeError:
        template = None
    if not isinstance(template, dict):
        raise ValueError("the file holds JSON entries, so log_format should be the JSON access log format "
                         "(an object of keys to $context variables)")
    return {key: value.strip().removeprefix("$context.") for key, value in template.items() if isinstance(value, str)}


def _from_json(obj: dict, keys: dict[str, str]) -> Context:
    if not isinstance(obj, dict):
        raise RecordError(None, "an access log entry should be a JSON object")
    return {variable: _absent_as_none(obj.get(key)) for key, variable in keys.items() if key in obj}


def _absent_as_none(value: Any) -> Any:
    # API Gateway writes "-" for a variable without a value
    return None if value in ("-", "") else value


def _text_parser(log_format: LogFormat) -> Callable[[str], Context | None]:
    names_key = {"identity.apiKeyId", "identity.apiKey"} & set(log_format.variables)

    def parse(line: str) -> Context | None:
        parsed = log_format.parse(line)
        if parsed is None:
            return None
        context, trailing = parsed
        if not names_key and trailing:
            context["identity.apiKeyId"] = trailing[0]
        return context

    return parse


def _text_items(path: Path, parse: Callable[[str], Context | None]) -> Iterator[Item]:
    for line_number, line in read_lines(path):
        context = parse(line)
        if context is None:
            yield Item(line_number, line, error="line does not match the access log format")
        else:
            yield Item(line_number, line, context)


def _request(context: Context, key_map: dict) -> dict:
    when = context.get("requestTimeEpoch") or require(context, "requestTime", "$context.requestTime")
    return {
        "request_id": context.get("requestId") or require(context, "extendedRequestId", "$context.requestId"),
        "timestamp": iso(to_utc(when, "$context.requestTime")),
        "key_id": _key_id(context, key_map),
        "method": require(context, "httpMethod", "$context.httpMethod"),
        "path": path_only(context.get("path") or require(context, "resourcePath", "$context.path")),
        "status": integer(require(context, "status", "$context.status"), "$context.status"),
        "user_agent": context.get("identity.userAgent"),
        "latency_ms": number(context.get("responseLatency"), "$context.responseLatency"),
    }


def _key_id(context: Context, key_map: dict) -> str:
    key_id, api_key = context.get("identity.apiKeyId"), context.get("identity.apiKey")
    for candidate in (key_id, api_key):
        if candidate is not None and candidate in key_map:
            return key_map[candidate]
    if key_id or api_key:
        return key_id or api_key
    raise RecordError(
        "$context.identity.apiKeyId",
        "no API key in the entry: add $context.identity.apiKeyId to the access log format",
    )


ADAPTER = Adapter(
    name="aws_apigw",
    sources=("gateway_requests",),
    convert=convert,
    options=("key_map", "log_format"),
    description="AWS API Gateway access logs (JSON incl. Firehose-concatenated, CLF/CSV/custom $context formats)",
)
