-- rows of a raw table ($table) per week of the run
select _event_week as week, count(*) as rows
from query_table($table)
where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)
group by all
