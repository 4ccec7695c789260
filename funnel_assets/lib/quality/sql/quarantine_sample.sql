-- a few quarantined lines of one kind per week: lineage and reason only (the raw text may hold personal data)
select
    _event_week as week,
    _source_file as file,
    _source_line as line,
    _contract_version as contract_version,
    reason
from quarantine
where source = $source
  and kind = $kind
  and _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)
qualify row_number() over (partition by _event_week order by _source_file, _source_line) <= $per_week
order by week, file, line
