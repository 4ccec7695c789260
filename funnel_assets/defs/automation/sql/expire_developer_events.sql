-- attributed events from weeks before the retention cutoff (off unless events_days is set)
delete from developer_events
where event_week < cast($cutoff_week as date)
