-- lines per declared contract version: accepted rows, and lines rejected by their version
with accepted as (

    select version, count(*) as lines
    from _checked
    where week >= cast($week_start as date) and week < cast($week_end as date)
    group by all

),

rejected as (

    select _contract_version as version, count(*) as lines
    from quarantine
    where source = $source and kind = 'rejected'
      and _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)
    group by all

)

select version, sum(lines) as lines
from (select * from accepted union all select * from rejected)
group by version
order by version
