-- one row per signup-week cohort and segment (acquisition channel, account type, e-mail engagement, client kind): conversion of its developers, partitioned by signup week
with members as (

    select * from mart_segment_conversion_members

),

as_of as (

    select max(event_time) as as_of from developer_events

),

final as (

    select
        m.cohort_week,
        m.segment,
        m.segment_value,
        count(*) filter (where m.metric = 'first_call_7d') as developers,
        count(*) filter (where m.metric = 'first_call_7d' and m.converted)
            / count(*) filter (where m.metric = 'first_call_7d') as first_call_7d_rate,
        count(*) filter (where m.metric = 'active_14d' and m.converted)
            / nullif(count(*) filter (where m.metric = 'active_14d'), 0) as active_14d_rate_of_callers,
        count(*) filter (where m.metric = 'production_90d' and m.converted)
            / count(*) filter (where m.metric = 'production_90d') as production_90d_rate,
        quantile_cont(m.ttfac_s, 0.5) filter (where m.metric = 'first_call_7d') as ttfac_p50_s,
        any_value(a.as_of) >= m.cohort_week + interval 97 day as is_complete
    from members as m
    cross join as_of as a
    group by m.cohort_week, m.segment, m.segment_value

)

select * from final
