-- one row per signup-week cohort and transition: entered, converted within the window, benchmark band, partitioned by signup week
with members as (

    select * from mart_stage_conversion_members

),

transitions as (

    select * from _transitions

),

cohorts as (

    select cast(unnest(generate_series(cast($week_start as date), cast($week_end as date) - interval 7 day, interval 7 day)) as date) as cohort_week

),

as_of as (

    select max(event_time) as as_of from developer_events

),

counts as (

    select
        cohort_week, from_stage, to_stage, window_days,
        count(*) as entered,
        count(*) filter (where converted) as converted
    from members
    group by all

),

grid as (

    select c.cohort_week, t.*
    from cohorts as c
    cross join transitions as t

),

measured as (

    select
        g.*,
        coalesce(n.entered, 0) as entered,
        coalesce(n.converted, 0) as converted,
        case when n.entered > 0 then n.converted / n.entered end as rate_so_far,
        -- complete once no developer can still enter (the from stage's last possible time)
        -- and everyone who entered has had the whole window
        g.cohort_week + interval 7 day
            + case when g.from_stage in ('intent', 'account_created') then interval 0 day
                   else to_days(cast($horizon_days as bigint)) end
            + to_days(cast(g.window_days as bigint)) as complete_at,
        a.as_of
    from grid as g
    cross join as_of as a
    left join counts as n using (cohort_week, from_stage, to_stage, window_days)
    -- a signup week after the data's as-of time has no cohort yet (the files of the weeks after it are gone)
    where a.as_of is null or g.cohort_week <= a.as_of

),

final as (

    select
        cohort_week,
        from_stage,
        to_stage,
        window_days,
        entered,
        converted,
        case when as_of >= complete_at then rate_so_far end as rate,
        rate_so_far,
        as_of >= complete_at as is_complete,
        case
            when as_of < complete_at then 'incomplete'
            when top_quartile is null or rate_so_far is null then null
            when rate_so_far >= top_quartile then 'top_quartile'
            when rate_so_far > median_high then 'above_median'
            when rate_so_far >= median_low then 'median'
            when rate_so_far >= warning then 'below_median'
            else 'warning'
        end as benchmark_band,
        median_low as benchmark_median_low,
        median_high as benchmark_median_high,
        complete_at,
        as_of
    from measured

)

select * from final
