-- one row per organisation's developer shaped like identity_users (user_pid = org/user), signed up when the organisation began, for developer_stages.sql to read
select
    member_pid as user_pid,
    org_pid,
    'organization' as account_type,
    org_created_at as created_at,
    cast(null as timestamptz) as email_verified_at
from _org_members
