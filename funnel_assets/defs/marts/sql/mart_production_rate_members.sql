-- one row per developer of a signup-week cohort and horizon (30, 60, 90 days): in production within it or not, partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

horizons as (

    select unnest([30, 60, 90]) as days

),

final as (

    select
        s.cohort_week,
        h.days,
        s.user_pid,
        coalesce(s.production_deployment_at <= s.account_created_at + to_days(cast(h.days as bigint)), false)
            as converted
    from stages as s
    cross join horizons as h

)

select * from final
