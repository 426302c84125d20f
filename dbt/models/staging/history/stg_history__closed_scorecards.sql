-- Snapshotted fct_scorecards rows of closed periods (history.closed_scorecards; metrics.md §13).
with source as (
    select * from {{ source('history', 'closed_scorecards') }}
)

select
    assignee_type,
    assignee_id,
    assignee_name,
    fiscal_period,
    weighted_attainment,
    status,
    component_count,
    elapsed,
    pace,
    closed_at_run_id,
    closed_at
from source
