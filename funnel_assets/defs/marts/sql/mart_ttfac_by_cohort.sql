-- one row per signup-week cohort: time to first API call percentiles (seconds), partitioned by signup week
with members as (

    select * from mart_ttfac_by_cohort_members

),

as_of as (

    select max(event_time) as as_of from developer_events

),

final as (

    select
        m.cohort_week,
        count(*) as developers,
        count(*) filter (where m.called) as called,
        count(*) filter (where not m.called) as never_called,
        quantile_cont(m.seconds, 0.25) as p25_s,
        quantile_cont(m.seconds, 0.50) as p50_s,
        quantile_cont(m.seconds, 0.75) as p75_s,
        quantile_cont(m.seconds, 0.90) as p90_s,
        any_value(a.as_of) >= m.cohort_week + interval 7 day + to_days(cast($horizon_days as bigint)) as is_complete
    from members as m
    cross join as_of as a
    group by m.cohort_week

)

select * from final
