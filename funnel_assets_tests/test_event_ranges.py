"""developer_events built a range of event weeks at a time, and developer_stages and org_stages a range of cohort
weeks at a time (more events than EVENTS_AT_ONCE: at 100 M requests their one statement spilled more than the disk
held), give the rows of one statement, through Dagster materialisation."""

from __future__ import annotations

import shutil
from datetime import datetime, time, timedelta, timezone

import pytest

from funnel_assets.defs.stages import assets as stage_assets
from funnel_assets.lib.orgs import ORG_MEMBER_WEEKS, stage_org_members
from funnel_assets.lib.simulator import generate
from funnel_assets_tests.conftest import Pipeline

COMPARED = ("developer_events", "developer_stages", "org_stages")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    data = tmp_path_factory.mktemp("simulated") / "data"
    generate(data, developers=400, weeks=4, seed=5, requests=30_000)
    return data


def _built(root, data, definitions) -> Pipeline:
    shutil.copytree(data, root / "data")
    pipeline = Pipeline(definitions, root)
    pipeline.run()
    return pipeline


def test_events_and_stages_built_a_week_at_a_time_equal_one_statement(tmp_path, simulated, definitions, monkeypatch):
    whole = _built(tmp_path / "whole", simulated, definitions)
    monkeypatch.setattr(stage_assets, "EVENTS_AT_ONCE", 1)  # every week a range of its own
    cut = _built(tmp_path / "cut", simulated, definitions)
    for table in COMPARED:
        expected, got = (p.frame(f"select * from {table} order by all") for p in (whole, cut))
        assert len(expected) > 0 and got.equals(expected), table

    first, last = cut.frame("select min(event_week) as a, max(event_week) as b from developer_events").iloc[0]
    at = lambda day: datetime.combine(day, time(), timezone.utc)  # noqa: E731
    with cut.resource.connect() as engine:
        ranges = stage_assets._event_ranges(engine, at(first.date()), at(last.date() + timedelta(weeks=1)))
    weeks = cut.frame("select count(distinct _event_week) as n from (select _event_week from raw_gateway_requests "
                      "union all select _event_week from raw_analytics_events)").n[0]
    assert len(ranges) == weeks > 1  # it really was cut, a week per range
    assert ranges[0][0] == at(first.date()) and all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))

    first, last = cut.frame("select min(cohort_week) as a, max(cohort_week) as b from developer_stages").iloc[0]
    with cut.resource.connect() as engine:
        cohorts = stage_assets.cohort_ranges(engine, at(first.date()), at(last.date() + timedelta(weeks=1)))
    signup_weeks = cut.frame("select count(distinct cohort_week) as n from developer_stages").n[0]
    assert len(cohorts) == signup_weeks > 1  # the stages too: a signup week per range
    assert cohorts[0][0] == at(first.date()) and all(a[1] == b[0] for a, b in zip(cohorts, cohorts[1:]))

    first, last = cut.frame("select min(cohort_week) as a, max(cohort_week) as b from org_stages").iloc[0]
    with cut.resource.connect() as engine:
        stage_org_members(engine)
        org_cohorts = stage_assets.cohort_ranges(engine, at(first.date()), at(last.date() + timedelta(weeks=1)),
                                                 ORG_MEMBER_WEEKS)
    org_weeks = cut.frame("select count(distinct cohort_week) as n from org_stages").n[0]
    assert len(org_cohorts) == org_weeks > 1  # and the organisations: a cohort week per range
