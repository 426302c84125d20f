-- Snapshotted fct_quota_attainment rows of closed periods (history.closed_attainment, appended by the publish; metrics.md §13).
with source as (
    select * from {{ source('history', 'closed_attainment') }}
)

select
    assignee_type,
    assignee_id,
    assignee_name,
    fiscal_period,
    metric,
    unit,
    plan_target,
    proration_factor,
    target,
    actual,
    attainment,
    cap,
    capped_attainment,
    weight,
    elapsed,
    pace,
    projected_actual,
    status,
    narrative,
    days_in_seat,
    period_start,
    period_end,
    closed_at_run_id,
    closed_at
from source
