-- the rows of a mart ($table) in the weeks of the run, beside each cohort week that must be reported
with weeks as (

    select cast(unnest(generate_series(
        cast($week_start as date), cast($week_end as date) - interval 7 day, interval 7 day
    )) as date) as cohort_week

),

populated as (

    -- the weeks with developers, or with developers who called when $callers_only
    select distinct cohort_week from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)
        and (not $callers_only or first_api_call_at is not null)

),

required as (

    -- every week up to the data's as-of time (mart_stage_conversion.sql: no cohort after it)
    select cohort_week from weeks
    where $every_week
        and coalesce(cohort_week <= (select max(event_time) from developer_events), true)
    union
    select cohort_week from populated

),

mart as (

    select * from query_table($table)
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

final as (

    -- a required week without any row is one row of nulls (its cohort_week too)
    select coalesce(m.cohort_week, r.cohort_week) as _week, m.*
    from mart as m
    full join required as r on r.cohort_week = m.cohort_week

)

select row_number() over (order by _week) as _row, * from final
