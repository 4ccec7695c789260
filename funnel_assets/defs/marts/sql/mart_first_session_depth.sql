-- one row per signup-week cohort and first-session depth (distinct endpoints in the 24 h from the first successful call), partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)
        and first_api_call_at is not null

),

as_of as (

    select max(event_time) as as_of from developer_events

),

by_depth as (

    select
        cohort_week,
        first_session_depth as depth,
        count(*) as developers,
        count(*) filter (
            where production_deployment_at <= account_created_at + to_days(cast($horizon_days as bigint))
        ) as reached_production
    from stages
    group by all

),

final as (

    select
        b.cohort_week,
        b.depth,
        b.developers,
        b.developers / sum(b.developers) over (partition by b.cohort_week) as share,
        sum(b.developers) over (partition by b.cohort_week order by b.depth desc)
            / sum(b.developers) over (partition by b.cohort_week) as share_at_least,
        b.reached_production / b.developers as production_rate,
        a.as_of >= b.cohort_week + interval 7 day + to_days(cast($horizon_days as bigint)) as is_complete
    from by_depth as b
    cross join as_of as a

)

select * from final
