-- one row per developer of the signup-week cohorts from $pool_start to $week_end: each driver factor's value and whether they reached the outcome stage within the outcome window, partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($pool_start as date) and cohort_week < cast($week_end as date)

),

as_of as (

    select max(event_time) as as_of from developer_events

),

errors_before_success as (

    select
        e.user_pid,
        max(case when e.status = 401 then 1 else 0 end) as had_401,
        max(case when e.status = 400 then 1 else 0 end) as had_400,
        max(case when e.status = 429 then 1 else 0 end) as had_429
    from developer_events as e
    join stages as s on s.user_pid = e.user_pid
    where e.event_type = 'api_request'
      and (s.first_api_call_at is null or e.event_time < s.first_api_call_at)
    group by e.user_pid

),

docs_rereads as (

    -- a docs page read three or more times in one sitting before the first successful call (or ever, without one)
    select d.user_pid, count(*) as reread_pages
    from mart_docs_friction_members as d
    join stages as s on s.user_pid = d.user_pid
    where d.reread and (s.first_api_call_at is null or d.first_reread_at < s.first_api_call_at)
    group by d.user_pid

),

outcomes as (

    select
        s.*,
        case $outcome_stage
            when 'intent' then s.intent_at
            when 'account_created' then s.account_created_at
            when 'credential_provisioned' then s.credential_provisioned_at
            when 'first_api_call' then s.first_api_call_at
            when 'first_integration_milestone' then s.first_integration_milestone_at
            when 'active_integration' then s.active_integration_at
            when 'production_deployment' then s.production_deployment_at
        end as outcome_at
    from stages as s

),

final as (

    select
        o.cohort_week,
        o.user_pid,
        o.client_kind,
        case
            when o.first_session_depth = 0 then 'no call'
            when o.first_session_depth = 1 then '1'
            when o.first_session_depth = 2 then '2'
            else '3+'
        end as depth_band,
        case when coalesce(e.had_401, 0) = 1 then 'yes' else 'no' end as error_401_before_success,
        case when coalesce(e.had_400, 0) = 1 then 'yes' else 'no' end as error_400_before_success,
        case when coalesce(e.had_429, 0) = 1 then 'yes' else 'no' end as error_429_before_success,
        o.email_engagement,
        o.channel,
        o.account_type,
        case when r.reread_pages > 0 then 'yes' else 'no' end as docs_reread,
        -- cohort weeks start on Monday: days 5 and 6 are the weekend
        case when date_diff('day', o.cohort_week, cast(o.account_created_at as date)) >= 5 then 'weekend' else 'weekday' end
            as signup_day,
        o.outcome_at is not null
            and date_diff('second', o.account_created_at, o.outcome_at) <= $outcome_days * 86400 as converted,
        date_diff('second', cast(o.cohort_week as timestamp), a.as_of) >= (7 + $outcome_days) * 86400 as is_complete
    from outcomes as o
    cross join as_of as a
    left join errors_before_success as e on e.user_pid = o.user_pid
    left join docs_rereads as r on r.user_pid = o.user_pid

)

select * from final
