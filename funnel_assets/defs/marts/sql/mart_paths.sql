-- one row per signup-week cohort, path transition, outcome (converted or not) and path among the most common: developers, share of the outcome's developers, median time to convert, partitioned by signup week
with members as (

    select * from mart_paths_members

),

counted as (

    select
        cohort_week, from_stage, to_stage, converted, path,
        max(steps) as steps,
        count(*) as developers,
        percentile_cont(0.5) within group (order by seconds_to_convert) as median_seconds_to_convert,
        min(detour) as detour
    from members
    group by cohort_week, from_stage, to_stage, converted, path

),

ranked as (

    select
        *,
        developers / sum(developers) over (partition by cohort_week, from_stage, to_stage, converted) as share,
        row_number() over (
            partition by cohort_week, from_stage, to_stage, converted order by developers desc, path
        ) as path_rank
    from counted

),

final as (

    select
        cohort_week, from_stage, to_stage, converted, path_rank, path, steps, developers, share,
        median_seconds_to_convert, detour
    from ranked
    where path_rank <= $paths_kept

)

select * from final
