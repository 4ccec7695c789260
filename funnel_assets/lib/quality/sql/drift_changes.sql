-- one row per drifting line and field: fields added to accepted lines, and what each rejected line changed
with accepted_added as (

    select week, file, line, version, unnest(extra_fields) as field, 'added' as change
    from _checked
    where week >= cast($week_start as date) and week < cast($week_end as date)
      and len(extra_fields) > 0

),

rejected as (

    select
        _event_week as week,
        _source_file as file,
        _source_line as line,
        _contract_version as version,
        reason,
        raw_line
    from quarantine
    where source = $source and kind = 'rejected'
      and _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)

),

rejected_broken as (

    select
        week, file, line, version,
        case
            when reason like 'no contract v%' then 'schema_version'
            else regexp_extract(reason, '^(?:missing required field )?([^ ]+)', 1)
        end as field,
        case
            when reason like 'missing required field %' then 'missing'
            when reason like 'no contract v%' then 'unknown contract version'
            when reason like '% must be one of %' then 'value outside the allowed set'
            when reason like '% must be an ISO-8601 timestamp%' then 'not an ISO-8601 timestamp'
            else 'retyped'
        end as change
    from rejected

),

rejected_added as (

    select r.week, r.file, r.line, r.version, k.field, 'added' as change
    from rejected as r, unnest(json_keys(r.raw_line)) as k(field)
    where k.field <> 'schema_version'
      and r.version in (select version from _contract_fields)
      and not exists (
          select 1 from _contract_fields as c where c.version = r.version and c.field = k.field
      )

),

final as (

    select * from accepted_added
    union all select * from rejected_broken
    union all select * from rejected_added

)

select * from final
