-- one row per developer of a signup-week cohort and docs page they viewed: views, re-read sittings, skims, and whether they reached the first successful call after it, partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

page_views as (

    select s.cohort_week, e.user_pid, e.event_id, e.event_time, e.page_path
    from developer_events as e
    join stages as s on s.user_pid = e.user_pid
    where e.event_type = 'page_view'

),

ordered as (

    -- a sitting ends after a gap of session_gap_minutes; a page left for the next one within skim_seconds is a skim
    select
        *,
        date_diff('second', lag(event_time) over (partition by user_pid order by event_time, event_id), event_time)
            as seconds_since_previous,
        date_diff('second', event_time, lead(event_time) over (partition by user_pid order by event_time, event_id))
            as seconds_on_page
    from page_views

),

sittings as (

    select
        *,
        sum(case when seconds_since_previous is null or seconds_since_previous >= $session_gap_minutes * 60 then 1 else 0 end)
            over (partition by user_pid order by event_time, event_id rows between unbounded preceding and current row)
            as sitting_no
    from ordered

),

docs_views as (

    select * from sittings where page_path like $docs_path_prefix || '%'

),

reads_per_sitting as (

    select cohort_week, user_pid, page_path, sitting_no, count(*) as reads, min(event_time) as first_at
    from docs_views
    group by cohort_week, user_pid, page_path, sitting_no

),

per_page as (

    select
        r.cohort_week,
        r.user_pid,
        r.page_path,
        sum(r.reads) as views,
        sum(case when r.reads >= $reread_min_views then 1 else 0 end) as reread_sittings,
        min(r.first_at) as first_viewed_at,
        min(case when r.reads >= $reread_min_views then r.first_at end) as first_reread_at
    from reads_per_sitting as r
    group by r.cohort_week, r.user_pid, r.page_path

),

skims as (

    select user_pid, page_path, count(*) as skims
    from docs_views
    where seconds_on_page is not null and seconds_on_page < $skim_seconds
    group by user_pid, page_path

),

final as (

    select
        p.cohort_week,
        p.user_pid,
        p.page_path,
        p.views,
        p.reread_sittings,
        p.reread_sittings > 0 as reread,
        coalesce(k.skims, 0) as skims,
        coalesce(k.skims, 0) > 0 as skimmed,
        p.first_viewed_at,
        p.first_reread_at,
        s.first_api_call_at is not null and s.first_api_call_at >= p.first_viewed_at as called_after,
        s.first_api_call_at is not null as called_ever
    from per_page as p
    join stages as s on s.user_pid = p.user_pid
    left join skims as k on k.user_pid = p.user_pid and k.page_path = p.page_path

)

select * from final
