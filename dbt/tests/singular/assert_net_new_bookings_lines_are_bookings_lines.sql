-- A failure means a person's net_new_bookings credit line with no identical bookings line, or
-- one from a renewal or `other` deal: net new bookings must be exactly the bookings lines of
-- new_business and expansion deals (metrics.md §2, §9). Team lines are written only for teams
-- with a plan row for the metric, so the subset is checked on person lines; a manual adjustment
-- credits only its own metric and is left out.
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_quota_credits'}},
    'protects': [
    'fct_quota_credits.metric',
    'fct_quota_credits.booking_type',
]}) }}
with credits as (
    select * from {{ ref('fct_quota_credits') }}
    where assignee_type = 'person'
),

net_new as (
    select * from credits
    where metric = 'net_new_bookings'
        and rule <> 'manual_adjustment'
),

bookings as (
    select * from credits
    where metric = 'bookings'
)

select
    net_new.credit_id,
    net_new.assignee_id,
    net_new.source_id,
    net_new.rule,
    net_new.booking_type
from net_new
left join bookings
    on bookings.assignee_id = net_new.assignee_id
    and bookings.source_id = net_new.source_id
    and bookings.rule = net_new.rule
    and bookings.credit_date = net_new.credit_date
    and bookings.amount = net_new.amount
    and bookings.detail = net_new.detail
where bookings.credit_id is null
    or net_new.booking_type not in ('new_business', 'expansion')
