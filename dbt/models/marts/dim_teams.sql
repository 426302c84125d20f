-- One row per team (teams.csv).
with teams as (
    select * from {{ ref('stg_config__teams') }}
)

select
    cast(team_id as {{ dbt.type_string() }}) as team_id,
    cast(team_name as {{ dbt.type_string() }}) as team_name,
    cast(function as {{ dbt.type_string() }}) as function,
    cast(parent_team_id as {{ dbt.type_string() }}) as parent_team_id,
    cast(mission as {{ dbt.type_string() }}) as mission
from teams
