"""The funnel's seven stages, in funnel order: developer_stages has `<stage>_at` and `<stage>_event_id` for each."""

STAGES = (
    "intent",
    "account_created",
    "credential_provisioned",
    "first_api_call",
    "first_integration_milestone",
    "active_integration",
    "production_deployment",
)
