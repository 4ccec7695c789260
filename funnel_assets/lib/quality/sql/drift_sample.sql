-- a few drifting lines per week, by lineage
select week, file, line, version as contract_version, string_agg(change || ' ' || field, ', ' order by field) as changes
from _drift
group by week, file, line, version
qualify row_number() over (partition by week order by file, line) <= $per_week
order by week, file, line
