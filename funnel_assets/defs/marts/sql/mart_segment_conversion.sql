-- one row per signup-week cohort and segment (acquisition channel, account type, e-mail engagement, client kind): conversion of its developers, partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

as_of as (

    select max(event_time) as as_of from developer_events

),

segmented as (

    select cohort_week, 'channel' as segment, channel as segment_value, * exclude (cohort_week) from stages
    union all by name
    select cohort_week, 'account_type' as segment, account_type as segment_value, * exclude (cohort_week) from stages
    union all by name
    select cohort_week, 'email_engagement' as segment, email_engagement as segment_value, * exclude (cohort_week) from stages
    union all by name
    select cohort_week, 'client_kind' as segment, client_kind as segment_value, * exclude (cohort_week) from stages

),

final as (

    select
        g.cohort_week,
        g.segment,
        g.segment_value,
        count(*) as developers,
        count(*) filter (where g.first_api_call_at <= g.account_created_at + interval 7 day) / count(*)
            as first_call_7d_rate,
        count(*) filter (where g.active_integration_at <= g.first_api_call_at + interval 14 day)
            / nullif(count(g.first_api_call_at), 0) as active_14d_rate_of_callers,
        count(*) filter (where g.production_deployment_at <= g.account_created_at + interval 90 day) / count(*)
            as production_90d_rate,
        quantile_cont(epoch(g.first_api_call_at - g.account_created_at), 0.5) as ttfac_p50_s,
        any_value(a.as_of) >= g.cohort_week + interval 97 day as is_complete
    from segmented as g
    cross join as_of as a
    group by g.cohort_week, g.segment, g.segment_value

)

select * from final
