-- one row per anonymous id seen together with a user id (identify, or any event carrying both)
with events as (

    select * from raw_analytics_events
    where anonymous_id is not null and user_id is not null

),

final as (

    select
        pseudo(anonymous_id) as anonymous_pid,
        pseudo(arg_min(user_id, (corrected_timestamp, message_id))) as user_pid,
        min(corrected_timestamp) as linked_at,
        'landing' as source
    from events
    group by anonymous_id

)

select * from final
