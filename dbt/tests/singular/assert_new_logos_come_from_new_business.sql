-- A failure means a new_logos credit line whose opportunity is not new_business (a renewal or
-- an expansion is no new logo: the account was a customer before) or is not a first win
-- (metrics.md §2, §9).
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_quota_credits'}},
    'protects': [
    'fct_quota_credits.booking_type',
]}) }}
with credits as (
    select * from {{ ref('fct_quota_credits') }}
)

select
    credit_id,
    assignee_type,
    assignee_id,
    source_id,
    rule,
    booking_type
from credits
where metric = 'new_logos'
    and rule <> 'manual_adjustment'
    and (booking_type is null or booking_type <> 'new_business')
