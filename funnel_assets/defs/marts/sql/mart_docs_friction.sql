-- one row per signup-week cohort and docs page: visitors, re-readers, skimmers and how many of them reached the first successful call, partitioned by signup week
with members as (

    select * from mart_docs_friction_members

),

cohorts as (

    select cohort_week, count(*) as developers, sum(case when first_api_call_at is not null then 1 else 0 end) as callers
    from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)
    group by cohort_week

),

per_page as (

    select
        cohort_week,
        page_path,
        count(*) as visitors,
        sum(views) as views,
        sum(case when reread then 1 else 0 end) as rereaders,
        sum(case when skimmed then 1 else 0 end) as skimmers,
        sum(case when called_ever then 1 else 0 end) as visitors_called,
        sum(case when reread and called_ever then 1 else 0 end) as rereaders_called,
        sum(case when skimmed and called_ever then 1 else 0 end) as skimmers_called
    from members
    group by cohort_week, page_path

),

final as (

    select
        p.cohort_week,
        p.page_path,
        p.visitors,
        p.views,
        p.rereaders,
        p.skimmers,
        p.visitors_called / p.visitors as visitor_call_rate,
        case when p.rereaders > 0 then p.rereaders_called / p.rereaders end as rereader_call_rate,
        case when p.skimmers > 0 then p.skimmers_called / p.skimmers end as skimmer_call_rate,
        case when p.rereaders > 0 then 1 - p.rereaders_called / p.rereaders end as rereader_no_call_rate,
        c.callers / c.developers as cohort_call_rate,
        -- how much more often this page's re-readers never called than the cohort did: the friction ranking
        case when p.rereaders > 0 then (1 - p.rereaders_called / p.rereaders) - (1 - c.callers / c.developers) end
            as rereader_no_call_excess,
        rank() over (
            partition by p.cohort_week
            order by case when p.rereaders > 0 then (p.rereaders - p.rereaders_called) else 0 end desc, p.page_path
        ) as friction_rank
    from per_page as p
    join cohorts as c on c.cohort_week = p.cohort_week

)

select * from final
