"""Source adapters: vendor export and log formats -> landing format v1 records.

`FORMATS` names every supported format; `convert_file` reads one vendor file
and yields a `Converted` landing record or a `Rejected` (file, line, field,
reason, raw) for each vendor record; `convert_command` is what
`funnel convert --format NAME INPUT... [--out DIR]` runs; `input_files` and
`check_inputs` let a caller (the vendor-source sync) refuse a bad set of
inputs before anything is written. `sync.py` converts the vendor sources of
the configuration into the landing folder, once per file version.

Option values: every option is text (a format string, a field, header or
parameter name) except those `OPTION_KINDS` names. `option_value` reads an
option given on the command line as text (`--option KEY=VALUE`): text options
stay text even when they look like JSON (an API Gateway JSON `log_format`),
mappings and flags are parsed as YAML. A value of the wrong kind is one
`ValueError` naming the format, the option and what it expects.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from funnel_assets.lib.adapters import (
    amplitude,
    auth0,
    aws_apigw,
    clerk,
    combined_log,
    customerio,
    kong,
    mailchimp,
    mixpanel,
    posthog,
    segment,
    sendgrid,
    supabase,
    zendesk,
)
from funnel_assets.lib.adapters.base import Adapter, Converted, Rejected
from funnel_assets.lib.adapters.landing_writer import write_landing

__all__ = [
    "FORMATS",
    "Adapter",
    "Converted",
    "Rejected",
    "check_inputs",
    "convert_command",
    "convert_file",
    "input_files",
    "option_value",
    "write_landing",
]

FORMATS: dict[str, Adapter] = {
    module.ADAPTER.name: module.ADAPTER
    for module in (
        kong,
        aws_apigw,
        combined_log,
        auth0,
        clerk,
        supabase,
        segment,
        posthog,
        amplitude,
        mixpanel,
        sendgrid,
        customerio,
        mailchimp,
        zendesk,
    )
}


# option name -> kind, for the options that are not text
OPTION_KINDS = {
    "key_map": "mapping",
    "requester_emails": "mapping",
    "created_at_from_id": "flag",
    "timestamp_already_corrected": "flag",
    "fired_at_timezone": "timezone",
    "project_timezone": "timezone",
}
_EXPECTED = {
    "text": "text",
    "mapping": "a mapping (JSON or YAML, e.g. '{\"cred\": \"key\"}')",
    "flag": "true or false",
    "timezone": "an IANA time zone name (e.g. Europe/Paris)",
}


def option_value(name: str, value: str) -> Any:
    """An option given as text on the command line: kept as text, or parsed as YAML when it is a mapping or a flag."""
    if OPTION_KINDS.get(name, "text") in ("text", "timezone"):
        return value
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value  # judged, and refused with its option's name, by the format's option check


def convert_file(format_name: str, path: Path, options: dict | None = None) -> Iterator[Converted | Rejected]:
    """Every record of one vendor file as a landing record or a rejection.

    Raises only before reading, for an unknown format or option name or a
    missing file; anything wrong inside the file comes back as `Rejected`."""
    adapter = _checked(format_name, Path(path), options or {})
    return adapter.convert(Path(path), dict(options or {}))


def convert_command(format_name: str, inputs: list[Path], out_dir: Path, options: dict) -> dict:
    """Convert every input (a directory stands for the files under it) into `out_dir`; return the counts."""
    files = [file for path in map(Path, inputs) for file in input_files(path)]
    check_inputs(format_name, files, options)
    converted = chain.from_iterable(convert_file(format_name, file, options) for file in files)
    return {"files": len(files), **write_landing(converted, Path(out_dir))}


def check_inputs(format_name: str, files: list[Path], options: dict) -> None:
    """Raise for an unknown format or option name or a missing file, before anything is read."""
    _options_checked(_adapter(format_name), options)
    for file in files:
        _checked(format_name, Path(file), options)


def input_files(path: Path) -> list[Path]:
    """The files an input stands for: itself, or the files under a folder (hidden ones left out)."""
    path = Path(path)
    if path.is_dir():
        return sorted(file for file in path.rglob("*") if file.is_file() and not file.name.startswith("."))
    return [path]


def _adapter(format_name: str) -> Adapter:
    if format_name not in FORMATS:
        raise ValueError(f"unknown format {format_name!r}; known formats: {sorted(FORMATS)}")
    return FORMATS[format_name]


def _checked(format_name: str, path: Path, options: dict) -> Adapter:
    adapter = _options_checked(_adapter(format_name), options)
    if not path.is_file():
        raise FileNotFoundError(f"no input file {path}")
    return adapter


def _options_checked(adapter: Adapter, options: dict) -> Adapter:
    unknown = sorted(set(options) - set(adapter.options))
    if unknown:
        raise ValueError(f"format {adapter.name!r} has no option(s) {unknown}; its options are {list(adapter.options)}")
    for name, value in options.items():
        kind = OPTION_KINDS.get(name, "text")
        if value is not None and not _is_kind(value, kind):
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise ValueError(
                f"format {adapter.name!r} option {name}: expected {_EXPECTED[kind]}, got {type(value).__name__} {shown}"
            )
    return adapter


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "mapping":
        return isinstance(value, dict)
    if kind == "flag":
        return isinstance(value, bool)
    if not isinstance(value, str):
        return False
    if kind == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            return False
    return True
