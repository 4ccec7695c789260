-- one row per developer (visitor, for intent -> account_created) counted in a mart_stage_conversion cell: the cell's members, partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

transitions as (

    select * from _transitions

),

reached as (

    select *
    from (
        select
            cohort_week, user_pid, account_created_at as signup_at,
            intent_at as intent,
            account_created_at as account_created,
            credential_provisioned_at as credential_provisioned,
            first_api_call_at as first_api_call,
            first_integration_milestone_at as first_integration_milestone,
            active_integration_at as active_integration,
            production_deployment_at as production_deployment
        from stages
    ) as stage_times
    unpivot (reached_at for stage in (
        intent, account_created, credential_provisioned, first_api_call,
        first_integration_milestone, active_integration, production_deployment
    ))

),

developer_outcomes as (

    -- a from stage past the horizon does not count: the cohort is followed for horizon_days
    select
        f.cohort_week,
        t.from_stage,
        t.to_stage,
        t.window_days,
        f.user_pid,
        f.reached_at as from_at,
        o.reached_at as to_at,
        coalesce(o.reached_at <= f.reached_at + to_days(cast(t.window_days as bigint)), false) as converted
    from transitions as t
    join reached as f on f.stage = t.from_stage
    left join reached as o on o.user_pid = f.user_pid and o.stage = t.to_stage
    where not (t.from_stage = 'intent' and t.to_stage = 'account_created')
        and (t.from_stage in ('intent', 'account_created')
             or f.reached_at <= f.signup_at + to_days(cast($horizon_days as bigint)))

),

visitor_outcomes as (

    -- the top of the funnel is counted over visitors, by the week of their intent
    select
        v.intent_week as cohort_week,
        t.from_stage,
        t.to_stage,
        t.window_days,
        v.visitor_pid as user_pid,
        v.intent_at as from_at,
        v.account_created_at as to_at,
        coalesce(v.account_created_at <= v.intent_at + to_days(cast(t.window_days as bigint)), false) as converted
    from visitor_intents as v
    join transitions as t on t.from_stage = 'intent' and t.to_stage = 'account_created'
    where v.intent_week >= cast($week_start as date) and v.intent_week < cast($week_end as date)

),

final as (

    select * from developer_outcomes
    union all
    select * from visitor_outcomes

)

select * from final
