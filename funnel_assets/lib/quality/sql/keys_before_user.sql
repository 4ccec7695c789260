-- API keys created before the account of the user they were issued to (an effect before its cause)
with keys as (

    select * from raw_api_keys
    where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)

),

signups as (

    select user_id, min(created_at) as created_at
    from raw_auth_users
    where user_id in (select user_id from keys)
    group by user_id

),

final as (

    select
        k._event_week as week,
        k._source_file as file,
        k._source_line as line,
        pseudo(k.key_id) as key_pid,
        pseudo(k.user_id) as user_pid,
        k.created_at as key_created_at,
        u.created_at as user_created_at
    from keys as k
    join signups as u using (user_id)
    where k.created_at < u.created_at - to_seconds(cast($tolerance_seconds as double))

)

select * from final
