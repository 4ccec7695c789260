-- one row per signup-week cohort and transition: entered, converted within the window, benchmark band, partitioned by signup week
with stages as (

    select * from developer_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

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

reached as (

    unpivot (
        select
            cohort_week, user_pid, account_created_at as signup_at,
            intent_at as intent,
            account_created_at as account_created,
            credential_provisioned_at as credential_provisioned,
            first_api_call_at as first_api_call,
            first_integration_milestone_at as first_integration_milestone,
            active_integration_at as active_integration,
            production_deployment_at as production_deployment
        from stages
    )
    on intent, account_created, credential_provisioned, first_api_call,
       first_integration_milestone, active_integration, production_deployment
    into name stage value reached_at

),

developer_outcomes as (

    -- a from stage past the horizon does not count: the cohort is followed for horizon_days
    select
        f.cohort_week,
        t.from_stage,
        t.to_stage,
        t.window_days,
        f.user_pid,
        o.reached_at <= f.reached_at + to_days(cast(t.window_days as bigint)) as converted
    from transitions as t
    join reached as f on f.stage = t.from_stage
    left join reached as o on o.user_pid = f.user_pid and o.stage = t.to_stage
    where not (t.from_stage = 'intent' and t.to_stage = 'account_created')
        and (t.from_stage in ('intent', 'account_created')
             or f.reached_at <= f.signup_at + to_days(cast($horizon_days as bigint)))

),

visitor_outcomes as (

    -- the top of the funnel is counted over visitors, by the week of their intent
    select
        v.intent_week as cohort_week,
        t.from_stage,
        t.to_stage,
        t.window_days,
        v.visitor_pid as user_pid,
        v.account_created_at <= v.intent_at + to_days(cast(t.window_days as bigint)) as converted
    from visitor_intents as v
    join transitions as t on t.from_stage = 'intent' and t.to_stage = 'account_created'
    where v.intent_week >= cast($week_start as date) and v.intent_week < cast($week_end as date)

),

counts as (

    select
        cohort_week, from_stage, to_stage, window_days,
        count(*) as entered,
        count(*) filter (where converted) as converted
    from (select * from developer_outcomes union all select * from visitor_outcomes)
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
