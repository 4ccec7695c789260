-- one row per signup-week cohort, endpoint and status code of the requests in each developer's first 24 hours, partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

requests as (

    select s.cohort_week, e.user_pid, e.event_time, e.endpoint, e.status
    from developer_events as e
    join stages as s using (user_pid)
    where e.event_type = 'api_request'

),

first_requests as (

    select user_pid, min(event_time) as first_at from requests group by user_pid

),

first_day as (

    -- the first 24 hours from the developer's first request, whatever its status
    select r.*
    from requests as r
    join first_requests as f using (user_pid)
    where r.event_time <= f.first_at + to_hours(cast($first_session_hours as bigint))

),

counts as (

    select cohort_week, endpoint, status, count(*) as requests, count(distinct user_pid) as developers
    from first_day
    group by all

),

final as (

    select
        cohort_week,
        endpoint,
        status,
        status not between 200 and 299 as is_error,
        requests,
        developers,
        requests / sum(requests) over (partition by cohort_week) as share_of_first_day_requests,
        sum(case when status not between 200 and 299 then requests else 0 end) over (partition by cohort_week, endpoint)
            / sum(requests) over (partition by cohort_week, endpoint) as endpoint_error_rate
    from counts

)

select * from final
