-- one row per developer: first time of each stage and the id of the event that set it, partitioned by signup week
with developers as (

    select
        user_pid,
        org_pid,
        account_type,
        created_at as account_created_at,
        email_verified_at,
        cast(date_trunc('week', created_at) as date) as cohort_week
    from identity_users
    where created_at >= $week_start and created_at < $week_end

),

events as (

    select e.*
    from developer_events as e
    semi join developers as d using (user_pid)

),

page_views as (

    select * from events where event_type = 'page_view'

),

first_intent_page as (

    select
        user_pid,
        min(event_time) as reached_at,
        arg_min(event_id, (event_time, event_id)) as event_id
    from page_views
    where len(list_filter(cast($intent_path_prefixes as varchar[]), lambda p: starts_with(page_path, p))) > 0
    group by user_pid

),

first_presignup_page as (

    select
        p.user_pid,
        arg_min(p.channel, (p.event_time, p.event_id)) as channel
    from page_views as p
    join developers as d using (user_pid)
    where p.event_time < d.account_created_at
    group by p.user_pid

),

first_key as (

    select
        user_pid,
        min(event_time) as reached_at,
        arg_min(event_id, (event_time, event_id)) as event_id
    from events
    where event_type = 'key_created'
    group by user_pid

),

successful_requests as (

    select * from events
    where event_type = 'api_request' and status between 200 and 299

),

first_call as (

    select
        user_pid,
        min(event_time) as reached_at,
        arg_min(event_id, (event_time, event_id)) as event_id,
        arg_min(client_kind, (event_time, event_id)) as client_kind,
        arg_min(client_name, (event_time, event_id)) as client_name
    from successful_requests
    group by user_pid

),

first_milestone as (

    select
        user_pid,
        min(event_time) as reached_at,
        arg_min(event_id, (event_time, event_id)) as event_id
    from events
    where event_type = 'track' and event_name = $milestone_event
    group by user_pid

),

request_gaps as (

    select
        *,
        event_time - lag(event_time) over (partition by user_pid order by event_time, event_id) as gap
    from successful_requests

),

sessions as (

    -- a new session starts after a gap of session_gap_minutes or more
    select
        *,
        sum(case when gap is null or gap >= to_minutes(cast($session_gap_minutes as bigint)) then 1 else 0 end)
            over (partition by user_pid order by event_time, event_id) as session_no
    from request_gaps

),

session_endpoints as (

    select
        user_pid,
        session_no,
        endpoint,
        min(event_time) as first_at,
        arg_min(event_id, (event_time, event_id)) as event_id
    from sessions
    group by all

),

second_endpoints as (

    select *
    from session_endpoints
    qualify row_number() over (partition by user_pid, session_no order by first_at, event_id) = 2

),

first_active as (

    select
        user_pid,
        min(first_at) as reached_at,
        arg_min(event_id, (first_at, event_id)) as event_id
    from second_endpoints
    group by user_pid

),

production_signals as (

    select user_pid, event_time, event_id from successful_requests where key_mode = 'live'
    union all
    select user_pid, event_time, event_id from events
    where event_type = 'track'
        and event_name = $production_webhook_event
        and environment = $production_environment

),

first_production as (

    select
        user_pid,
        min(event_time) as reached_at,
        arg_min(event_id, (event_time, event_id)) as event_id
    from production_signals
    group by user_pid

),

first_session as (

    select
        r.user_pid,
        count(distinct r.endpoint) as depth
    from successful_requests as r
    join first_call as f using (user_pid)
    where r.event_time between f.reached_at and f.reached_at + to_hours(cast($first_session_hours as bigint))
    group by r.user_pid

),

email_engagement as (

    select
        user_pid,
        count(distinct campaign) filter (where event_type = 'email_open') as emails_opened,
        count(distinct campaign) filter (where event_type = 'email_click') as emails_clicked
    from events
    where source = 'email'
    group by user_pid

),

final as (

    select
        d.cohort_week,
        d.user_pid,
        d.org_pid,
        d.account_type,
        coalesce(ch.channel, 'unknown') as channel,
        d.email_verified_at,

        least(i.reached_at, d.account_created_at) as intent_at,
        case when i.reached_at <= d.account_created_at then i.event_id else 'user:' || d.user_pid end as intent_event_id,
        coalesce(i.reached_at <= d.account_created_at, false) as intent_observed,

        d.account_created_at,
        'user:' || d.user_pid as account_created_event_id,

        k.reached_at as credential_provisioned_at,
        k.event_id as credential_provisioned_event_id,

        c.reached_at as first_api_call_at,
        c.event_id as first_api_call_event_id,

        m.reached_at as first_integration_milestone_at,
        m.event_id as first_integration_milestone_event_id,

        a.reached_at as active_integration_at,
        a.event_id as active_integration_event_id,

        p.reached_at as production_deployment_at,
        p.event_id as production_deployment_event_id,

        coalesce(c.client_kind, 'none') as client_kind,
        coalesce(c.client_name, 'none') as client_name,
        coalesce(s.depth, 0) as first_session_depth,
        coalesce(e.emails_opened, 0) as emails_opened,
        coalesce(e.emails_clicked, 0) as emails_clicked,
        case
            when e.emails_opened >= 3 and e.emails_clicked >= 1 then 'high'
            when e.emails_opened >= 1 then 'medium'
            else 'none'
        end as email_engagement
    from developers as d
    left join first_intent_page as i using (user_pid)
    left join first_presignup_page as ch using (user_pid)
    left join first_key as k using (user_pid)
    left join first_call as c using (user_pid)
    left join first_milestone as m using (user_pid)
    left join first_active as a using (user_pid)
    left join first_production as p using (user_pid)
    left join first_session as s using (user_pid)
    left join email_engagement as e using (user_pid)

)

select * from final
