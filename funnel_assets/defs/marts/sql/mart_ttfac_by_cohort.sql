-- one row per signup-week cohort: time to first API call percentiles (seconds), partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

as_of as (

    select max(event_time) as as_of from developer_events

),

ttfac as (

    select
        cohort_week,
        epoch(first_api_call_at - account_created_at) as seconds
    from stages

),

final as (

    select
        t.cohort_week,
        count(*) as developers,
        count(t.seconds) as called,
        count(*) - count(t.seconds) as never_called,
        quantile_cont(t.seconds, 0.25) as p25_s,
        quantile_cont(t.seconds, 0.50) as p50_s,
        quantile_cont(t.seconds, 0.75) as p75_s,
        quantile_cont(t.seconds, 0.90) as p90_s,
        any_value(a.as_of) >= t.cohort_week + interval 7 day + to_days(cast($horizon_days as bigint)) as is_complete
    from ttfac as t
    cross join as_of as a
    group by t.cohort_week

)

select * from final
