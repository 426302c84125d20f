-- One row per team (teams.csv).
with teams as (
    select * from {{ ref('stg_config__teams') }}
)

select
    cast(team_id as varchar) as team_id,
    cast(team_name as varchar) as team_name,
    cast(function as varchar) as function,
    cast(parent_team_id as varchar) as parent_team_id,
    cast(mission as varchar) as mission
from teams
