"""Kong Gateway HTTP Log / File Log JSON (2.x and 3.x) -> gateway_requests.

Key: Kong logs no API key, only who authenticated. The credential the
key-auth plugin matched (`authenticated_entity.id`) identifies the key itself,
so it is the key id; without it, the consumer (`consumer.id`) is. `key_map`
translates a credential id, consumer id or consumer username into your key id
when your key table uses other ids. A 3.x request that no auth plugin matched
has neither and is rejected: it has no key to attribute.

Request id: `request.id` (3.5+), else the `x-kong-request-id` response header,
else the correlation-id plugin's request header (`request_id_header`), else a
content hash of the log entry (stable, so a re-read file deduplicates).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from funnel_assets.lib.adapters.base import (
    Adapter,
    Converted,
    RecordError,
    Rejected,
    content_id,
    header,
    integer,
    iso,
    number,
    path_only,
    require,
    run,
    text,
    to_utc,
)
from funnel_assets.lib.adapters.readers import read_json

DEFAULT_REQUEST_ID_HEADER = "kong-request-id"


def convert(path: Path, options: dict) -> Iterator[Converted | Rejected]:
    key_map = options.get("key_map") or {}
    request_id_header = options.get("request_id_header", DEFAULT_REQUEST_ID_HEADER)
    return run(path, read_json(path), lambda entry: [("gateway_requests", _request(entry, key_map, request_id_header))])


def _request(entry: dict, key_map: dict, request_id_header: str) -> dict:
    request = require(entry, "request")
    response = require(entry, "response")
    return {
        "request_id": _request_id(entry, request_id_header),
        "timestamp": iso(to_utc(require(entry, "started_at"), "started_at")),
        "key_id": _key_id(entry, key_map),
        "method": require(request, "method", "request.method"),
        "path": path_only(require(request, "uri", "request.uri")),
        "status": integer(require(response, "status", "response.status"), "response.status"),
        "user_agent": header(request.get("headers"), "user-agent"),
        "latency_ms": number((entry.get("latencies") or {}).get("request"), "latencies.request"),
    }


def _request_id(entry: dict, request_id_header: str) -> str:
    request, response = entry["request"], entry["response"]
    found = (
        request.get("id")
        or header(response.get("headers"), "x-kong-request-id")
        or header(request.get("headers"), request_id_header)
    )
    return text(found, "request.id") or content_id("kong", entry)


def _key_id(entry: dict, key_map: dict) -> str:
    credential = (entry.get("authenticated_entity") or {}).get("id")
    consumer: dict[str, Any] = entry.get("consumer") or {}
    for candidate in (credential, consumer.get("id"), consumer.get("username")):
        if candidate is not None and candidate in key_map:
            return key_map[candidate]
    key = credential or consumer.get("id")
    if not key:
        raise RecordError(
            "consumer",
            "no consumer or authenticated_entity: no authentication plugin matched the request, so it has no key_id",
        )
    return key


ADAPTER = Adapter(
    name="kong",
    sources=("gateway_requests",),
    convert=convert,
    options=("key_map", "request_id_header"),
    description="Kong HTTP Log / File Log plugin JSON (2.x, 3.x)",
)
