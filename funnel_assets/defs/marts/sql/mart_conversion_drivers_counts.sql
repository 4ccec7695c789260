-- one row per target signup week, factor and value: developers and converted over the complete cohorts of the pool ending at the target week (the counts mart_conversion_drivers turns into odds ratios)
with members as (

    select * from mart_conversion_drivers_members where is_complete

),

targets as (

    select distinct cohort_week from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

pooled as (

    select t.cohort_week as target_week, m.*
    from targets as t
    join members as m
        on m.cohort_week <= t.cohort_week
        and date_diff('day', m.cohort_week, t.cohort_week) < $driver_pool_weeks * 7

),

factors as (

    select target_week, 'client_kind' as factor, client_kind as value, converted, cohort_week from pooled
    union all select target_week, 'first_session_depth', depth_band, converted, cohort_week from pooled
    union all select target_week, '401_before_first_success', error_401_before_success, converted, cohort_week from pooled
    union all select target_week, '400_before_first_success', error_400_before_success, converted, cohort_week from pooled
    union all select target_week, '429_before_first_success', error_429_before_success, converted, cohort_week from pooled
    union all select target_week, 'email_engagement', email_engagement, converted, cohort_week from pooled
    union all select target_week, 'channel', channel, converted, cohort_week from pooled
    union all select target_week, 'account_type', account_type, converted, cohort_week from pooled
    union all select target_week, 'docs_reread', docs_reread, converted, cohort_week from pooled
    union all select target_week, 'signup_day', signup_day, converted, cohort_week from pooled

),

final as (

    select
        target_week as cohort_week,
        factor,
        value,
        count(*) as developers,
        sum(case when converted then 1 else 0 end) as converted,
        min(cohort_week) as pooled_from,
        max(cohort_week) as pooled_to,
        count(distinct cohort_week) as cohorts_pooled
    from factors
    group by target_week, factor, value

)

select * from final
