-- analytics events with no resolvable user: a user id the identity map does not know, or no id at all
-- (anonymous page views of visitors who never sign up are not in this set)
with events as (

    select user_id, anonymous_id, _event_week, _source_file, _source_line from raw_analytics_events
    where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)

),

users as (

    select user_id, pseudo(user_id) as user_pid
    from (select distinct user_id from events where user_id is not null)

),

unknown as (

    select * from users
    where user_pid not in (select user_pid from identity_users)

),

final as (

    select e._event_week as week, e._source_file as file, e._source_line as line, u.user_pid,
           case when u.user_pid is null then 'no user id or anonymous id' else 'unknown user id' end as problem
    from events as e
    left join unknown as u using (user_id)
    where u.user_pid is not null or (e.user_id is null and e.anonymous_id is null)

)

select * from final
