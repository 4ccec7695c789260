-- rows of later weeks repeating the unique key of a row of these weeks: duplicates the raw table still holds
-- (a later week ingested before an earlier one); re-materialising the later week quarantines them.
-- A state source's later versions are no copies: only one taken for the entity's first version counts
-- (first_version null while these weeks hold an earlier one); re-materialising the later week links it.
with these_weeks as (

    select week, file, line, unique_key from _checked
    where week >= cast($week_start as date) and week < cast($week_end as date)

),

later_weeks as (

    select week, file, line, unique_key from _checked
    where week >= cast($week_end as date) and first_version is null

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
