-- the developer_stages rows of the run's cohort weeks, beside the developers (auth users) who belong in them
with developers as (

    select user_pid, cast(date_trunc('week', created_at) as date) as cohort_week
    from identity_users
    where created_at >= $week_start and created_at < $week_end

),

stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

final as (

    -- a developer without a row has a null user_pid; a row without a developer, a null developer_pid
    select
        coalesce(s.cohort_week, d.cohort_week) as _week,
        coalesce(s.cohort_week, d.cohort_week) as cohort_week,
        d.user_pid as developer_pid,
        s.user_pid,
        s.intent_at,
        s.account_created_at,
        s.credential_provisioned_at,
        s.first_api_call_at,
        s.first_integration_milestone_at,
        s.active_integration_at,
        s.production_deployment_at
    from stages as s
    full join developers as d on d.user_pid = s.user_pid

)

select row_number() over (order by _week, user_pid, developer_pid) as _row, * from final
