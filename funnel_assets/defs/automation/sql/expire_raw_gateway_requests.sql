-- rows of raw_gateway_requests from weeks before the retention cutoff
delete from raw_gateway_requests
where _event_week < cast($cutoff_week as date)
