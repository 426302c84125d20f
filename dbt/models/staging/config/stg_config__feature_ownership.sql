-- feature_ownership.csv: the team owning each product feature.
with source as (
    select * from {{ source('config', 'feature_ownership') }}
)

select
    feature,
    team_id
from source
