-- one row per key issue, beside the end of the same key's previous issue (an open one ends never)
select
    row_number() over (order by key_pid, valid_from, user_pid) as _row,
    cast(null as date) as _week,
    key_pid,
    user_pid,
    source,
    valid_from,
    valid_to,
    lag(coalesce(valid_to, timestamptz '9999-12-31 00:00:00+00'))
        over (partition by key_pid order by valid_from, user_pid) as previous_valid_to
from identity_key_owners
