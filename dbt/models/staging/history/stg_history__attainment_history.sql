-- Published attainment rows of every published run (appended by publish).
with source as (
    select * from {{ source('history', 'attainment_history') }}
)

select
    run_id,
    as_of,
    published_at,
    assignee_type,
    assignee_id,
    fiscal_period,
    metric,
    target,
    actual,
    attainment
from source
