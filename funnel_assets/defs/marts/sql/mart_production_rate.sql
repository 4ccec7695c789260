-- one row per signup-week cohort: share of developers in production 30, 60 and 90 days after signup, partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

as_of as (

    select max(event_time) as as_of from developer_events

),

counts as (

    select
        cohort_week,
        count(*) as developers,
        count(*) filter (where production_deployment_at <= account_created_at + interval 30 day) as production_30d,
        count(*) filter (where production_deployment_at <= account_created_at + interval 60 day) as production_60d,
        count(*) filter (where production_deployment_at <= account_created_at + interval 90 day) as production_90d
    from stages
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
