-- A failure means a person (or team) shown in fct_quota_attainment or fct_scorecards without a
-- quota plan row for that period and metric: someone with no quota would be shown as 0 %
-- (metrics.md §9).
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_scorecards'}},
    'protects': [
    'fct_quota_attainment.assignee_id',
    'fct_scorecards.assignee_id',
]}) }}
with plans as (
    select * from {{ ref('stg_config__quota_plans') }}
),

attainment as (
    select * from {{ ref('fct_quota_attainment') }}
    where not period_closed  -- closed periods serve their snapshot (metrics.md §9, §13)
),

scorecards as (
    select * from {{ ref('fct_scorecards') }}
    where not period_closed  -- closed periods serve their snapshot (metrics.md §9, §13)
),

plan_periods as (
    select distinct
        assignee_type,
        assignee_id,
        fiscal_period
    from plans
)

select
    'fct_quota_attainment' as mart,
    attainment.assignee_type,
    attainment.assignee_id,
    attainment.fiscal_period
from attainment
left join plans
    on plans.assignee_type = attainment.assignee_type
    and plans.assignee_id = attainment.assignee_id
    and plans.fiscal_period = attainment.fiscal_period
    and plans.metric = attainment.metric
where plans.assignee_id is null

union all

select
    'fct_scorecards' as mart,
    scorecards.assignee_type,
    scorecards.assignee_id,
    scorecards.fiscal_period
from scorecards
left join plan_periods
    on plan_periods.assignee_type = scorecards.assignee_type
    and plan_periods.assignee_id = scorecards.assignee_id
    and plan_periods.fiscal_period = scorecards.fiscal_period
where plan_periods.assignee_id is null
