-- failing rows per week, and a few of them
select week, count(*) as failing_rows
from _failing
group by week
