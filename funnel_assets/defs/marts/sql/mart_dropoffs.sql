-- one row per developer and transition they entered but did not convert within its window, once that window has closed, partitioned by signup week
with dropped as (

    -- intent -> account_created is counted over visitors: one who never signed up is nobody to contact
    select * from mart_stage_conversion_members
    where not converted and not (from_stage = 'intent' and to_stage = 'account_created')

),

stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

as_of as (

    select max(event_time) as as_of from developer_events

),

first_day_errors as (

    select user_pid, list(distinct status order by status) as codes
    from mart_first_day_errors_members
    where status not between 200 and 299
    group by user_pid

),

last_stage as (

    -- the furthest stage of the funnel reached, in funnel order
    select
        user_pid,
        case
            when production_deployment_at is not null then 'production_deployment'
            when active_integration_at is not null then 'active_integration'
            when first_integration_milestone_at is not null then 'first_integration_milestone'
            when first_api_call_at is not null then 'first_api_call'
            when credential_provisioned_at is not null then 'credential_provisioned'
            else 'account_created'
        end as last_stage_reached
    from stages

),

final as (

    select
        d.cohort_week,
        d.from_stage,
        d.to_stage,
        d.window_days,
        d.user_pid,
        d.from_at,
        round(epoch(a.as_of - d.from_at) / 86400, 1) as days_since_from,
        s.email_engagement,
        -- the seed's e-mail segments: high engagement is proceeding, medium is blocked, none needs another channel
        case s.email_engagement
            when 'high' then 'monitor'
            when 'medium' then 'targeted help offer'
            else 'other channel'
        end as suggested_action,
        s.channel,
        s.account_type,
        s.client_kind,
        coalesce(e.codes, []) as first_day_error_codes,
        l.last_stage_reached
    from dropped as d
    join stages as s using (user_pid)
    join last_stage as l using (user_pid)
    cross join as_of as a
    left join first_day_errors as e using (user_pid)
    where a.as_of >= d.from_at + to_days(cast(d.window_days as bigint))

)

select * from final
