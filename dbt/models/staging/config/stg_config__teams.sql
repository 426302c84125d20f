-- teams.csv, one row per team (validated by the config asset).
with source as (
    select * from {{ source('config', 'teams') }}
)

select
    team_id,
    team_name,
    function,
    nullif(parent_team_id, '') as parent_team_id,
    mission
from source
