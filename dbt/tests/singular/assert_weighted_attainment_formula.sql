-- A failure means a scorecard whose weighted_attainment is not
-- sum(weight * capped_attainment) / sum(weight) over its attainment rows, or whose
-- component_count is not the number of those rows (metrics.md §4, §9).
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_scorecards'}},
    'protects': [
    'fct_scorecards.weighted_attainment',
    'fct_scorecards.component_count',
    'fct_quota_attainment.weight',
    'fct_quota_attainment.capped_attainment',
]}) }}
with scorecards as (
    select * from {{ ref('fct_scorecards') }}
    where not period_closed  -- closed periods serve their snapshot (metrics.md §9, §13)
),

attainment as (
    select * from {{ ref('fct_quota_attainment') }}
    where not period_closed  -- closed periods serve their snapshot (metrics.md §9, §13)
),

recomputed as (
    select
        assignee_type,
        assignee_id,
        fiscal_period,
        sum(weight * capped_attainment) / sum(weight) as weighted_attainment,
        count(*) as component_count
    from attainment
    group by assignee_type, assignee_id, fiscal_period
)

select
    scorecards.*,
    recomputed.weighted_attainment as expected_weighted_attainment
from scorecards
full outer join recomputed
    on recomputed.assignee_type = scorecards.assignee_type
    and recomputed.assignee_id = scorecards.assignee_id
    and recomputed.fiscal_period = scorecards.fiscal_period
where recomputed.assignee_id is null
    or scorecards.assignee_id is null
    or abs(scorecards.weighted_attainment - recomputed.weighted_attainment) > 1e-9
    or scorecards.component_count != recomputed.component_count
