-- the first failing rows of each week, by lineage
select *
from _failing
qualify row_number() over (partition by week order by file, line) <= $per_week
order by week, file, line
