-- one row per request in the first 24 hours of a developer of a signup-week cohort (from their first request, whatever its status), partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

requests as (

    select s.cohort_week, e.user_pid, e.event_id, e.event_time, e.endpoint, e.status
    from developer_events as e
    join stages as s using (user_pid)
    where e.event_type = 'api_request'

),

first_requests as (

    select user_pid, min(event_time) as first_at from requests group by user_pid

),

final as (

    select r.*
    from requests as r
    join first_requests as f on f.user_pid = r.user_pid
    where r.event_time <= f.first_at + to_hours(cast($first_session_hours as bigint))

)

select * from final
