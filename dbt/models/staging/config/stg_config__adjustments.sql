-- adjustments.csv: manual credits (signed amounts; negative = clawback).
with source as (
    select * from {{ source('config', 'adjustments') }}
)

select
    adjustment_id,
    assignee_type,
    assignee_id,
    metric,
    credit_date,
    amount,
    reason,
    approved_by
from source
