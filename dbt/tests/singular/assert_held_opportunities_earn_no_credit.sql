-- A failure means a credit line whose source is an opportunity held under the promises boundary
-- (it promised a feature the product did not have on its CloseDate, policy hold): a deal won by
-- promising what the product lacks earned credit (metrics.md §9, §11).
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_promises'}},
    'protects': [
    'fct_promises.held',
    'fct_promises.opportunity_id',
    'fct_quota_credits.source_id',
]}) }}
with promises as (
    select * from {{ ref('fct_promises') }}
),

credits as (
    select * from {{ ref('fct_quota_credits') }}
)

select
    credits.credit_id,
    credits.assignee_id,
    credits.metric,
    credits.rule,
    credits.source_id
from credits
inner join promises
    on credits.source_type = 'opportunity'
    and credits.source_id = promises.opportunity_id
where promises.held
