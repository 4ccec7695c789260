"""Access-log lines parsed by the format string that wrote them.

A format is given the way the server is configured: NGINX `log_format`
variables (`$remote_addr`, `$http_x_api_key`), Apache `LogFormat` directives
(`%h`, `%{User-Agent}i`, translated to the NGINX names) or API Gateway
`$context.*` variables. Each variable becomes a capture that runs up to the
next literal character of the format, so quoted fields may hold spaces.
Fields after the end of the format are returned too (`trailing`): adding
` "$http_x_api_key_id"` after a stock format is how the key reaches a log
whose preset has no room for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COMBINED = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
COMMON = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent'
PRESETS = {"combined": COMBINED, "common": COMMON}

_VARIABLE = re.compile(r"\$(?:\{([A-Za-z0-9_.]+)\}|(context\.[A-Za-z0-9_.]*[A-Za-z0-9_]|[A-Za-z_][A-Za-z0-9_]*))")
_APACHE = re.compile(r"%([<>]?)(?:\{([^}]*)\})?([a-zA-Z%])")
_APACHE_SIMPLE = {
    "h": "$remote_addr",
    "a": "$remote_addr",
    "l": "$remote_logname",
    "u": "$remote_user",
    "t": "[$time_local]",  # Apache's %t prints its own brackets
    "r": "$request",
    "s": "$status",
    "b": "$body_bytes_sent",
    "B": "$body_bytes_sent",
    "D": "$request_time_us",
    "T": "$request_time",
    "m": "$request_method",
    "U": "$uri",
    "q": "$query_string",
    "H": "$server_protocol",
    "%": "%",
}
_TRAILING_FIELD = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')
_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})|\\(.)")


@dataclass(frozen=True)
class LogFormat:
    template: str
    variables: tuple[str, ...]
    pattern: re.Pattern[str]

    @classmethod
    def compile(cls, template: str) -> LogFormat:
        """A format from a preset name, an NGINX/API Gateway `$var` string or an Apache `%x` string."""
        template = PRESETS.get(template, template)
        if _APACHE.search(template) and not _VARIABLE.search(template):
            template = _from_apache(template)
        pieces = _VARIABLE.split(template)
        # split() yields literal, braced-name, bare-name, literal, ...
        literals = pieces[0::3]
        names = [braced or bare for braced, bare in zip(pieces[1::3], pieces[2::3], strict=True)]
        regex = [re.escape(literals[0])]
        for index, name in enumerate(names):
            following = literals[index + 1]
            if not following:
                if index + 1 < len(names):
                    raise ValueError(f"log format {template!r}: ${name} is followed by another variable with nothing between")
                regex.append(r"(\S*)")
            elif following[0] == '"':
                regex.append(r'((?:[^"\\]|\\.)*)')
            else:
                regex.append(f"([^{re.escape(following[0])}]*)")
            regex.append(re.escape(following))
        regex.append(r"(?P<_trailing>.*)")
        canonical = tuple(name.removeprefix("context.") for name in names)
        return cls(template, canonical, re.compile("^" + "".join(regex) + "$"))

    def parse(self, line: str) -> tuple[dict[str, str | None], list[str | None]] | None:
        """The variables of a line (`-` read as absent) and any fields after the format, or None if it does not match."""
        match = self.pattern.match(line)
        if match is None:
            return None
        values = {name: _value(match.group(index)) for index, name in enumerate(self.variables, 1)}
        trailing = [_value(bare or quoted) for quoted, bare in _TRAILING_FIELD.findall(match["_trailing"])]
        return values, trailing


def _value(captured: str) -> str | None:
    if captured in ("", "-"):
        return None
    # NGINX writes unsafe bytes as \xHH, Apache escapes quotes as \"
    return _ESCAPE.sub(lambda m: chr(int(m[1], 16)) if m[1] else m[2], captured)


def _from_apache(template: str) -> str:
    template = template.replace('\\"', '"')

    def translate(match: re.Match[str]) -> str:
        _, argument, directive = match.groups()
        if argument is None and directive in _APACHE_SIMPLE:
            return _APACHE_SIMPLE[directive]
        if directive == "i" and argument:
            return "$http_" + argument.lower().replace("-", "_")
        if directive == "e" and argument == "UNIQUE_ID":
            return "$request_id"
        raise ValueError(f"Apache log format directive {match[0]!r} is not supported; use the NGINX $variable form")

    return _APACHE.sub(translate, template)
