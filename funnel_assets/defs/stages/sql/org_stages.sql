-- one row per organisation, partitioned by the week its first developer joined: each stage's first time over its developers, who and which event set it, how many developers had joined by then
with members as (

    select * from _org_members
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

member_stages as (

    -- developer_stages.sql run over each developer's events inside the organisation
    select * from _org_developer_stages

),

reached as (

    -- a developer's account_created, for the organisation, is when they joined it
    select *
    from (
        select
            m.org_pid,
            m.user_pid,
            m.joined_at as account_created_at,
            m.joined_event_id as account_created_event_id,
            s.credential_provisioned_at, s.credential_provisioned_event_id,
            s.first_api_call_at, s.first_api_call_event_id,
            s.first_integration_milestone_at, s.first_integration_milestone_event_id,
            s.active_integration_at, s.active_integration_event_id,
            s.production_deployment_at, s.production_deployment_event_id
        from members as m
        left join member_stages as s on s.user_pid = m.member_pid
    ) as developer_stage_times
    unpivot ((reached_at, event_id) for stage in (
        (account_created_at, account_created_event_id) as 'account_created',
        (credential_provisioned_at, credential_provisioned_event_id) as 'credential_provisioned',
        (first_api_call_at, first_api_call_event_id) as 'first_api_call',
        (first_integration_milestone_at, first_integration_milestone_event_id) as 'first_integration_milestone',
        (active_integration_at, active_integration_event_id) as 'active_integration',
        (production_deployment_at, production_deployment_event_id) as 'production_deployment'
    ))

),

firsts as (

    select
        org_pid,
        stage,
        min(reached_at) as reached_at,
        arg_min(user_pid, (reached_at, user_pid)) as user_pid,
        arg_min(event_id, (reached_at, user_pid)) as event_id
    from reached
    where reached_at is not null
    group by all

),

with_developers as (

    select
        f.*,
        count(m.user_pid) as developers
    from firsts as f
    join members as m on m.org_pid = f.org_pid and m.joined_at <= f.reached_at
    group by all

),

orgs as (

    select
        org_pid,
        any_value(cohort_week) as cohort_week,
        count(*) as developers,
        arg_min(user_pid, (joined_at, user_pid)) as first_developer_pid,
        -- null while the organisation has one developer
        list_sort(list(joined_at))[2] as second_developer_at
    from members
    group by org_pid

),

final as (

    select
        o.cohort_week,
        o.org_pid,
        o.developers,
        o.first_developer_pid,
        o.second_developer_at,

        max(s.reached_at) filter (where s.stage = 'account_created') as account_created_at,
        max(s.user_pid) filter (where s.stage = 'account_created') as account_created_user_pid,
        max(s.event_id) filter (where s.stage = 'account_created') as account_created_event_id,
        max(s.developers) filter (where s.stage = 'account_created') as account_created_developers,

        max(s.reached_at) filter (where s.stage = 'credential_provisioned') as credential_provisioned_at,
        max(s.user_pid) filter (where s.stage = 'credential_provisioned') as credential_provisioned_user_pid,
        max(s.event_id) filter (where s.stage = 'credential_provisioned') as credential_provisioned_event_id,
        max(s.developers) filter (where s.stage = 'credential_provisioned') as credential_provisioned_developers,

        max(s.reached_at) filter (where s.stage = 'first_api_call') as first_api_call_at,
        max(s.user_pid) filter (where s.stage = 'first_api_call') as first_api_call_user_pid,
        max(s.event_id) filter (where s.stage = 'first_api_call') as first_api_call_event_id,
        max(s.developers) filter (where s.stage = 'first_api_call') as first_api_call_developers,

        max(s.reached_at) filter (where s.stage = 'first_integration_milestone') as first_integration_milestone_at,
        max(s.user_pid) filter (where s.stage = 'first_integration_milestone') as first_integration_milestone_user_pid,
        max(s.event_id) filter (where s.stage = 'first_integration_milestone') as first_integration_milestone_event_id,
        max(s.developers) filter (where s.stage = 'first_integration_milestone') as first_integration_milestone_developers,

        max(s.reached_at) filter (where s.stage = 'active_integration') as active_integration_at,
        max(s.user_pid) filter (where s.stage = 'active_integration') as active_integration_user_pid,
        max(s.event_id) filter (where s.stage = 'active_integration') as active_integration_event_id,
        max(s.developers) filter (where s.stage = 'active_integration') as active_integration_developers,

        max(s.reached_at) filter (where s.stage = 'production_deployment') as production_deployment_at,
        max(s.user_pid) filter (where s.stage = 'production_deployment') as production_deployment_user_pid,
        max(s.event_id) filter (where s.stage = 'production_deployment') as production_deployment_event_id,
        max(s.developers) filter (where s.stage = 'production_deployment') as production_deployment_developers
    from orgs as o
    left join with_developers as s using (org_pid)
    group by all

)

select * from final
