-- A failure means a person plan row with no day in seat that either has an attainment row or
-- is missing from fct_quota_exceptions as not_in_seat (metrics.md §3).
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_quota_exceptions'}},
    'protects': [
    'fct_quota_exceptions.source_type',
    'fct_quota_exceptions.source_id',
    'fct_quota_exceptions.reason',
]}) }}
with plan_targets as (
    select * from {{ ref('int_plan_targets') }}
    where is_not_in_seat
),

attainment as (
    select * from {{ ref('fct_quota_attainment') }}
    where not period_closed  -- closed periods serve their snapshot (metrics.md §9, §13)
),

exceptions as (
    select * from {{ ref('fct_quota_exceptions') }}
    where reason = 'not_in_seat'
)

select plan_targets.*
from plan_targets
left join attainment
    on attainment.assignee_type = plan_targets.assignee_type
    and attainment.assignee_id = plan_targets.assignee_id
    and attainment.fiscal_period = plan_targets.fiscal_period
    and attainment.metric = plan_targets.metric
left join exceptions
    on exceptions.source_id = plan_targets.assignee_id || ':' || plan_targets.fiscal_period || ':' || plan_targets.metric
where attainment.assignee_id is not null
    or exceptions.source_id is null
