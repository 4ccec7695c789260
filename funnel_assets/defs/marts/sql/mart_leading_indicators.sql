-- one row per signup-week cohort and leading indicator: its value, the robust baseline of the trailing complete weeks (median and MAD), the band and whether the week is an anomaly, partitioned by signup week
with stages as (

    -- the partition's weeks and the trailing weeks their baselines need
    select * from developer_stages
    where cohort_week >= cast($history_start as date) and cohort_week < cast($week_end as date)

),

as_of as (

    select max(event_time) as as_of from developer_events

),

requests as (

    select s.cohort_week, s.account_created_at, e.user_pid, e.event_time, e.status
    from developer_events as e
    join stages as s on s.user_pid = e.user_pid
    where e.event_type = 'api_request'

),

first_requests as (

    select user_pid, min(event_time) as first_at from requests group by user_pid

),

first_day_requests as (

    -- the first 24 hours of requests of developers whose first request came in their first 7 days
    select r.*
    from requests as r
    join first_requests as f on f.user_pid = r.user_pid
    where date_diff('second', r.account_created_at, f.first_at) <= 7 * 86400
      and date_diff('second', f.first_at, r.event_time) <= $first_session_hours * 3600

),

first_day_rates as (

    select
        cohort_week,
        count(*) as requests,
        count(distinct user_pid) as requesters,
        sum(case when status not between 200 and 299 then 1 else 0 end) as errors,
        sum(case when status = 401 then 1 else 0 end) as unauthorized,
        sum(case when status = 400 then 1 else 0 end) as bad_requests,
        sum(case when status = 429 then 1 else 0 end) as rate_limited
    from first_day_requests
    group by cohort_week

),

email_opens as (

    select distinct e.user_pid
    from developer_events as e
    join stages as s on s.user_pid = e.user_pid
    where e.event_type = 'email_open' and date_diff('second', s.account_created_at, e.event_time) <= 7 * 86400

),

developers as (

    select
        s.cohort_week,
        s.user_pid,
        s.client_kind,
        s.first_session_depth,
        date_diff('second', s.account_created_at, s.first_api_call_at) as ttfac_s,
        o.user_pid is not null as opened_email_7d
    from stages as s
    left join email_opens as o on o.user_pid = s.user_pid

),

cohorts as (

    select
        cohort_week,
        count(*) as signups,
        sum(case when ttfac_s <= 7 * 86400 then 1 else 0 end) as callers_7d,
        avg(case when ttfac_s <= 86400 then 1 else 0 end) as first_call_1d_share,
        avg(case when ttfac_s <= 7 * 86400 then 1 else 0 end) as first_call_7d_share,
        percentile_cont(0.5) within group (order by case when ttfac_s <= 7 * 86400 then ttfac_s end) as ttfac_p50_s,
        percentile_cont(0.9) within group (order by case when ttfac_s <= 7 * 86400 then ttfac_s end) as ttfac_p90_s,
        avg(case when ttfac_s <= 7 * 86400 then (case when client_kind = 'sdk' then 1 else 0 end) end) as sdk_share,
        avg(case when ttfac_s <= 7 * 86400 then (case when first_session_depth >= 3 then 1 else 0 end) end)
            as depth_3_plus_share,
        avg(case when opened_email_7d then 1 else 0 end) as email_open_7d_share
    from developers
    group by cohort_week

),

values_by_week as (

    -- closes_after_days: days after the cohort week's Monday when every developer's window of the indicator has
    -- closed; sample: the developers a share is of (its binomial noise widens the band); durations are judged
    -- on a log scale (their spread grows with their size)
    select cohort_week, 'signups' as indicator, cast(signups as double) as value, 7 as closes_after_days,
        cast(null as double) as sample, false as log_scale from cohorts
    union all select cohort_week, 'first_call_1d_share', first_call_1d_share, 8, signups, false from cohorts
    union all select cohort_week, 'first_call_7d_share', first_call_7d_share, 14, signups, false from cohorts
    union all select cohort_week, 'ttfac_p50_s', ttfac_p50_s, 14, null, true from cohorts
    union all select cohort_week, 'ttfac_p90_s', ttfac_p90_s, 14, null, true from cohorts
    union all select cohort_week, 'sdk_share', sdk_share, 14, callers_7d, false from cohorts
    union all select cohort_week, 'depth_3_plus_share', depth_3_plus_share, 15, callers_7d, false from cohorts
    union all select cohort_week, 'email_open_7d_share', email_open_7d_share, 14, signups, false from cohorts
    union all select cohort_week, 'first_day_error_rate', errors / requests, 15, requesters, false from first_day_rates
    union all select cohort_week, 'first_day_401_rate', unauthorized / requests, 15, requesters, false from first_day_rates
    union all select cohort_week, 'first_day_400_rate', bad_requests / requests, 15, requesters, false from first_day_rates
    union all select cohort_week, 'first_day_429_rate', rate_limited / requests, 15, requesters, false from first_day_rates

),

