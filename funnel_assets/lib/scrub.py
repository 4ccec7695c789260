"""What the scrubber removes from free text before it leaves the raw layer.

Free-text values copied past raw (page paths, route templates, event names,
campaigns, environments, client names) go through the SQL macro
`scrub(text)` (installed by `engine.connect`), which applies these rules in
order; a source's own event ids go through `scrub_id(id)`. Each is an RE2 regular expression (DuckDB's dialect, which has no
look-around) and its replacement.
"""

from __future__ import annotations

EMAIL = "[email]"
SECRET = "[secret]"
TOKEN = "[token]"

SCRUB_RULES: tuple[tuple[str, str], ...] = (
    # an e-mail address, also percent-encoded (jane%40example.com)
    (r"[A-Za-z0-9._%+-]+(@|%40)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", EMAIL),
    # a JSON Web Token
    (r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(\.[A-Za-z0-9_-]+)?", TOKEN),
    # credentials after an authorisation scheme
    (r"(?i)\b(bearer|basic|token)(\s+|%20|\+)[A-Za-z0-9._~+/=-]{8,}", r"\1 " + TOKEN),
    # the value of a key-like parameter (api_key=..., token=..., password=...)
    (r"(?i)\b(api[_-]?key|apikey|access[_-]?key|access[_-]?token|auth[_-]?token|token|secret|client[_-]?secret"
     r"|password|passwd|pwd|signature|sig|key)(=|%3D|:)[^&\s#/?]+", r"\1\2" + SECRET),
    # vendor key formats: Stripe-style sk_live_ / pk_test_, GitHub, Slack, GitLab, AWS, SendGrid, webhook secrets
    (r"\b((sk|pk|rk)_(live|test)_[A-Za-z0-9]{8,}|whsec_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{20,}"
     r"|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,}|(AKIA|ASIA)[0-9A-Z]{16}"
     r"|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,})", SECRET),
    # a long run of letters and digits with no separator: a random token, not a word
    (r"[A-Za-z0-9]{24,}", TOKEN),
)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def scrub_macros() -> list[str]:
    """The SQL of the macros `scrub(v)` (every rule applied in order, every match replaced) and
    `scrub_id(v)`: a source's own id (request, message, ticket id) kept as it is unless the scrubber
    would change it, then replaced by its pseudonym, so it stays unique and reveals nothing."""
    expression = "v"
    for pattern, replacement in SCRUB_RULES:
        expression = f"regexp_replace({expression}, {_literal(pattern)}, {_literal(replacement)}, 'g')"
    return [
        f"create or replace temp macro scrub(v) as {expression}",
        "create or replace temp macro scrub_id(v) as case when scrub(v) = v then v else pseudo(v) end",
    ]
