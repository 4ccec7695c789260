-- rows of raw_support_tickets from weeks before the retention cutoff
delete from raw_support_tickets
where _event_week < cast($cutoff_week as date)
