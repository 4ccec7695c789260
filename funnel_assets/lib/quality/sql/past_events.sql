-- records whose own time is earlier than the start of their landing file's day, minus the tolerance:
-- a file holds one UTC day of records, so an older time is a wrong date (a sign-up in 1900), not a late arrival;
-- a client clock running slow is measured once corrected (raw_analytics_events.corrected_timestamp), and a later
-- version of a state record (a key's revocation, a user's new org, in a later file: first_version set) keeps its
-- first version's time
select c.week, c.file, c.line, c.corrected_time as event_time, f.day as file_day
from _checked as c
join ingested_files as f on f.source = $source and f._source_file = c.file
where c.week >= cast($week_start as date) and c.week < cast($week_end as date)
  and c.corrected_time < cast(f.day as timestamptz) - to_seconds(cast($tolerance_seconds as double))
  and c.first_version is null
