-- one row per event of one developer, in order: its landing line, the stages it set and its session
with events as (

    select * from developer_events where user_pid = $user_pid

),

marks as (

    select stage, event_id
    from (select * from developer_stages where user_pid = $user_pid) as s
    unpivot (event_id for stage in (
        intent_event_id as 'intent',
        account_created_event_id as 'account_created',
        credential_provisioned_event_id as 'credential_provisioned',
        first_api_call_event_id as 'first_api_call',
        first_integration_milestone_event_id as 'first_integration_milestone',
        active_integration_event_id as 'active_integration',
        production_deployment_event_id as 'production_deployment'
    ))

),

stage_marks as (

    select event_id, string_agg(stage, ', ') as sets_stage from marks group by event_id

),

successful_requests as (

    select
        event_id,
        event_time,
        event_time - lag(event_time) over (order by event_time, event_id) as gap
    from events
    where event_type = 'api_request' and status between 200 and 299

),

sessions as (

    -- the same rule as developer_stages: a new session after a gap of session_gap_minutes or more
    select
        event_id,
        sum(case when gap is null or gap >= to_minutes(cast($session_gap_minutes as bigint)) then 1 else 0 end)
            over (order by event_time, event_id) as session_no
    from successful_requests

),

final as (

    select
        e.event_time,
        e.source,
        e.event_type,
        coalesce(e.endpoint || ' ' || e.status, e.page_path, e.event_name, e.campaign) as detail,
        e.client_name,
        m.sets_stage,
        s.session_no as session,
        e.event_id,
        e._source_file as source_file,
        e._source_line as source_line
    from events as e
    left join stage_marks as m using (event_id)
    left join sessions as s using (event_id)
    order by e.event_time, e.event_id

)

select * from final
