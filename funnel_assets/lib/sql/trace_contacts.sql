-- one row per developer of the staged cell: the auth user id and e-mail behind the pseudonym, read from the raw layer
with users as (

    -- state: the latest version of each user
    select user_id, email, pseudo(user_id) as user_pid
    from raw_auth_users
    qualify row_number() over (partition by user_id order by _event_week desc, _source_file desc, _source_line desc) = 1

),

final as (

    select m.user_pid, u.user_id, u.email
    from (select distinct user_pid from _cell_members) as m
    left join users as u using (user_pid)

)

select * from final
