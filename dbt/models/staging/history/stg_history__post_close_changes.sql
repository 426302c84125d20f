-- First sightings of post-close changes (history.post_close_changes, appended by the publish).
with source as (
    select * from {{ source('history', 'post_close_changes') }}
)

select
    assignee_type,
    assignee_id,
    fiscal_period,
    metric,
    live_actual,
    first_seen_run_id
from source
