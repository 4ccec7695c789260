-- one row per developer (auth user); ids pseudonymous, e-mail kept only as a keyed hash
with users as (

    select * from raw_auth_users

),

first_record as (

    select *
    from users
    qualify row_number() over (partition by user_id order by created_at, _source_file, _source_line) = 1

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
    from first_record

)

select * from final
