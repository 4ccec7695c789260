-- one row per source and reason kind (rejected, unreadable, duplicate): landing lines held back from the raw tables
select source, kind, count(*) as lines
from quarantine
group by all
order by source, kind
