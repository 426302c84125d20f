-- Manual adjustments (metrics.md §2, rule manual_adjustment): each adjustments.csv row is a
-- credit of its signed amount to its assignee and metric on its credit_date (up to as_of),
-- source the adjustment_id; reason and approver kept in detail. No roll-up.
with adjustments as (
    select * from {{ ref('stg_config__adjustments') }}
),

run_context as (
    select * from {{ ref('stg_config__run_context') }}
)

select
    adjustments.assignee_type,
    adjustments.assignee_id,
    adjustments.metric,
    adjustments.credit_date,
    adjustments.amount,
    'adjustment' as source_type,
    adjustments.adjustment_id as source_id,
    'manual_adjustment' as rule,
    cast(null as {{ dbt.type_string() }}) as fiscal_period,
    'reason: ' || coalesce(adjustments.reason, '') || '; approved by: ' || coalesce(adjustments.approved_by, '') as detail
from adjustments
cross join run_context
where adjustments.credit_date <= run_context.as_of
