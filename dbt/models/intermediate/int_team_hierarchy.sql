-- Every team with itself (depth 0) and each team above it through parent_team_id.
with recursive teams as (
    select * from {{ ref('stg_config__teams') }}
),

hierarchy as (
    select
        team_id,
        team_id as ancestor_team_id,
        0 as depth
    from teams

    union all

    select
        hierarchy.team_id,
        teams.parent_team_id as ancestor_team_id,
        hierarchy.depth + 1 as depth
    from hierarchy
    inner join teams
        on teams.team_id = hierarchy.ancestor_team_id
    where teams.parent_team_id is not null
        and hierarchy.depth < 100
)

select
    team_id,
    ancestor_team_id,
    cast(depth as integer) as depth
from hierarchy
