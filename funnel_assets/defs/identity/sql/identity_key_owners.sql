-- one row per key issue: which user (and org) a key belongs to, from created_at until revoked_at (latest version)
with keys as (

    select * from raw_api_keys

),

latest_version as (

    -- a key issue's records are versions (a revocation arrives as a later one):
    -- the latest by its own update time, then by landing file and line, is current
    select *
    from keys
    qualify row_number() over (
        partition by key_id, created_at order by _version_time desc, _source_file desc, _source_line desc
    ) = 1

),

final as (

    -- a key id issued again ends the previous owner's hold on it, so the
    -- validity windows of one key never overlap and a request has one owner
    select
        pseudo(key_id) as key_pid,
        created_at as valid_from,
        case
            when lead(created_at) over (partition by key_id order by created_at)
                < coalesce(revoked_at, timestamptz '9999-12-31 00:00:00+00')
                then lead(created_at) over (partition by key_id order by created_at)
            else revoked_at
        end as valid_to,
        pseudo(user_id) as user_pid,
        pseudo(org_id) as org_pid,
        mode,
        'landing' as source
    from latest_version

)

select * from final
