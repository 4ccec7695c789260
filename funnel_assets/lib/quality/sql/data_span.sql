-- the data's span: from the start of the first landing day to the end of the last, give or take a tolerance
select
    cast(min(day) as timestamptz) - to_seconds(cast($tolerance_seconds as bigint)) as span_start,
    cast(max(day) as timestamptz) + interval 1 day + to_seconds(cast($tolerance_seconds as bigint)) as span_end
from ingested_files
