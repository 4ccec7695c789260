"""mart_dropoffs and mart_time_to_convert recover what the simulator planted, developer by developer.

The oracle reads the simulator's per-developer truth (`truth_developers.csv.gz`: the planted stage times,
e-mail segment, channel, client) and applies DESIGN.md's definitions in pandas, independently of the SQL.
"""

import numpy as np
import pandas as pd
import pytest

from funnel_assets.lib.stage_names import STAGES
from funnel_assets.lib.simulator import generate
from funnel_assets.lib.simulator.summary import TRANSITIONS
from funnel_assets_tests.conftest import Pipeline

HORIZON = pd.Timedelta(days=90)
ACTIONS = {"high": "monitor", "medium": "targeted help offer", "none": "other channel"}
# upper ends (inclusive) of mart_time_to_convert's bins, after "before from"
EDGES_S = [600, 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400, 30 * 86400]
DEVELOPER_TRANSITIONS = [t for t in TRANSITIONS if t[:2] != ("intent", "account_created")]


@pytest.fixture(scope="module")
def planted(tmp_path_factory, definitions):
    pipeline = Pipeline(definitions, tmp_path_factory.mktemp("dropoffs"))
    truth = generate(pipeline.data_dir, developers=700, weeks=3, seed=21, requests=35_000)
    pipeline.run()
    devs = pd.read_csv(pipeline.data_dir / "truth_developers.csv.gz", keep_default_na=False)
    for stage in STAGES:
        devs[f"{stage}_at"] = pd.to_datetime(devs[f"{stage}_at"].replace("", None), utc=True, format="ISO8601")
    devs["user_pid"] = devs.user_id.map(pipeline.pids(list(devs.user_id)))
    devs["cohort_week"] = devs.account_created_at.dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time.dt.date
    return pipeline, devs, pd.Timestamp(truth["counts"]["as_of"])


def entered(devs, from_stage):
    at = devs[f"{from_stage}_at"]
    if from_stage == "account_created":
        return devs[at.notna()]
    return devs[at.notna() & (at <= devs.account_created_at + HORIZON)]


def test_dropoffs_are_the_planted_developers_who_did_not_convert_once_their_window_closed(planted):
    pipeline, devs, as_of = planted
    mart = pipeline.frame("select * from mart_dropoffs")
    assert len(mart) > 100
    expected = []
    for from_stage, to_stage, days in DEVELOPER_TRANSITIONS:
        window = pd.Timedelta(days=days)
        group = entered(devs, from_stage)
        to_at, from_at = group[f"{to_stage}_at"], group[f"{from_stage}_at"]
        dropped = group[~(to_at <= from_at + window) & (from_at + window <= as_of)]
        expected += [(pid, from_stage, to_stage, days) for pid in dropped.user_pid]
    got = list(zip(mart.user_pid, mart.from_stage, mart.to_stage, mart.window_days))
    assert sorted(got) == sorted(expected)

    by_pid = devs.set_index("user_pid")
    joined = mart.join(by_pid, on="user_pid", rsuffix="_planted")
    assert (joined.email_engagement == joined.email_segment).all()
    assert (joined.suggested_action == joined.email_segment.map(ACTIONS)).all()
    assert (joined.channel == joined.channel_planted).all()
    assert (joined.client_kind == joined.client_kind_planted.replace("", "none")).all()
    assert (joined.cohort_week.dt.date == joined.cohort_week_planted).all()
    reached = joined[[f"{s}_at" for s in STAGES]].notna().to_numpy()
    furthest = np.array(STAGES)[len(STAGES) - 1 - np.argmax(reached[:, ::-1], axis=1)]
    assert (joined.last_stage_reached == furthest).all()
    days_since = (as_of - joined.from_at).dt.total_seconds() / 86400
    assert np.allclose(joined.days_since_from, days_since, atol=0.051)
    # the planted first-day 400s show among the developer's first-day error codes
    bad = joined[joined.bad_request_first_day.astype(str) == "True"]
    assert len(bad) > 0 and all(400 in list(codes) for codes in bad.first_day_error_codes)


def test_time_to_convert_histograms_equal_the_planted_stage_times(planted):
    pipeline, devs, _ = planted
    mart = pipeline.frame("select * from mart_time_to_convert where from_stage <> 'intent'")
    checked = 0
    for from_stage, to_stage, days in DEVELOPER_TRANSITIONS:
        group = entered(devs, from_stage)
        group = group[group[f"{to_stage}_at"].notna()]
        seconds = (group[f"{to_stage}_at"] - group[f"{from_stage}_at"]).dt.total_seconds()
        bins = np.where(seconds < 0, 0, 1 + np.searchsorted(EDGES_S, seconds, side="left"))
        expected = pd.DataFrame({"cohort_week": group.cohort_week, "bin_order": bins}).value_counts()
        rows = mart[(mart.from_stage == from_stage) & (mart.to_stage == to_stage) & (mart.window_days == days)]
        counted = rows[rows.developers > 0]
        got = counted.set_index([counted.cohort_week.dt.date, "bin_order"]).developers
        got = got[got.index.get_level_values(0).isin(set(devs.cohort_week))]
        assert got.sort_index().to_dict() == expected.sort_index().to_dict(), (from_stage, to_stage, days)
        checked += int(expected.sum())
        cumulative = rows.groupby("cohort_week").cumulative_share.max()
        assert np.allclose(cumulative, 1.0)
    assert checked > 1000


def test_time_to_convert_bins_read_in_human_units_and_mark_the_window(planted):
    pipeline, _, _ = planted
    rows = pipeline.frame(
        "select distinct bin_order, bin, within_window from mart_time_to_convert "
        "where from_stage = 'first_api_call' and to_stage = 'active_integration' and window_days = 14 order by 1"
    )
    assert list(rows.bin) == ["before from", "under 10 min", "10-60 min", "1-6 h", "6-24 h", "1-3 d", "3-7 d",
                              "7-14 d", "14-30 d", "over 30 d"]
    assert list(rows.within_window) == [True] * 8 + [False] * 2
