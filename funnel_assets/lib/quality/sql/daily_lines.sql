-- accepted lines per landing day of a source, around the weeks of the run
select day, sum(accepted) as accepted, count(*) as files
from ingested_files
where source = $source and day >= cast($from_day as date) and day < cast($to_day as date)
group by day
order by day
