-- one row per week of the run: landing lines read, and where they went (raw rows, quarantine by kind)
with weeks as (

    select cast(unnest(generate_series(
        cast($week_start as date), cast($week_end as date) - interval 7 day, interval 7 day
    )) as date) as week

),

read_files as (

    select _event_week as week, count(*) as files, sum(input_lines) as input_lines
    from ingested_files
    where source = $source
      and _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)
    group by all

),

accepted as (

    -- history: versions of a state source's entities that a later version supersedes (accepted, not duplicates)
    select week, count(*) as accepted, count(*) filter (where len(extra_fields) > 0) as extra_field_lines,
           count(*) filter (where is_history) as history
    from _checked
    where week >= cast($week_start as date) and week < cast($week_end as date)
    group by all

),

quarantined as (

    select
        _event_week as week,
        count(*) filter (where kind = 'unreadable') as unreadable,
        count(*) filter (where kind = 'rejected') as rejected,
        count(*) filter (where kind = 'duplicate') as duplicates
    from quarantine
    where source = $source
      and _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)
    group by all

),

final as (

    select
        w.week,
        coalesce(r.files, 0) as files,
        coalesce(r.input_lines, 0) as input_lines,
        coalesce(a.accepted, 0) as accepted,
        coalesce(a.extra_field_lines, 0) as extra_field_lines,
        coalesce(a.history, 0) as history,
        coalesce(q.unreadable, 0) as unreadable,
        coalesce(q.rejected, 0) as rejected,
        coalesce(q.duplicates, 0) as duplicates
    from weeks as w
    left join read_files as r using (week)
    left join accepted as a using (week)
    left join quarantined as q using (week)

)

select * from final order by week
