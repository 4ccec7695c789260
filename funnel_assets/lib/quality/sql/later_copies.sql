-- rows of later weeks repeating the unique key of a row of these weeks: duplicates the raw table still holds
-- (a later week ingested before an earlier one); re-materialising the later week quarantines them
with these_weeks as (

    select week, file, line, unique_key from _checked
    where week >= cast($week_start as date) and week < cast($week_end as date)

),

later_weeks as (

    select week, file, line, unique_key from _checked
    where week >= cast($week_end as date)

),

final as (

    select
        t.week,
        l.file,
        l.line,
        l.week as later_week,
        'repeats ' || t.file || ':' || t.line as reason
    from later_weeks as l
    join these_weeks as t using (unique_key)

)

select * from final
