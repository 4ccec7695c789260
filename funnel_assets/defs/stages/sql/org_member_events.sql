-- one row per event of an organisation's developer, the developer named by member_pid (org/user), for the organisations of the run's weeks
with members as (

    select * from _org_members

),

developers as (

    -- the developers of the organisations of these weeks: only their events can count for them
    select distinct user_pid from members
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

events as (

    select e.*
    from developer_events as e
    semi join developers as d using (user_pid)

),

key_issues as (

    select * from identity_key_owners
    where org_pid is not null

),

key_events as (

    -- a request or key creation counts for the organisation that owned the key
    -- at the time, wherever its developer went later
    select e.*, k.org_pid
    from events as e
    join key_issues as k
        on k.key_pid = e.key_pid
        and e.event_time >= k.valid_from
        and e.event_time < coalesce(k.valid_to, timestamptz '9999-12-31 00:00:00+00')

),

other_events as (

    -- an event without a key counts for the organisation the developer joined last before it
    select e.*, m.org_pid
    from events as e
    join members as m on m.user_pid = e.user_pid and m.joined_at <= e.event_time
    where e.key_pid is null
    qualify row_number() over (partition by e.user_pid, e.event_id order by m.joined_at desc, m.org_pid) = 1

),

attributed as (

    select * from key_events
    union all
    select * from other_events

),

final as (

    select a.* exclude (user_pid, org_pid), m.member_pid as user_pid
    from attributed as a
    join members as m using (org_pid, user_pid)
    where m.cohort_week >= cast($week_start as date) and m.cohort_week < cast($week_end as date)

)

select * from final
