-- one row per signup-week cohort and first-session depth (distinct endpoints in the 24 h from the first successful call), partitioned by signup week
with members as (

    select * from mart_first_session_depth_members

),

as_of as (

    select max(event_time) as as_of from developer_events

),

by_depth as (

    select
        cohort_week,
        depth,
        count(*) as developers,
        count(*) filter (where converted) as reached_production
    from members
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
