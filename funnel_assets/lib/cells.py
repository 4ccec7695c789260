"""Who a mart cell counts.

Each developer-counting mart reads its per-developer membership from one SQL
file, `<mart>_members.sql` beside the mart's own file: the mart counts its
rows, and `funnel trace` lists them. The two cannot disagree, because there
is only one definition of who is in a cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from funnel_assets.lib.engines import Engine, read_sql

MARTS_SQL = Path(__file__).resolve().parents[1] / "defs" / "marts" / "sql"


ENTERED_CONVERTED_DROPPED = {"entered": "true", "converted": "converted", "dropped": "not converted"}


@dataclass(frozen=True)
class CellSpec:
    """How a cell of a mart is named, and which of its members each `--who` selects.

    `options`: the members' columns that pick the cell (besides cohort_week),
    `required`: those a trace must name, `who`: a fixed predicate over the
    members relation per `--who` value.
    """

    options: tuple[str, ...]
    required: tuple[str, ...]
    who: dict[str, str] = field(default_factory=lambda: dict(ENTERED_CONVERTED_DROPPED))


CELLS: dict[str, CellSpec] = {
    "mart_stage_conversion": CellSpec(("from_stage", "to_stage", "window_days"), ("from_stage", "to_stage")),
    "mart_ttfac_by_cohort": CellSpec((), (), {"entered": "true", "called": "called", "never_called": "not called"}),
    "mart_production_rate": CellSpec(("days",), ("days",)),
    "mart_sdk_usage": CellSpec(("client_kind", "client_name"), (), {"entered": "true"}),
    "mart_first_session_depth": CellSpec(("depth",), ("depth",)),
    "mart_segment_conversion": CellSpec(("segment", "segment_value", "metric"), ("segment", "segment_value")),
    # members are requests: a developer is listed once however many of theirs fall in the cell
    "mart_first_day_errors": CellSpec(("endpoint", "status"), (), {"entered": "true"}),
    # members are organisations; the other org marts use their developer mart's cells (lib/orgs.py)
    "mart_org_developers_by_stage": CellSpec(("stage", "early_second_developer"), ("stage",)),
    # a row of mart_paths is a path of converted or not converted developers: --who converted / dropped
    "mart_paths": CellSpec(("from_stage", "to_stage", "path"), ("from_stage", "to_stage", "path")),
    "mart_docs_friction": CellSpec(("page_path",), ("page_path",), {
        "entered": "true", "rereaders": "reread", "skimmers": "skimmed", "called": "called_ever",
        "rereaders_never_called": "reread and not called_ever",
    }),
}


def members_table(mart: str) -> str:
    return f"{mart}_members"


def members_sql(mart: str) -> Path:
    return MARTS_SQL / f"{members_table(mart)}.sql"


def week_bounds(cohort: date) -> dict[str, datetime]:
    start = datetime.combine(cohort, time(), tzinfo=timezone.utc)
    return {"week_start": start, "week_end": start + timedelta(days=7)}


def stage_transitions(engine: Engine, transitions: list[dict[str, Any]]) -> None:
    """The configured transitions as the table `_transitions` that the conversion SQL reads."""
    engine.put_frame("_transitions", pd.DataFrame(transitions))


def stage_path_transitions(engine: Engine, transitions: list[dict[str, Any]]) -> None:
    """The diagnostics' path transitions as the temporary table `_path_transitions` that mart_paths reads."""
    columns = ["from_stage", "to_stage", "window_days"]
    engine.put_frame("_path_transitions", pd.DataFrame([{c: t[c] for c in columns} for t in transitions]),
                     temporary=True)


def stage_members(engine: Engine, mart: str, params: dict[str, Any]) -> None:
    """Build `<mart>_members` (a temporary table) for the weeks in `params`, for the mart or a trace to read."""
    engine.temp_table(members_table(mart), read_sql(members_sql(mart)), params)


def select_cell(engine: Engine, mart: str, cohort: date, cell: dict[str, Any], who: str) -> int:
    """Stage the members of one cell, `who` of them, as the temporary table `_cell_members`; return how many."""
    spec = CELLS[mart]
    if who not in spec.who:
        raise ValueError(f"{mart}: --who must be one of {', '.join(spec.who)}, not {who!r}")
    missing = [name for name in spec.required if cell.get(name) is None]
    if missing:
        raise ValueError(f"{mart}: a cell needs {', '.join(missing)}")
    unknown = sorted(set(cell) - set(spec.options))
    if unknown:
        raise ValueError(f"{mart}: cells are not chosen by {', '.join(unknown)}")
    # Column names and predicates come from CELLS (code), values are bound.
    chosen = [name for name in spec.options if cell.get(name) is not None]
    where = " and ".join(
        ["cohort_week = cast($cohort as date)", *(f"{name} = ${name}" for name in chosen), f"({spec.who[who]})"]
    )
    engine.temp_table(
        "_cell_members",
        f'select * from "{members_table(mart)}" where {where}',
        {"cohort": cohort, **{name: cell[name] for name in chosen}},
    )
    return int(engine.scalar("select count(*) from _cell_members"))
