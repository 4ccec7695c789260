-- one row per signup-week cohort: share of developers in production 30, 60 and 90 days after signup, partitioned by signup week
with members as (

    select * from mart_production_rate_members

),

as_of as (

    select max(event_time) as as_of from developer_events

),

counts as (

    select
        cohort_week,
        count(*) filter (where days = 30) as developers,
        count(*) filter (where days = 30 and converted) as production_30d,
        count(*) filter (where days = 60 and converted) as production_60d,
        count(*) filter (where days = 90 and converted) as production_90d
    from members
    group by cohort_week

),

final as (

    select
        c.cohort_week,
        c.developers,
        c.production_30d,
        c.production_30d / c.developers as rate_30d,
        a.as_of >= c.cohort_week + interval 37 day as complete_30d,
        c.production_60d,
        c.production_60d / c.developers as rate_60d,
        a.as_of >= c.cohort_week + interval 67 day as complete_60d,
        c.production_90d,
        c.production_90d / c.developers as rate_90d,
        a.as_of >= c.cohort_week + interval 97 day as complete_90d
    from counts as c
    cross join as_of as a

)

select * from final
