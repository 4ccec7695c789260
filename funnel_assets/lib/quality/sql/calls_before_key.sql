-- requests made before the first creation of the key they used (an effect before its cause)
with requests as (

    select * from raw_gateway_requests
    where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)

),

first_issues as (

    select key_id, min(created_at) as created_at
    from raw_api_keys
    where key_id in (select key_id from requests)
    group by key_id

),

final as (

    select
        r._event_week as week,
        r._source_file as file,
        r._source_line as line,
        pseudo(r.key_id) as key_pid,
        r.timestamp as called_at,
        k.created_at as key_created_at
    from requests as r
    join first_issues as k using (key_id)
    where r.timestamp < k.created_at - to_seconds(cast($tolerance_seconds as double))

)

select * from final
