"""What the Spark deployment tests ask of the engine, through its interface only, on whatever the settings point at.

    python -m funnel_assets_tests.spark_cluster_scenario '{"engine": "spark", "spark_master": "spark://...", ...}'

prints the outcome as JSON. The settings are `FunnelResource`'s (a `--config` file's keys), so the engine is
reached exactly as a run reaches it: by configuration alone. The cluster tests run it in a process of their own
because a process holds one Spark session (pyspark's is a process-wide singleton, and a Spark Connect client
switches the whole process to Connect); the local run is the same function on the tests' shared session.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta, timezone

import pandas as pd

from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.engines import Engine

TABLE = "cluster_events"
WEEKS = [date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20)]
WEEK = "_event_week >= cast($week_start as date) and _event_week < cast($week_end as date)"
SELECT = """
    select _event_week, n, event_time, pseudo(request_id) as request_pid
    from _cluster_source
    where n < $per_week and _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)
"""


def _weeks(start: date, weeks: int) -> dict:
    begin = datetime.combine(start, datetime.min.time(), tzinfo=timezone.utc)
    return {"week_start": begin, "week_end": begin + timedelta(weeks=weeks)}


def _replace(engine: Engine, start: date, weeks: int, per_week: int) -> int:
    bounds = _weeks(start, weeks)
    return engine.replace_rows(TABLE, SELECT, {"per_week": per_week, **bounds}, WEEK, bounds,
                               partition_by=("_event_week",))


def scenario(engine: Engine) -> dict:
    """Two weeks written, the second rewritten with fewer rows, a third added, the first emptied, read back: what
    was written, the rows, the schema."""
    source = pd.DataFrame(
        [(w, n, datetime.combine(w, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=n, microseconds=n),
          f"req_{w}_{n}") for w in WEEKS for n in range(6)],
        columns=["_event_week", "n", "event_time", "request_id"],
    ).astype({"event_time": "datetime64[us, UTC]"})
    engine.put_frame("_cluster_source", source, temporary=True)
    written = [
        _replace(engine, WEEKS[0], 2, per_week=4),  # two weeks
        _replace(engine, WEEKS[1], 1, per_week=2),  # the second again, with fewer rows
        _replace(engine, WEEKS[2], 1, per_week=3),  # a third week
        _replace(engine, WEEKS[0], 1, per_week=0),  # the first again, now without rows: it goes
    ]
    _, rows = engine.rows(f"select _event_week, n, event_time, request_pid from {TABLE} order by _event_week, n")
    return {
        "engine": engine.name,
        "written": written,
        "rows": [[value.isoformat() if hasattr(value, "isoformat") else value for value in row] for row in rows],
        "schema": [list(column) for column in engine.schema(TABLE)],
        "table_exists": engine.table_exists(TABLE),
    }


def run(settings: dict) -> dict:
    resource = FunnelResource.from_settings(settings)
    with resource.connect() as engine:
        outcome = scenario(engine)
        outcome["master"] = _where(engine)
    return outcome


def _where(engine: Engine) -> str:
    """The deployment the session really ran on (the master URL, or the Spark Connect server's)."""
    spark = getattr(engine, "spark", None)
    if spark is None:
        return ""
    try:
        return spark.sparkContext.master
    except Exception:  # a Spark Connect session has no SparkContext: the server says where it runs
        return "connect:" + spark.conf.get("spark.master")


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
