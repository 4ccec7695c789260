-- one row per attributed event (auth, key, API request, analytics, e-mail, ticket), partitioned by event week;
-- free text copied from raw goes through scrub() (lib/scrub.py): no e-mail address, token or secret leaves raw
with signups as (

    select * from raw_auth_users
    where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)
      and _first_version is null  -- one event per user: its first version, not each later one

),

keys as (

    select * from raw_api_keys
    where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)
      and _first_version is null  -- one event per key issue: its first version, not each later one

),

requests as (

    select * from raw_gateway_requests
    where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)

),

analytics as (

    select * from raw_analytics_events
    where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)

),

emails as (

    select * from raw_email_events
    where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)

),

tickets as (

    select * from raw_support_tickets
    where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)
      and _first_version is null  -- one event per ticket, when it was opened: not each later update

),

request_key_owners as materialized (

    -- the few keys of these requests with their owners, small and built first:
    -- joined the other way round the planner misjudges the pseudonymised key and
    -- pairs every request with every key on the time range alone
    select
        k.key_id,
        o.key_pid,
        o.user_pid,
        o.mode,
        o.valid_from,
        coalesce(o.valid_to, timestamptz '9999-12-31 00:00:00+00') as valid_to
    from (select distinct key_id from requests) as k
    join identity_key_owners as o on o.key_pid = pseudo(k.key_id)

),

request_methods as (

    select distinct method, scrub(upper(method)) as shown from requests

),

request_clients as (

    select user_agent, client_kind, scrub(client_name) as client_name from _client_classes

),

attributed_requests as (

    -- a key belongs to its user from created_at until revoked_at
    select
        r.*,
        o.key_pid,
        o.user_pid,
        o.mode as key_mode,
        p.route
    from requests as r
    join request_key_owners as o using (key_id)
    join _path_routes as p on p.bare_path = split_part(r.path, '?', 1)
    -- validity windows of one key never overlap (identity_key_owners), so each request has at most one owner
    where r.timestamp >= o.valid_from and r.timestamp < o.valid_to

),

request_events as (

    select
        scrub_id(r.request_id) as event_id,
        r.timestamp as event_time,
        'gateway' as source,
        'api_request' as event_type,
        r.user_pid,
        r.user_pid as visitor_pid,
        r.key_pid,
        r.key_mode,
        m.shown as method,
        r.route,
        m.shown || ' ' || r.route as endpoint,
        r.status,
        coalesce(c.client_kind, 'unknown') as client_kind,
        coalesce(c.client_name, 'unknown') as client_name,
        null as page_path,
        null as channel,
        null as event_name,
        null as environment,
        null as campaign,
        r._source_file,
        r._source_line,
        r._event_week
    from attributed_requests as r
    join request_methods as m on m.method is not distinct from r.method
    left join request_clients as c on c.user_agent = r.user_agent

),

analytics_attributed as (

    select
        a.*,
        pseudo(a.anonymous_id) as anonymous_pid,
        coalesce(pseudo(a.user_id), l.user_pid) as user_pid,
        a.properties ->> 'path' as raw_path,
        lower(a.properties ->> 'utm_medium') as utm_medium,
        lower(regexp_extract(coalesce(a.properties ->> 'referrer', ''), '^[a-zA-Z]+://([^/:?#]+)', 1)) as referrer_host
    from analytics as a
    left join identity_anonymous_links as l on l.anonymous_pid = pseudo(a.anonymous_id)

),

analytics_events as (

    select
        scrub_id(message_id) as event_id,
        -- the client's clock corrected by the collector's (Segment's rule), see raw ingestion
        corrected_timestamp as event_time,
        'analytics' as source,
        case type when 'page' then 'page_view' else type end as event_type,
        user_pid,
        coalesce(user_pid, anonymous_pid) as visitor_pid,
        null as key_pid,
        null as key_mode,
        null as method,
        null as route,
        null as endpoint,
        null as status,
        null as client_kind,
        null as client_name,
        scrub(split_part(raw_path, '?', 1)) as page_path,
        case
            when type <> 'page' then null
            when utm_medium in (select unnest(cast($paid_utm_mediums as varchar[]))) then 'paid'
            when len(list_filter(cast($search_engines as varchar[]), lambda d: contains(referrer_host, d))) > 0 then 'organic_search'
            when len(list_filter(cast($product_listings as varchar[]), lambda d: referrer_host = d or ends_with(referrer_host, '.' || d))) > 0 then 'product_listing'
            else 'other'
        end as channel,
        scrub(event) as event_name,
        scrub(properties ->> 'environment') as environment,
        null as campaign,
        _source_file,
        _source_line,
        _event_week
    from analytics_attributed
    where user_pid is not null or anonymous_pid is not null

),

signup_events as (

    select
        'user:' || pseudo(user_id) as event_id,
        created_at as event_time,
        'auth' as source,
        'account_created' as event_type,
        pseudo(user_id) as user_pid,
        pseudo(user_id) as visitor_pid,
        null as key_pid, null as key_mode, null as method, null as route, null as endpoint, null as status,
        null as client_kind, null as client_name, null as page_path, null as channel, null as event_name,
        null as environment, null as campaign,
        _source_file,
        _source_line,
        _event_week
    from signups

),

key_events as (

    select
        'key:' || pseudo(key_id) || ':' || epoch_ms(created_at) as event_id,
        created_at as event_time,
        'auth' as source,
        'key_created' as event_type,
        pseudo(user_id) as user_pid,
        pseudo(user_id) as visitor_pid,
        pseudo(key_id) as key_pid,
        mode as key_mode,
        null as method, null as route, null as endpoint, null as status,
        null as client_kind, null as client_name, null as page_path, null as channel, null as event_name,
        null as environment, null as campaign,
        _source_file,
        _source_line,
        _event_week
    from keys

),

email_events as (

    select
        scrub_id(e.event_id) as event_id,
        e.timestamp as event_time,
        'email' as source,
        'email_' || e.event as event_type,
        u.user_pid,
        u.user_pid as visitor_pid,
        null as key_pid, null as key_mode, null as method, null as route, null as endpoint, null as status,
        null as client_kind, null as client_name, null as page_path, null as channel, null as event_name,
        null as environment,
        scrub(e.campaign) as campaign,
        e._source_file,
        e._source_line,
        e._event_week
    from emails as e
    join identity_users as u on u.email_pid = pseudo(lower(trim(e.email)))

),

ticket_events as (

    select
        scrub_id(t.ticket_id) as event_id,
        t.created_at as event_time,
        'support' as source,
        'support_ticket' as event_type,
        u.user_pid,
        u.user_pid as visitor_pid,
        null as key_pid, null as key_mode, null as method, null as route, null as endpoint, null as status,
        null as client_kind, null as client_name, null as page_path, null as channel, null as event_name,
        null as environment, null as campaign,
        t._source_file,
        t._source_line,
        t._event_week
    from tickets as t
    join identity_users as u on u.email_pid = pseudo(lower(trim(t.email)))

),

unioned as (

    select * from request_events
    union all select * from analytics_events
    union all select * from signup_events
    union all select * from key_events
    union all select * from email_events
    union all select * from ticket_events

),

final as (

    select
        event_id,
        _event_week as event_week,
        event_time,
        source,
        event_type,
        user_pid,
        visitor_pid,
        key_pid,
        key_mode,
        method,
        route,
        endpoint,
        cast(status as integer) as status,
        client_kind,
        client_name,
        page_path,
        channel,
        event_name,
        environment,
        campaign,
        _source_file,
        _source_line,
        _event_week
    from unioned

)

select * from final
