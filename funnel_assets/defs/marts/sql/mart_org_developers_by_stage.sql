-- one row per signup-week cohort, stage and early second developer (or not): organisations that reached the stage within the horizon and the developers they had by then, partitioned by signup week
with members as (

    select * from mart_org_developers_by_stage_members

),

as_of as (

    select max(event_time) as as_of from developer_events

),

final as (

    select
        m.cohort_week,
        m.stage,
        m.early_second_developer,
        count(*) as orgs,
        count(*) filter (where m.converted) as reached,
        count(*) filter (where m.converted) / count(*) as rate,
        sum(m.developers) as developers,
        avg(m.developers) as developers_per_org,
        any_value(a.as_of) >= m.cohort_week + interval 7 day + to_days(cast($horizon_days as bigint)) as is_complete
    from members as m
    cross join as_of as a
    group by m.cohort_week, m.stage, m.early_second_developer

)

select * from final
