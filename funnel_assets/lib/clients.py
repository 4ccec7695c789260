"""User agent -> client class (official SDK, raw HTTP client, unknown).

Rules are ordered regular expressions from configuration; the first match
wins. A rule's name may use the match's groups (`acme-{1}`), and is
lower-cased so `PostmanRuntime` and `postmanruntime` are one client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class ClientRule:
    pattern: str
    kind: str  # sdk | raw_http
    name: str  # may reference groups: "acme-{1}"


# The sample product's SDKs, then the raw HTTP clients and tools as each builds
# its User-Agent by default ("curl/7.22.0 (i686-pc-linux-gnu) libcurl/7.22.0 ...",
# "python-requests/1.2.0 CPython/2.7.4 Linux/3.8.0", "Ruby", ...). Browsers,
# crawlers, feed readers and anything else match no rule: unknown. Your own SDKs
# go in front of these (`extra_client_patterns` in the configuration).
RAW_HTTP_CLIENTS: tuple[tuple[str, str], ...] = (
    # (pattern, client name)
    (r"^curl/", "curl"),
    (r"^Wget/", "wget"),
    (r"^HTTPie/", "httpie"),
    (r"^PostmanRuntime/", "postmanruntime"),
    (r"^insomnia/", "insomnia"),
    (r"^python-requests/", "python-requests"),
    (r"^Python-urllib/", "python-urllib"),
    (r"^python-httpx/", "python-httpx"),
    (r"^Python/[\d.]+ aiohttp/", "aiohttp"),
    (r"^axios/", "axios"),
    (r"^node-fetch(/|$)", "node-fetch"),
    (r"^undici$", "undici"),
    (r"^node$", "node"),  # Node.js's built-in fetch
    (r"^got \(", "got"),
    (r"^Go-http-client/", "go-http-client"),
    (r"^okhttp/", "okhttp"),
    (r"^Apache-HttpClient/", "apache-httpclient"),
    (r"^Java-http-client/", "java-http-client"),
    (r"^Java/", "java"),  # HttpURLConnection
    (r"^Ruby$", "ruby"),  # Net::HTTP
    (r"^rest-client/", "rest-client"),
    (r"^Faraday v", "faraday"),
    (r"^GuzzleHttp/", "guzzlehttp"),
    (r"^libwww-perl/", "libwww-perl"),
    (r"^Dart/", "dart"),
    (r"^RestSharp/", "restsharp"),
    (r"\bWindowsPowerShell/|\bPowerShell/", "powershell"),  # Invoke-RestMethod, behind a Mozilla/5.0 prefix
)

DEFAULT_RULES: tuple[ClientRule, ...] = (
    ClientRule(r"^acme-([a-z0-9]+)/", "sdk", "acme-{1}"),
    *(ClientRule(pattern, "raw_http", name) for pattern, name in RAW_HTTP_CLIENTS),
)

UNKNOWN = ("unknown", "unknown")


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def classify(user_agent: str | None, rules: tuple[ClientRule, ...] = DEFAULT_RULES) -> tuple[str, str]:
    """(client_kind, client_name) of one user agent string."""
    if not user_agent:
        return UNKNOWN
    for rule in rules:
        match = _compiled(rule.pattern).search(user_agent.strip())
        if match:
            name = rule.name.format(None, *match.groups())
            return rule.kind, name.lower()
    return UNKNOWN
