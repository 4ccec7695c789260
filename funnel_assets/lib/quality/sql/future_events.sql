-- records whose own time is later than the end of their landing file's day, plus the tolerance:
-- nothing can happen after the file holding it was written
select c.week, c.file, c.line, c.event_time, f.day as file_day
from _checked as c
join ingested_files as f on f.source = $source and f._source_file = c.file
where c.week >= cast($week_start as date) and c.week < cast($week_end as date)
  and c.event_time > cast(f.day as timestamptz) + interval 1 day + to_seconds(cast($tolerance_seconds as double))
