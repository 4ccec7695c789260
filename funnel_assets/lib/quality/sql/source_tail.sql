-- accepted lines per landing day over a source's last week of files
select day, sum(accepted) as accepted
from ingested_files
where source = $source and day > cast($last_day as date) - interval 7 day
group by day
order by day
