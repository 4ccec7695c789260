"""Route templates from the API's own description (an OpenAPI document).

When configuration names an OpenAPI document, its `paths` are the route
templates: a request path is the template whose literal segments it matches
(the most literal one when several do, so `/v1/customers/search` wins over
`/v1/customers/{customer}`). Paths no template matches, and every path when
there is no document, are templated by the rules in
`defs/stages/sql/path_routes.sql`.

Only the template's shape reaches the SQL: one row per literal segment, so
matching is an equality join, not a regular expression per path and template.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

TEMPLATE_COLUMNS = {"template": "string", "segment_count": "int64", "position": "int64", "literal": "string",
                    "literal_count": "int64"}


def openapi_paths(document: Path) -> list[str]:
    """The path templates of an OpenAPI (or Swagger) document, YAML or JSON."""
    try:
        text = document.read_text()
    except OSError as error:
        raise ValueError(f"{document}: cannot read the OpenAPI document ({error.strerror})") from None
    try:
        spec = json.loads(text) if document.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ValueError(f"{document}: not a JSON or YAML document ({str(error).splitlines()[0]})") from None
    paths = spec.get("paths") if isinstance(spec, dict) else None
    if not isinstance(paths, dict) or not paths:
        raise ValueError(f"{document}: an OpenAPI document needs a non-empty `paths` object")
    return sorted(str(p) for p in paths)


def template_segments(templates: list[str]) -> pd.DataFrame:
    """One row per literal segment of each template (position 1-based, as DuckDB's string_split lists)."""
    rows = []
    for template in templates:
        segments = template.split("?")[0].split("/")
        literals = [(i, s) for i, s in enumerate(segments, start=1) if not (s.startswith("{") and s.endswith("}"))]
        rows += [(template, len(segments), i, s, len(literals)) for i, s in literals]
    frame = pd.DataFrame(rows, columns=list(TEMPLATE_COLUMNS))
    return frame.astype(TEMPLATE_COLUMNS)
