-- one row per developer of a signup-week cohort who called, with the client of their first successful call, partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

final as (

    select cohort_week, client_kind, client_name, user_pid
    from stages
    where first_api_call_at is not null

)

select * from final
