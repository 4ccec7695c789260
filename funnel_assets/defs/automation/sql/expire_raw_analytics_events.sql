-- rows of raw_analytics_events from weeks before the retention cutoff,
-- except those carrying both ids: identity_anonymous_links is rebuilt from them
delete from raw_analytics_events
where _event_week < cast($cutoff_week as date)
    and (anonymous_id is null or user_id is null)