judged as (

    select
        v.*,
        case when v.log_scale then ln(greatest(v.value, 1)) else v.value end as scaled,
        date_diff('second', cast(v.cohort_week as timestamp), a.as_of) >= v.closes_after_days * 86400 as is_complete
    from values_by_week as v
    cross join as_of as a

),

trailing_weeks as (

    -- each week with the complete weeks before it, at most baseline_weeks of them
    select t.cohort_week, t.indicator, t.log_scale, t.sample, b.cohort_week as baseline_week, b.scaled as baseline_value
    from judged as t
    join judged as b
        on b.indicator = t.indicator
        and b.is_complete
        and b.value is not null
        and b.cohort_week < t.cohort_week
        and date_diff('day', b.cohort_week, t.cohort_week) <= $baseline_weeks * 7

),

medians as (

    select
        cohort_week,
        indicator,
        min(log_scale) as log_scale,
        min(sample) as sample,
        count(*) as baseline_weeks_used,
        percentile_cont(0.5) within group (order by baseline_value) as baseline
    from trailing_weeks
    group by cohort_week, indicator

),

deviations as (

    select
        t.cohort_week,
        t.indicator,
        percentile_cont(0.5) within group (order by abs(t.baseline_value - m.baseline)) as mad
    from trailing_weeks as t
    join medians as m on m.cohort_week = t.cohort_week and m.indicator = t.indicator
    group by t.cohort_week, t.indicator

),

bands as (

    -- half-width, on the indicator's scale: the largest of anomaly_mads robust standard deviations
    -- (1.4826 MAD), anomaly_min_relative_change of the baseline (a flag is a relative change, not noise
    -- around a flat series) and, for a share, anomaly_mads binomial standard errors of this week's sample
    select
        m.cohort_week,
        m.indicator,
        m.log_scale,
        m.baseline_weeks_used,
        m.baseline,
        greatest(
            $anomaly_mads * 1.4826 * d.mad,
            case when m.log_scale then ln(1 + $anomaly_min_relative_change)
                 else $anomaly_min_relative_change * abs(m.baseline) end,
            case when m.sample > 0 and m.baseline between 0 and 1
                 then $anomaly_mads * sqrt(m.baseline * (1 - m.baseline) / m.sample) else 0 end
        ) as half_width
    from medians as m
    join deviations as d on d.cohort_week = m.cohort_week and d.indicator = m.indicator

),

scaled_bands as (

    select
        cohort_week,
        indicator,
        baseline_weeks_used,
        case when log_scale then exp(baseline) else baseline end as baseline,
        case when log_scale then exp(baseline - half_width) else baseline - half_width end as lower,
        case when log_scale then exp(baseline + half_width) else baseline + half_width end as upper
    from bands

),

final as (

    select
        j.cohort_week,
        j.indicator,
        j.value,
        b.baseline,
        b.lower,
        b.upper,
        coalesce(b.baseline_weeks_used, 0) as baseline_weeks_used,
        case when b.baseline <> 0 then j.value / b.baseline - 1 end as relative_change,
        coalesce(
            j.is_complete and b.baseline_weeks_used >= $min_baseline_weeks
            and (j.value > b.upper or j.value < b.lower),
            false
        ) as is_anomaly,
        case
            when not j.is_complete or coalesce(b.baseline_weeks_used, 0) < $min_baseline_weeks then null
            when j.value > b.upper then 'up'
            when j.value < b.lower then 'down'
        end as direction,
        j.is_complete
    from judged as j
    left join scaled_bands as b on b.cohort_week = j.cohort_week and b.indicator = j.indicator
    where j.cohort_week >= cast($week_start as date) and j.cohort_week < cast($week_end as date)

)

select * from final
