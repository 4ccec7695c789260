-- one row per developer of a signup-week cohort with their time to first API call (null: never called), partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

final as (

    select
        cohort_week,
        user_pid,
        epoch(first_api_call_at - account_created_at) as seconds,
        first_api_call_at is not null as called
    from stages

)

select * from final
