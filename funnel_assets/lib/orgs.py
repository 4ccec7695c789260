"""The organisation funnel, derived from the developer funnel's own SQL.

An organisation's stages are its developers' stages, each developer counted
only through the events that belong to the organisation (`org_member_events.sql`:
by key, then by membership). Rather than restate the stage definitions, the
developer SQL is run again with the tables it reads shadowed by temporary
views of the same name: `developer_stages.sql` over the organisation's
developers and events, and a developer mart's `<mart>_members.sql` and own
SQL over `org_stages` (an organisation in place of a developer). DuckDB
resolves a temporary view before a table of the same name, and the views
live only on this connection.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from funnel_assets.lib.engines import Engine, read_sql
from funnel_assets.lib.stage_names import STAGES

DEFS = Path(__file__).resolve().parents[1] / "defs"
STAGES_SQL = DEFS / "stages" / "sql"

# intent is a visitor's page view before any account: no organisation owns it
ORG_STAGES = STAGES[1:]

# Each org mart is the developer mart of the same rules, over organisations.
DEVELOPER_MART = {
    "mart_org_stage_conversion": "mart_stage_conversion",
    "mart_org_ttfac": "mart_ttfac_by_cohort",
    "mart_org_production_rate": "mart_production_rate",
}


@contextmanager
def shadowed(engine: Engine, views: dict[str, str]) -> Iterator[None]:
    """Temporary views named like the tables they stand in for, dropped afterwards."""
    try:
        for name, select in views.items():
            engine.temp_view(name, select)
        yield
    finally:
        for name in views:
            engine.drop_temp(name)


# each organisation's developer with the organisation's cohort week (org_stages' cohort), once staged
ORG_MEMBER_WEEKS = "select cohort_week as week from _org_members"


def stage_org_members(engine: Engine) -> None:
    """`_org_members`: every organisation's developers."""
    engine.temp_table("_org_members", read_sql(STAGES_SQL / "org_members.sql"))


def stage_org_developers(engine: Engine, params: dict[str, Any]) -> None:
    """`_org_developer_stages` of the organisations whose cohort weeks are in `params` (`_org_members` staged)."""
    engine.temp_table("_org_member_events", read_sql(STAGES_SQL / "org_member_events.sql"), params)
    views = {
        "developer_events": "select * from _org_member_events",
        "identity_users": read_sql(STAGES_SQL / "org_developers_as_users.sql"),
    }
    with shadowed(engine, views):
        engine.temp_table("_org_developer_stages", read_sql(STAGES_SQL / "developer_stages.sql"), params)


def orgs_as_developers(engine: Engine):
    """`developer_stages` shadowed by `org_stages`, one organisation per row in place of a developer."""
    columns = ", ".join(f"{stage}_at" for stage in ORG_STAGES)
    return shadowed(
        engine,
        {"developer_stages": f"select cohort_week, org_pid as user_pid, cast(null as timestamptz) as intent_at, "
                             f"{columns} from org_stages"},
    )


def org_transitions(transitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The developer transitions an organisation can make: all but those from intent."""
    return [t for t in transitions if t["from_stage"] != "intent"]


ORG_EVIDENCE = ("at", "user_pid", "event_id", "developers", "source_file", "source_line")


def org_stage_columns() -> list[str]:
    """`<stage>_at`, `_user_pid` (the developer), `_event_id`, `_developers`, `_source_file`, `_source_line`."""
    return [f"{stage}_{part}" for stage in ORG_STAGES for part in ORG_EVIDENCE]


def trace_org_cell(engine: Engine, params: dict[str, Any], mart: str, cohort, cell: dict[str, Any], who: str):
    """One row per organisation `who` of an org mart's cell: each stage's time, developer, event and landing line."""
    from funnel_assets.lib.cells import select_cell, stage_members, stage_transitions, week_bounds

    bounds = {**params, **week_bounds(cohort)}
    developer_mart = DEVELOPER_MART.get(mart)
    transitions = engine.frame("select * from _transitions").to_dict("records")
    stage_transitions(engine, org_transitions(transitions))
    if developer_mart is None:
        stage_members(engine, mart, bounds)
        select_cell(engine, mart, cohort, cell, who)
        org_column = "org_pid"
    else:
        with orgs_as_developers(engine):
            stage_members(engine, developer_mart, bounds)
        select_cell(engine, developer_mart, cohort, cell, who)
        org_column = "user_pid"  # the developer mart's members, an organisation in place of a developer
    engine.temp_view("_cell_orgs", f"select distinct {org_column} as org_pid from _cell_members")
    long = engine.frame(read_sql(Path(__file__).parent / "sql" / "trace_orgs.sql"))
    orgs = long[["org_pid", "cohort_week", "developers"]].drop_duplicates("org_pid")
    reached = long.dropna(subset=["reached_at"]).drop(columns=["developers"]).rename(
        columns={"reached_at": "at", "developer_pid": "user_pid", "developers_then": "developers"}
    )
    wide = reached.pivot(index="org_pid", columns="stage", values=list(ORG_EVIDENCE))
    wide.columns = [f"{stage}_{part}" for part, stage in wide.columns]
    wide = wide.reindex(columns=org_stage_columns()).reset_index()
    frame = orgs.merge(wide, on="org_pid", how="left")
    frame["cohort_week"] = frame["cohort_week"].dt.date
    for stage in ORG_STAGES:
        for part in ("developers", "source_line"):
            frame[f"{stage}_{part}"] = frame[f"{stage}_{part}"].astype("Int64")
    return frame.sort_values("org_pid", ignore_index=True)
