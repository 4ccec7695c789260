-- one row per developer of the staged cell and stage: when they reached it, the event that set it, and that event's landing file and line
with members as (

    select distinct user_pid from _cell_members

),

stages as (

    select s.*
    from developer_stages as s
    semi join members using (user_pid)

),

marks as (

    select *
    from stages
    unpivot ((reached_at, event_id) for stage in (
        (intent_at, intent_event_id) as 'intent',
        (account_created_at, account_created_event_id) as 'account_created',
        (credential_provisioned_at, credential_provisioned_event_id) as 'credential_provisioned',
        (first_api_call_at, first_api_call_event_id) as 'first_api_call',
        (first_integration_milestone_at, first_integration_milestone_event_id) as 'first_integration_milestone',
        (active_integration_at, active_integration_event_id) as 'active_integration',
        (production_deployment_at, production_deployment_event_id) as 'production_deployment'
    ))

),

evidence as (

    -- an event id is unique within its developer's events
    select
        m.user_pid,
        m.stage,
        m.reached_at,
        m.event_id,
        e._source_file as source_file,
        e._source_line as source_line
    from marks as m
    left join developer_events as e on e.user_pid = m.user_pid and e.event_id = m.event_id
    where m.reached_at is not null
    qualify row_number() over (partition by m.user_pid, m.stage order by e._source_file, e._source_line) = 1

),

final as (

    select
        n.user_pid,
        s.cohort_week,
        v.stage,
        v.reached_at,
        v.event_id,
        v.source_file,
        v.source_line
    from members as n
    left join stages as s using (user_pid)
    left join evidence as v using (user_pid)

)

select * from final
