-- one row per developer of a signup-week cohort, segment and measure (first call in 7 d, active in 14 d of the first call, production in 90 d) they are counted in, partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

segmented as (

    select cohort_week, 'channel' as segment, channel as segment_value, * exclude (cohort_week) from stages
    union all
    select cohort_week, 'account_type' as segment, account_type as segment_value, * exclude (cohort_week) from stages
    union all
    select cohort_week, 'email_engagement' as segment, email_engagement as segment_value, * exclude (cohort_week) from stages
    union all
    select cohort_week, 'client_kind' as segment, client_kind as segment_value, * exclude (cohort_week) from stages

),

measured as (

    -- active within 14 days is counted over the developers who called
    select
        g.cohort_week, g.segment, g.segment_value, g.user_pid,
        epoch(g.first_api_call_at - g.account_created_at) as ttfac_s,
        m.metric,
        coalesce(case m.metric
            when 'first_call_7d' then g.first_api_call_at <= g.account_created_at + interval 7 day
            when 'active_14d' then g.active_integration_at <= g.first_api_call_at + interval 14 day
            when 'production_90d' then g.production_deployment_at <= g.account_created_at + interval 90 day
        end, false) as converted
    from segmented as g
    cross join (select unnest(['first_call_7d', 'active_14d', 'production_90d']) as metric) as m
    where m.metric <> 'active_14d' or g.first_api_call_at is not null

),

final as (

    select * from measured

)

select * from final
