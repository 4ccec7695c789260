"""From a mart cell to the developers it counts and the landing lines behind their stages.

The members of a cell come from the mart's own `<mart>_members.sql` (see
`cells`), so a trace lists exactly whom the mart counts. Output is
pseudonymous; `reidentify` adds the auth user id and e-mail from the raw
layer for this one result, never into a table, and `audit` records who asked.
"""

from __future__ import annotations

import getpass
import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from funnel_assets.lib.cells import select_cell, stage_members, week_bounds
from funnel_assets.lib.stage_names import STAGES
from funnel_assets.lib.engines import Engine, read_sql

SQL = Path(__file__).parent / "sql"
EVIDENCE = ("at", "event_id", "source_file", "source_line")
AUDIT_LOG = "audit.log"


def stage_columns() -> list[str]:
    """`<stage>_at`, `<stage>_event_id`, `<stage>_source_file`, `<stage>_source_line`, stages in funnel order."""
    return [f"{stage}_{part}" for stage in STAGES for part in EVIDENCE]


def trace_cell(
    engine: Engine,
    params: dict[str, Any],
    mart: str,
    cohort: date,
    cell: dict[str, Any],
    who: str,
    reidentify: bool = False,
) -> pd.DataFrame:
    """One row per developer `who` of the cell: every stage's time, event id, landing file and line."""
    stage_members(engine, mart, {**params, **week_bounds(cohort)})
    select_cell(engine, mart, cohort, cell, who)
    long = engine.frame(read_sql(SQL / "trace_developers.sql"))
    members = long[["user_pid"]].drop_duplicates()
    reached = long.dropna(subset=["stage"]).rename(columns={"reached_at": "at"})
    wide = reached.pivot(index="user_pid", columns="stage", values=list(EVIDENCE))
    wide.columns = [f"{stage}_{part}" for part, stage in wide.columns]
    wide = wide.reindex(columns=stage_columns()).reset_index()
    cohorts = long.dropna(subset=["cohort_week"])[["user_pid", "cohort_week"]].drop_duplicates()
    frame = members.merge(cohorts, on="user_pid", how="left").merge(wide, on="user_pid", how="left")
    frame["cohort_week"] = frame["cohort_week"].dt.date
    for stage in STAGES:
        frame[f"{stage}_source_line"] = frame[f"{stage}_source_line"].astype("Int64")
    if reidentify:
        contacts = engine.frame(read_sql(SQL / "trace_contacts.sql"))
        frame = contacts.merge(frame, on="user_pid", how="right")
    return frame.sort_values("user_pid", ignore_index=True)


def timeline(engine: Engine, params: dict[str, Any], user_pid: str) -> pd.DataFrame:
    """One developer's events in order, each with its landing line, the stages it set and its session."""
    frame = engine.frame(read_sql(SQL / "trace_timeline.sql"), {**params, "user_pid": user_pid})
    return frame.astype({"session": "Int64"})


def audit(warehouse: Path, command: str, cell: dict[str, Any], rows: int) -> Path:
    """Append who re-identified what to the audit log beside the warehouse."""
    log = warehouse.parent / AUDIT_LOG
    entry = {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "os_user": getpass.getuser(),
        "command": command,
        "cell": cell,
        "rows": rows,
    }
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, default=str) + "\n")
    return log
