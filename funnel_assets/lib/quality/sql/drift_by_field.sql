-- schema drift per week, contract version, field and change: how many lines
select week, version, field, change, count(*) as lines
from _drift
group by all
order by week, version, field, change
