-- Configuration changes of every published run (metrics.md §14), as appended by the publish
-- step to history.config_changes.
with source as (
    select * from {{ source('history', 'config_changes') }}
)

select
    run_id,
    published_at,
    file,
    row_key,
    column_name,
    change,
    old_value,
    new_value
from source
