-- one row per developer (auth user), its latest version; ids pseudonymous, e-mail kept only as a keyed hash
with users as (

    select * from raw_auth_users

),

latest_version as (

    -- a user's records are versions (an org change, a vendor's full-object update):
    -- the latest by its own update time, then by landing file and line, is current
    select *
    from users
    qualify row_number() over (
        partition by user_id order by _version_time desc, _source_file desc, _source_line desc
    ) = 1

),

final as (

    select
        pseudo(user_id) as user_pid,
        pseudo(org_id) as org_pid,
        account_type,
        created_at,
        email_verified_at,
        pseudo(lower(trim(email))) as email_pid,
        'landing' as source
    from latest_version

)

select * from final
