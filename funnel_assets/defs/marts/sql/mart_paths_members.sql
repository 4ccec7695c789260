-- one row per developer of a signup-week cohort and path transition (from _path_transitions): the steps they took from the from stage until the to stage (converted) or the window's end (not converted), repeats collapsed, partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

stage_times as (

    select user_pid, 'intent' as stage, intent_at as reached_at from stages
    union all select user_pid, 'account_created', account_created_at from stages
    union all select user_pid, 'credential_provisioned', credential_provisioned_at from stages
    union all select user_pid, 'first_api_call', first_api_call_at from stages
    union all select user_pid, 'first_integration_milestone', first_integration_milestone_at from stages
    union all select user_pid, 'active_integration', active_integration_at from stages
    union all select user_pid, 'production_deployment', production_deployment_at from stages

),

entered as (

    -- developers who reached the from stage; converted when the to stage came after it within the window
    select
        s.cohort_week,
        s.user_pid,
        t.from_stage,
        t.to_stage,
        t.window_days,
        f.reached_at as from_at,
        case
            when g.reached_at >= f.reached_at and date_diff('second', f.reached_at, g.reached_at) <= t.window_days * 86400
                then g.reached_at
        end as to_at
    from stages as s
    cross join _path_transitions as t
    join stage_times as f on f.user_pid = s.user_pid and f.stage = t.from_stage
    left join stage_times as g on g.user_pid = s.user_pid and g.stage = t.to_stage
    where f.reached_at is not null

),

events as (

    -- a step: a page by its path, a request by endpoint and status (2xx as a class), a track event by name
    select
        e.user_pid,
        e.event_time,
        e.event_id,
        case
            when e.event_type = 'page_view' then e.page_path
            when e.event_type = 'api_request' and e.status between 200 and 299 then e.endpoint || ' 2xx'
            when e.event_type = 'api_request' then e.endpoint || ' ' || cast(e.status as varchar)
            when e.event_type = 'track' then 'track ' || e.event_name
        end as step,
        case
            when e.event_type = 'api_request' and e.status not between 200 and 299 then 'error'
            when e.event_type = 'api_request' then 'call'
            when e.event_type = 'page_view' and e.page_path like $docs_path_prefix || '%' then 'docs'
            else 'other'
        end as step_kind,
        e.endpoint
    from developer_events as e
    join stages as s on s.user_pid = e.user_pid
    where e.event_type in ('page_view', 'api_request', 'track')

),

windowed as (

    -- the steps after the from stage's own event and up to the to stage's (or the window's end)
    select
        n.cohort_week, n.user_pid, n.from_stage, n.to_stage, n.from_at, n.to_at,
        v.event_time, v.event_id, v.step, v.step_kind, v.endpoint
    from entered as n
    join events as v on v.user_pid = n.user_pid
    where v.event_time >= n.from_at
      and (
          (n.to_at is not null and v.event_time <= n.to_at)
          or (n.to_at is null and date_diff('second', n.from_at, v.event_time) <= n.window_days * 86400)
      )

),

changes as (

    select
        *,
        case when step = lag(step) over (
            partition by user_pid, from_stage, to_stage order by event_time, event_id
        ) then 0 else 1 end as is_new_run
    from windowed

),

numbered as (

    select
        *,
        sum(is_new_run) over (
            partition by user_pid, from_stage, to_stage order by event_time, event_id
            rows between unbounded preceding and current row
        ) as run_no
    from changes

),

runs as (

    select
        cohort_week, user_pid, from_stage, to_stage, run_no,
        min(step) as step,
        min(step_kind) as step_kind,
        min(endpoint) as endpoint,
        count(*) as repeats
    from numbered
    group by cohort_week, user_pid, from_stage, to_stage, run_no

),

labelled as (

    -- a detour: an error, then a docs page, then a call (any status) to the same endpoint
    select
        *,
        case when repeats > 1 then step || ' x' || cast(repeats as varchar) else step end as label,
        case
            when step_kind = 'error'
                and lead(step_kind, 1) over w = 'docs'
                and lead(step_kind, 2) over w in ('call', 'error')
                and lead(endpoint, 2) over w = endpoint
            then step || ' > ' || lead(step, 1) over w || ' > retry'
        end as detour
    from runs
    window w as (partition by user_pid, from_stage, to_stage order by run_no)

),

final as (

    select
        n.cohort_week,
        n.user_pid,
        n.from_stage,
        n.to_stage,
        n.to_at is not null as converted,
        case when n.to_at is not null then date_diff('second', n.from_at, n.to_at) end as seconds_to_convert,
        coalesce(max(l.run_no), 0) as steps,
        coalesce(
            string_agg(case when l.run_no <= $path_max_steps then l.label end, ' > ' order by l.run_no),
            '(no steps)'
        ) || case when max(l.run_no) > $path_max_steps then ' > ...' else '' end as path,
        min(case when l.run_no <= $path_max_steps then l.detour end) as detour
    from entered as n
    left join labelled as l
        on l.user_pid = n.user_pid and l.from_stage = n.from_stage and l.to_stage = n.to_stage
    group by n.cohort_week, n.user_pid, n.from_stage, n.to_stage, n.from_at, n.to_at

)

select * from final
