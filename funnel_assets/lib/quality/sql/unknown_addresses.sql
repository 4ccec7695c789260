-- rows of an e-mail-keyed source ($table: raw_email_events, raw_support_tickets) whose address matches no user
with addressed as (

    select lower(trim(email)) as address, _event_week, _source_file, _source_line from query_table($table)
    where _event_week >= cast($week_start as date) and _event_week < cast($week_end as date)

),

addresses as (

    select address, pseudo(address) as email_pid
    from (select distinct address from addressed)

),

unknown as (

    select * from addresses
    where email_pid not in (select email_pid from identity_users where email_pid is not null)

),

final as (

    select a._event_week as week, a._source_file as file, a._source_line as line, u.email_pid
    from addressed as a
    join unknown as u using (address)

)

select * from final
