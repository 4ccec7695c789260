-- one row per visitor (an anonymous id, or the user its ids are stitched to) with an observed intent, partitioned by intent week
with intent_pages as (

    select *
    from developer_events
    where event_type = 'page_view'
        and len(list_filter(cast($intent_path_prefixes as varchar[]), lambda p: starts_with(page_path, p))) > 0

),

first_intent as (

    select
        visitor_pid,
        min(event_time) as intent_at,
        arg_min(event_id, (event_time, event_id)) as intent_event_id
    from intent_pages
    group by visitor_pid

),

with_accounts as (

    select
        f.*,
        u.user_pid,
        u.created_at as account_created_at
    from first_intent as f
    left join identity_users as u on u.user_pid = f.visitor_pid

),

final as (

    select
        cast(date_trunc('week', intent_at) as date) as intent_week,
        visitor_pid,
        user_pid,
        intent_at,
        intent_event_id,
        account_created_at
    from with_accounts
    -- a user whose first intent page came after sign-up has no observed intent: not a visitor
    where (account_created_at is null or intent_at <= account_created_at)
        and intent_at >= $week_start and intent_at < $week_end

)

select * from final
