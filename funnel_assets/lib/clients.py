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


DEFAULT_RULES: tuple[ClientRule, ...] = (
    ClientRule(r"^acme-([a-z0-9]+)/", "sdk", "acme-{1}"),
    ClientRule(
        r"^(curl|python-requests|PostmanRuntime|axios|Go-http-client|okhttp|Wget|node-fetch|HTTPie|Python-urllib|libwww-perl|Java|Ruby)\b",
        "raw_http",
        "{1}",
    ),
)

UNKNOWN = ("unknown", "unknown")


@lru_cache(maxsize=64)
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
