-- feature_ownership.csv: which team owns each product feature, and since when (effective-dated
-- rows; NULL valid_from = since always, NULL valid_to = still owned), and when the feature was
-- released. A file without the released_on column (release_tracked false) means every feature
-- has been released since always.
with source as (
    select * from {{ source('config', 'feature_ownership') }}
)

select
    feature,
    lower(trim(feature)) as feature_key,
    team_id,
    valid_from,
    valid_to,
    released_on,
    coalesce(release_tracked, false) as release_tracked
from source
