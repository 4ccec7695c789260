-- one row per signup-week cohort and client (official SDK by language, raw HTTP client, unknown): developers and requests, partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

developers_by_client as (

    -- a developer's client is the class of their first successful call
    select cohort_week, client_kind, client_name, count(*) as developers
    from mart_sdk_usage_members
    group by all

),

requests_by_client as (

    select s.cohort_week, e.client_kind, e.client_name, count(*) as requests
    from developer_events as e
    join stages as s using (user_pid)
    where e.event_type = 'api_request'
    group by all

),

joined as (

    select
        cohort_week,
        client_kind,
        client_name,
        coalesce(d.developers, 0) as developers,
        coalesce(r.requests, 0) as requests
    from developers_by_client as d
    full outer join requests_by_client as r using (cohort_week, client_kind, client_name)

),

final as (

    select
        *,
        developers / nullif(sum(developers) over (partition by cohort_week), 0) as developer_share,
        requests / nullif(sum(requests) over (partition by cohort_week), 0) as request_share
    from joined

)

select * from final
