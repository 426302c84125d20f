-- A failure means a won opportunity with a usable amount whose revenue_split, owner and
-- owner_fallback bookings credits plus what is held under unmapped_crm_user do not add up to its
-- amount (exactly for owner rules; amount * revenue split total / 100 within 0.01 % for splits),
-- i.e. bookings were lost or double counted (metrics.md §9). Held opportunities (§11) earn
-- nothing and are left out here; assert_held_opportunities_earn_no_credit checks them.
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_quota_credits'}},
    'protects': [
    'fct_quota_credits.amount',
    'fct_quota_credits.source_type',
    'fct_quota_credits.source_id',
    'fct_quota_credits.rule',
]}) }}
with amounts as (
    select * from {{ ref('int_opportunity_amounts') }}
    where amount is not null
        and not is_held
),

credits as (
    select * from {{ ref('fct_quota_credits') }}
    where assignee_type = 'person'
        and metric = 'bookings'
        and rule in ('revenue_split', 'owner', 'owner_fallback')
),

held as (
    select * from {{ ref('int_crm_user_credit_lines') }}
    where person_id is null
        and metric = 'bookings'
        and rule in ('revenue_split', 'owner', 'owner_fallback')
),

lines as (
    select source_id, rule, amount from credits
    union all
    select source_id, rule, amount from held
),

splits as (
    select
        opportunity_id,
        sum(split_percentage) as revenue_total
    from {{ ref('int_opportunity_splits') }}
    where split_kind = 'revenue'
    group by opportunity_id
),

per_opportunity as (
    select
        amounts.opportunity_id,
        amounts.amount,
        max(lines.rule) as rule,
        coalesce(sum(lines.amount), 0) as credited
    from amounts
    left join lines
        on lines.source_id = amounts.opportunity_id
    group by amounts.opportunity_id, amounts.amount
)

select
    per_opportunity.*,
    splits.revenue_total
from per_opportunity
left join splits
    on splits.opportunity_id = per_opportunity.opportunity_id
where case
    when per_opportunity.rule = 'revenue_split'
        then abs(per_opportunity.credited - per_opportunity.amount * splits.revenue_total / 100)
            > 1e-4 * greatest(abs(per_opportunity.amount), 1)
            or abs(splits.revenue_total - 100) > 0.01
    else abs(per_opportunity.credited - per_opportunity.amount) > 1e-9 * greatest(abs(per_opportunity.amount), 1)
end
