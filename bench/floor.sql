-- The floor: the same marts computed by one hand-written DuckDB script straight from
-- the landing files, with none of the pipeline's contract checks, quarantine,
-- lineage, pseudonymisation, identity store or partitioned writes.
-- Parameter: $landing (the landing folder).
create or replace temp table users as
select * from read_json($landing || '/auth_users/*.jsonl*', format = 'newline_delimited',
    columns = {user_id: 'VARCHAR', account_type: 'VARCHAR', created_at: 'TIMESTAMPTZ'});

create or replace temp table keys as
select * from read_json($landing || '/api_keys/*.jsonl*', format = 'newline_delimited',
    columns = {key_id: 'VARCHAR', user_id: 'VARCHAR', mode: 'VARCHAR', created_at: 'TIMESTAMPTZ', revoked_at: 'TIMESTAMPTZ'});

create or replace temp table requests as
select r.request_id, r.timestamp, r.status, r.user_agent, k.user_id, k.mode,
       upper(r.method) || ' ' || array_to_string(list_transform(string_split(split_part(r.path, '?', 1), '/'),
           lambda s: case when regexp_full_match(s, 'v[0-9]+') then s when regexp_matches(s, '[0-9]') then '{id}'
                          when regexp_full_match(s, '[0-9a-fA-F-]{32,36}') then '{id}' else s end), '/') as endpoint
from read_json($landing || '/gateway_requests/*.jsonl*', format = 'newline_delimited',
    columns = {request_id: 'VARCHAR', timestamp: 'TIMESTAMPTZ', key_id: 'VARCHAR', method: 'VARCHAR',
               path: 'VARCHAR', status: 'INTEGER', user_agent: 'VARCHAR'}) as r
join keys as k on k.key_id = r.key_id and r.timestamp >= k.created_at and (k.revoked_at is null or r.timestamp < k.revoked_at);

create or replace temp table analytics as
select a.message_id, a.type, a.event, a.timestamp, coalesce(a.user_id, l.user_id) as user_id,
       coalesce(a.user_id, l.user_id, a.anonymous_id) as visitor, a.properties ->> 'path' as path,
       a.properties ->> 'environment' as environment
from read_json($landing || '/analytics_events/*.jsonl*', format = 'newline_delimited',
    columns = {message_id: 'VARCHAR', type: 'VARCHAR', event: 'VARCHAR', anonymous_id: 'VARCHAR', user_id: 'VARCHAR',
               timestamp: 'TIMESTAMPTZ', properties: 'JSON'}) as a
left join (
    select anonymous_id, arg_min(user_id, timestamp) as user_id
    from read_json($landing || '/analytics_events/*.jsonl*', format = 'newline_delimited',
        columns = {anonymous_id: 'VARCHAR', user_id: 'VARCHAR', timestamp: 'TIMESTAMPTZ'})
    where anonymous_id is not null and user_id is not null group by 1
) as l on l.anonymous_id = a.anonymous_id;

create or replace temp table ok as
select * from requests where status between 200 and 299;

create or replace temp table stages as
with first_call as (
    select user_id, min(timestamp) as reached_at, arg_min(user_agent, timestamp) as agent from ok group by 1
),
sessions as (
    select *, sum(case when gap is null or gap >= interval 30 minute then 1 else 0 end)
        over (partition by user_id order by timestamp) as session_no
    from (select *, timestamp - lag(timestamp) over (partition by user_id order by timestamp) as gap from ok)
),
active as (
    select user_id, min(first_at) as reached_at from (
        select user_id, session_no, endpoint, min(timestamp) as first_at from sessions group by user_id, session_no, endpoint
        qualify row_number() over (partition by user_id, session_no order by first_at) = 2
    ) group by 1
),
production as (
    select user_id, min(reached_at) as reached_at from (
        select user_id, timestamp as reached_at from ok where mode = 'live'
        union all select user_id, timestamp from analytics
        where event = 'webhook_endpoint_registered' and environment = 'production'
    ) group by 1
),
depth as (
    select o.user_id, count(distinct o.endpoint) as depth from ok as o join first_call as f using (user_id)
    where o.timestamp between f.reached_at and f.reached_at + interval 24 hour group by 1
),
intent as (
    select user_id, min(timestamp) as reached_at from analytics
    where type = 'page' and (path like '/docs%' or path like '/pricing%' or path like '/signup%') group by 1
)
select u.user_id, cast(date_trunc('week', u.created_at) as date) as cohort_week, u.created_at,
       least(i.reached_at, u.created_at) as intent_at,
       (select min(created_at) from keys k where k.user_id = u.user_id) as key_at,
       f.reached_at as call_at, f.agent,
       (select min(timestamp) from analytics m where m.user_id = u.user_id and m.event = 'quickstart_completed') as milestone_at,
       a.reached_at as active_at, p.reached_at as production_at, coalesce(d.depth, 0) as depth
from users as u
left join intent as i using (user_id) left join first_call as f using (user_id) left join active as a using (user_id)
left join production as p using (user_id) left join depth as d using (user_id);

create or replace temp table floor_ttfac as
select cohort_week, count(*) as developers, count(call_at) as called,
       quantile_cont(epoch(call_at - created_at), [0.25, 0.5, 0.75, 0.9]) as percentiles
from stages group by 1;

create or replace temp table floor_production as
select cohort_week, count(*) as developers,
       avg(case when production_at <= created_at + interval 30 day then 1.0 else 0 end) as rate_30d,
       avg(case when production_at <= created_at + interval 60 day then 1.0 else 0 end) as rate_60d,
       avg(case when production_at <= created_at + interval 90 day then 1.0 else 0 end) as rate_90d
from stages group by 1;

create or replace temp table floor_conversion as
select cohort_week,
       count(*) filter (where call_at <= created_at + interval 7 day) / count(*) as signup_to_call_7d,
       count(*) filter (where active_at <= call_at + interval 14 day) / count(call_at) as call_to_active_14d,
       count(*) filter (where production_at <= active_at + interval 30 day) / count(active_at) as active_to_production_30d,
       count(*) filter (where key_at <= created_at + interval 7 day) / count(*) as signup_to_key_7d,
       count(*) filter (where milestone_at <= call_at + interval 7 day) / count(call_at) as call_to_milestone_7d
from stages group by 1;

create or replace temp table floor_depth as
select cohort_week, depth, count(*) as developers,
       avg(case when production_at <= created_at + interval 90 day then 1.0 else 0 end) as production_rate
from stages where call_at is not null group by all;

create or replace temp table floor_sdk as
select s.cohort_week, r.user_agent, count(*) as requests
from requests as r join stages as s using (user_id) group by all;
