-- one row per signup-week cohort: the benchmark transition furthest below its benchmark median, partitioned by signup week
with conversion as (

    select * from mart_stage_conversion
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)
        and benchmark_median_low is not null

),

ranked as (

    select
        *,
        rate - benchmark_median_low as gap_to_median,
        row_number() over (partition by cohort_week order by rate - benchmark_median_low, from_stage) as position
    from conversion
    where is_complete and rate is not null

),

cohorts as (

    select distinct cohort_week from conversion

),

final as (

    -- a cohort with no complete benchmark row yet has no bottleneck: it is reported, with nulls
    select
        c.cohort_week,
        r.from_stage,
        r.to_stage,
        r.window_days,
        r.rate,
        r.benchmark_median_low,
        r.gap_to_median,
        r.benchmark_band,
        r.cohort_week is not null as is_complete
    from cohorts as c
    left join ranked as r on r.cohort_week = c.cohort_week and r.position = 1

)

select * from final
