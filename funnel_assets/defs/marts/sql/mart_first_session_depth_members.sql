-- one row per developer of a signup-week cohort who called, with their first-session depth and whether they reached production within the horizon, partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)
        and first_api_call_at is not null

),

final as (

    select
        cohort_week,
        first_session_depth as depth,
        user_pid,
        coalesce(production_deployment_at <= account_created_at + to_days(cast($horizon_days as bigint)), false)
            as converted
    from stages

)

select * from final
