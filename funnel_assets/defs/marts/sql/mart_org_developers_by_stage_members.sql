-- one row per organisation of a signup-week cohort and stage: whether its second developer joined early, whether it reached the stage within the horizon and with how many developers, partitioned by signup week
with orgs as (

    select * from org_stages
    where cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date)

),

stage_columns as (

    select
        cohort_week, org_pid, account_created_at as signup_at,
        coalesce(second_developer_at <= account_created_at + to_days(cast($org_second_developer_days as bigint)), false)
            as early_second_developer,
        account_created_at, account_created_developers,
        credential_provisioned_at, credential_provisioned_developers,
        first_api_call_at, first_api_call_developers,
        first_integration_milestone_at, first_integration_milestone_developers,
        active_integration_at, active_integration_developers,
        production_deployment_at, production_deployment_developers
    from orgs

),

reached as (

    -- include nulls: an organisation that never reached a stage still counts among its orgs
    select *
    from stage_columns
    unpivot include nulls ((reached_at, developers_then) for stage in (
        (account_created_at, account_created_developers) as 'account_created',
        (credential_provisioned_at, credential_provisioned_developers) as 'credential_provisioned',
        (first_api_call_at, first_api_call_developers) as 'first_api_call',
        (first_integration_milestone_at, first_integration_milestone_developers) as 'first_integration_milestone',
        (active_integration_at, active_integration_developers) as 'active_integration',
        (production_deployment_at, production_deployment_developers) as 'production_deployment'
    ))

),

final as (

    -- a stage past the horizon does not count: the cohort is followed for horizon_days
    select
        cohort_week,
        stage,
        early_second_developer,
        org_pid,
        coalesce(reached_at <= signup_at + to_days(cast($horizon_days as bigint)), false) as converted,
        reached_at,
        case when reached_at <= signup_at + to_days(cast($horizon_days as bigint)) then developers_then end
            as developers
    from reached

)

select * from final
