"""The one weekly partitions definition: ISO weeks, Monday 00:00 UTC.

Source assets use it for the event week, cohort assets for the signup week.
"""

import dagster as dg

# day_offset=1: Dagster's weeks start on Sunday otherwise. end_offset=1 keeps
# the week in progress, so data landing today has a partition.
WEEKLY = dg.WeeklyPartitionsDefinition(start_date="2020-01-06", day_offset=1, end_offset=1)

# A cohort is followed for 90 days (13 weeks) after its signup week, and its
# developers' intent may come a few weeks before signup.
COHORT_WINDOW = dg.TimeWindowPartitionMapping(
    start_offset=-4, end_offset=13, allow_nonexistent_upstream_partitions=True
)

# Every asset of funnel_weekly_job takes a range of weeks in one run; the unpartitioned ones too, since
# `dg launch --partition-range` asks every selected asset for this policy.
SINGLE_RUN = dg.BackfillPolicy.single_run()

# The trailing cohorts a diagnostic compares a cohort with (leading-indicator baselines, pooled drivers):
# up to half a year before it.
COHORT_HISTORY = dg.TimeWindowPartitionMapping(
    start_offset=-26, end_offset=0, allow_nonexistent_upstream_partitions=True
)
