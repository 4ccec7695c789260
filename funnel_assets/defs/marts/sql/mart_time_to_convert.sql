-- one row per signup-week cohort, transition and time bin (minutes, hours, days): developers whose to stage came that long after their from stage, partitioned by signup week
with members as (

    select * from mart_stage_conversion_members
    where to_at is not null

),

bins as (

    -- upper ends inclusive, so a bin ending at a window's length holds the conversions on its boundary
    select * from (values
        (0, 'before from', 0),
        (1, 'under 10 min', 600),
        (2, '10-60 min', 3600),
        (3, '1-6 h', 6 * 3600),
        (4, '6-24 h', 86400),
        (5, '1-3 d', 3 * 86400),
        (6, '3-7 d', 7 * 86400),
        (7, '7-14 d', 14 * 86400),
        (8, '14-30 d', 30 * 86400),
        (9, 'over 30 d', null)
    ) as b(bin_order, bin, upper_s)

),

binned as (

    select
        m.cohort_week, m.from_stage, m.to_stage, m.window_days, m.user_pid,
        case
            when m.to_at < m.from_at then 0
            else (select min(b.bin_order) from bins as b
                  where b.bin_order > 0 and (b.upper_s is null or epoch(m.to_at - m.from_at) <= b.upper_s))
        end as bin_order
    from members as m

),

cells as (

    select distinct cohort_week, from_stage, to_stage, window_days from binned

),

counts as (

    select cohort_week, from_stage, to_stage, window_days, bin_order, count(*) as developers
    from binned
    group by all

),

final as (

    select
        c.cohort_week,
        c.from_stage,
        c.to_stage,
        c.window_days,
        b.bin_order,
        b.bin,
        b.upper_s,
        b.upper_s is not null and b.upper_s <= c.window_days * 86400 as within_window,
        coalesce(n.developers, 0) as developers,
        coalesce(n.developers, 0) / sum(coalesce(n.developers, 0)) over (partition by c.cohort_week, c.from_stage, c.to_stage, c.window_days) as share,
        sum(coalesce(n.developers, 0)) over (partition by c.cohort_week, c.from_stage, c.to_stage, c.window_days order by b.bin_order)
            / sum(coalesce(n.developers, 0)) over (partition by c.cohort_week, c.from_stage, c.to_stage, c.window_days)
            as cumulative_share
    from cells as c
    cross join bins as b
    left join counts as n using (cohort_week, from_stage, to_stage, window_days, bin_order)

)

select * from final
