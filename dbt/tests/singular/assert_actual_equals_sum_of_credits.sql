-- A failure means an attainment row whose actual is not the sum of its credit lines (same
-- assignee and metric; fiscal_period = the plan period, or NULL with credit_date in the period up
-- to as_of): a number in the marts could not be explained line by line (metrics.md §9).
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_quota_attainment'}},
    'protects': [
    'fct_quota_attainment.actual',
    'fct_quota_credits.amount',
    'fct_quota_credits.credit_date',
    'fct_quota_credits.assignee_type',
    'fct_quota_credits.assignee_id',
    'fct_quota_credits.metric',
]}) }}
with attainment as (
    select * from {{ ref('fct_quota_attainment') }}
    where not period_closed  -- closed periods serve their snapshot (metrics.md §9, §13)
),

credits as (
    select * from {{ ref('fct_quota_credits') }}
),

run_context as (
    select * from {{ ref('stg_config__run_context') }}
),

periods as (
    select * from {{ ref('dim_fiscal_periods') }}
),

sums as (
    select
        attainment.assignee_type,
        attainment.assignee_id,
        attainment.fiscal_period,
        attainment.metric,
        attainment.actual,
        coalesce(sum(credits.amount), 0) as credited
    from attainment
    inner join periods
        on periods.fiscal_period = attainment.fiscal_period
    cross join run_context
    left join credits
        on credits.assignee_type = attainment.assignee_type
        and credits.assignee_id = attainment.assignee_id
        and credits.metric = attainment.metric
        and (
            credits.fiscal_period = attainment.fiscal_period
            or (
                credits.fiscal_period is null
                and credits.credit_date between periods.period_start and least(periods.period_end, run_context.as_of)
            )
        )
    group by all
)

select *
from sums
where abs(actual - credited) > 1e-9 * greatest(abs(credited), 1)
