-- A warning (this test never blocks) means a won opportunity (int_opportunity_amounts holds
-- won opportunities only) whose revenue splits do not add up to 100 %. The contract already
-- handles it: the owner is credited 100 % (owner_fallback) and the opportunity is listed in
-- fct_quota_exceptions as split_total_not_100 (metrics.md §2, §7), so the numbers are
-- published; the warning tells RevOps to fix the split set.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'int_opportunity_splits'}}}) }}
with splits as (
    select * from {{ ref('int_opportunity_splits') }}
),

amounts as (
    select * from {{ ref('int_opportunity_amounts') }}
)

select
    splits.opportunity_id,
    sum(splits.split_percentage) as total_revenue_split_percentage
from splits
inner join amounts
    on amounts.opportunity_id = splits.opportunity_id
where splits.split_kind = 'revenue'

group by splits.opportunity_id
having abs(sum(splits.split_percentage) - 100) > 0.01
