-- one row per signup-week cohort, endpoint and status code of the requests in each developer's first 24 hours, partitioned by signup week
with first_day as (

    select * from mart_first_day_errors_members

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
