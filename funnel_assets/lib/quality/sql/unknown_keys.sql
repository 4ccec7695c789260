-- requests whose key id is absent from the identity map (each distinct key hashed once, not each request)
with requests as (

    select key_id, _event_week, _source_file, _source_line from raw_gateway_requests
    where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)

),

keys as (

    select key_id, pseudo(key_id) as key_pid
    from (select distinct key_id from requests)

),

unknown as (

    select * from keys
    where key_pid not in (select key_pid from identity_key_owners)

),

final as (

    select r._event_week as week, r._source_file as file, r._source_line as line, u.key_pid
    from requests as r
    join unknown as u using (key_id)

)

select * from final
