-- one row per organisation of the staged cell and stage: when it reached it, the developer and event that set it, how many developers it had then, and that event's landing file and line
with members as (

    select * from _cell_orgs

),

orgs as (

    select o.*
    from org_stages as o
    semi join members using (org_pid)

),

marks as (

    select *
    from orgs
    unpivot ((reached_at, developer_pid, event_id, developers_then) for stage in (
        (account_created_at, account_created_user_pid, account_created_event_id, account_created_developers)
            as 'account_created',
        (credential_provisioned_at, credential_provisioned_user_pid, credential_provisioned_event_id,
            credential_provisioned_developers) as 'credential_provisioned',
        (first_api_call_at, first_api_call_user_pid, first_api_call_event_id, first_api_call_developers)
            as 'first_api_call',
        (first_integration_milestone_at, first_integration_milestone_user_pid, first_integration_milestone_event_id,
            first_integration_milestone_developers) as 'first_integration_milestone',
        (active_integration_at, active_integration_user_pid, active_integration_event_id,
            active_integration_developers) as 'active_integration',
        (production_deployment_at, production_deployment_user_pid, production_deployment_event_id,
            production_deployment_developers) as 'production_deployment'
    ))

),

evidence as (

    -- an event id is unique within its developer's events
    select
        m.org_pid,
        m.cohort_week,
        m.developers,
        m.stage,
        m.reached_at,
        m.developer_pid,
        m.event_id,
        m.developers_then,
        e._source_file as source_file,
        e._source_line as source_line
    from marks as m
    left join developer_events as e on e.user_pid = m.developer_pid and e.event_id = m.event_id
    qualify row_number() over (partition by m.org_pid, m.stage order by e._source_file, e._source_line) = 1

),

final as (

    select * from evidence

)

select * from final
