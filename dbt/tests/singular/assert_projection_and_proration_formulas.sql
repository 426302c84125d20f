-- A failure means an attainment row whose target is not plan_target * proration_factor
-- (proration_factor = days_in_seat / period_days for a prorated person row, else 1), whose
-- projected_actual is not actual / elapsed (null when elapsed is 0), or a scorecard whose pace
-- is not weighted_attainment / elapsed (metrics.md §3, §5).
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_quota_attainment'}},
    'protects': [
    'fct_quota_attainment.target', 'fct_quota_attainment.plan_target',
    'fct_quota_attainment.proration_factor', 'fct_quota_attainment.projected_actual',
    'fct_quota_attainment.days_in_seat', 'fct_quota_attainment.unit',
    'fct_scorecards.pace', 'fct_scorecards.elapsed',
]}) }}
with attainment as (
    select * from {{ ref('fct_quota_attainment') }}
    where not period_closed  -- closed periods serve their snapshot (metrics.md §9, §13)
),

scorecards as (
    select * from {{ ref('fct_scorecards') }}
    where not period_closed  -- closed periods serve their snapshot (metrics.md §9, §13)
),

periods as (
    select * from {{ ref('dim_fiscal_periods') }}
),

plans as (
    select * from {{ ref('stg_config__quota_plans') }}
),

attainment_failures as (
    select
        'fct_quota_attainment' as mart,
        attainment.assignee_type || ':' || attainment.assignee_id || ':'
        || attainment.fiscal_period || ':' || attainment.metric as row_key
    from attainment
    left join periods
        on periods.fiscal_period = attainment.fiscal_period
    left join plans
        on plans.assignee_type = attainment.assignee_type
        and plans.assignee_id = attainment.assignee_id
        and plans.fiscal_period = attainment.fiscal_period
        and plans.metric = attainment.metric
    where abs(attainment.target - attainment.plan_target * attainment.proration_factor)
        > 1e-9 * greatest(1, abs(attainment.target))
        or (
            attainment.assignee_type = 'person' and plans.prorate
            and abs(attainment.proration_factor - attainment.days_in_seat * 1.0 / periods.period_days) > 1e-12
        )
        or (
            not (attainment.assignee_type = 'person' and coalesce(plans.prorate, false))
            and attainment.proration_factor != 1
        )
        or (attainment.elapsed = 0 and attainment.projected_actual is not null)
        or (
            attainment.elapsed > 0
            and abs(attainment.projected_actual - attainment.actual / attainment.elapsed)
            > 1e-9 * greatest(1, abs(attainment.projected_actual))
        )
        or attainment.unit is null
),

scorecard_failures as (
    select
        'fct_scorecards' as mart,
        assignee_type || ':' || assignee_id || ':' || fiscal_period as row_key
    from scorecards
    where (elapsed = 0 and pace is not null)
        or (elapsed > 0 and abs(pace - weighted_attainment / elapsed) > 1e-9 * greatest(1, abs(pace)))
)

select * from attainment_failures
union all
select * from scorecard_failures
