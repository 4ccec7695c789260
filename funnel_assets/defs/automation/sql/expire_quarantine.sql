-- quarantined lines from weeks before the retention cutoff
delete from quarantine
where _event_week < cast($cutoff_week as date)
