-- rows of raw_email_events from weeks before the retention cutoff
delete from raw_email_events
where _event_week < cast($cutoff_week as date)
