-- one row per organisation and developer who joined it (signed up in it, or was issued one of its keys), with the organisation's cohort week
with users as (

    select * from identity_users

),

key_issues as (

    select * from identity_key_owners
    where org_pid is not null

),

joins as (

    -- individuals stay out: a developer joins an organisation by signing up
    -- as one of its team or by being issued one of its keys
    select user_pid, org_pid, created_at as joined_at, 'user:' || user_pid as event_id
    from users
    where account_type = 'organization' and org_pid is not null
    union all
    select user_pid, org_pid, valid_from as joined_at, 'key:' || key_pid || ':' || epoch_ms(valid_from) as event_id
    from key_issues

),

first_joins as (

    select
        org_pid,
        user_pid,
        min(joined_at) as joined_at,
        arg_min(event_id, (joined_at, event_id)) as joined_event_id
    from joins
    group by all

),

final as (

    select
        org_pid || '/' || user_pid as member_pid,
        org_pid,
        user_pid,
        joined_at,
        joined_event_id,
        min(joined_at) over (partition by org_pid) as org_created_at,
        cast(date_trunc('week', min(joined_at) over (partition by org_pid)) as date) as cohort_week
    from first_joins

)

select * from final
