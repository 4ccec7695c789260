-- the route template of every distinct request path (query string dropped) in the warehouse, all weeks, so that
-- one path gets one template whichever weeks are being built; developer_events builds it once per run, into a
-- temporary table it joins each range of weeks to. Scrubbed here (lib/scrub.py), once per path.
with request_paths as (

    select distinct split_part(path, '?', 1) as bare_path from raw_gateway_requests

),

path_positions as (

    select
        bare_path,
        unnest(generate_series(1, len(string_split(bare_path, '/')))) as position,
        len(string_split(bare_path, '/')) as segment_count
    from request_paths

),

path_segments as (

    select bare_path, split_part(bare_path, '/', position) as segment, position, segment_count
    from path_positions

),

described_routes as (

    -- the API's own templates (an OpenAPI document), when configured: a path takes the template
    -- whose literal segments it matches, the most literal one when several do
    select bare_path, arg_max(template, literal_count) as template
    from (
        select s.bare_path, t.template, t.literal_count
        from path_segments as s
        join _route_templates as t
            on t.segment_count = s.segment_count and t.position = s.position and t.literal = s.segment
        group by s.bare_path, t.template, t.literal_count
        having count(*) = t.literal_count
    )
    group by bare_path

),

shaped_segments as (

    -- a segment is a parameter when it looks like an id; an e-mail address never survives
    select
        *,
        case
            when regexp_full_match(segment, 'v[0-9]+') then false                                -- an API version
            when contains(segment, '@') or contains(lower(segment), '%40') then true             -- an e-mail address
            when regexp_matches(segment, '[0-9]') then true                                      -- a number, an id with a digit
            when regexp_full_match(segment, '[0-9a-fA-F]{8,}(-[0-9a-fA-F]{4,})*') then true      -- hex, a UUID
            when regexp_full_match(segment, '[a-z]{1,12}(_[a-z]{1,12})*_([0-9a-f]{6,}|[A-Za-z]*[A-Z][A-Za-z]*)')
                then true                                                                        -- prefix_token: cus_efdbcfad
            when regexp_full_match(segment, '[A-Za-z0-9_-]{24,}') and not contains(segment, '-')
                then true                                                                        -- a long random token
            else false
        end as looks_like_id
    from path_segments

),

parented_segments as (

    select
        *,
        coalesce(
            string_agg(case when looks_like_id then '{id}' else segment end, '/') over (
                partition by bare_path order by position rows between unbounded preceding and 1 preceding
            ),
            ''
        ) as parent
    from shaped_segments

),

position_values as (

    -- a position that takes many distinct literal-looking values under one parent holds ids too
    select parent, position, count(distinct segment) as literal_values
    from parented_segments
    where not looks_like_id
    group by parent, position

),

inferred_routes as (

    select
        s.bare_path,
        string_agg(
            case when s.looks_like_id or v.literal_values > $route_literal_limit then '{id}' else s.segment end,
            '/' order by s.position
        ) as route
    from parented_segments as s
    left join position_values as v on v.parent = s.parent and v.position = s.position
    group by s.bare_path

),

path_routes as (

    select i.bare_path, scrub(coalesce(d.template, i.route)) as route
    from inferred_routes as i
    left join described_routes as d using (bare_path)

)

select * from path_routes
