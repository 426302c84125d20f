-- Won opportunities (metrics.md preamble): current state IsWon = true, not deleted, no invalid
-- value, CloseDate <= as_of. CreatedDate is taken as a date in the company time zone. Each
-- carries its booking type (input-contract §1): Type matched to settings `opportunity_types`
-- ignoring case and surrounding spaces; empty = new_business; a value the map does not name =
-- other (exception unknown_opportunity_type).
with opportunities as (
    select * from {{ ref('stg_crm__opportunity') }}
),

opportunity_types as (
    select * from {{ ref('stg_config__opportunity_types') }}
),

run_context as (
    select * from {{ ref('stg_config__run_context') }}
)

select
    opportunities.id as opportunity_id,
    opportunities.account_id,
    opportunities.owner_id,
    opportunities.close_date,
    {{ to_company_date('opportunities.created_date', 'run_context.timezone') }} as created_on,
    upper(opportunities.currency_iso_code) as currency_code,
    opportunities.amount as amount_original,
    opportunities.type as opportunity_type,
    case
        when opportunities.type is null then 'new_business'
        else coalesce(opportunity_types.booking_type, 'other')
    end as booking_type,
    opportunities.promised_features
from opportunities
cross join run_context
left join opportunity_types
    on opportunity_types.type_key = lower(trim(opportunities.type))
where opportunities.is_won
    and not opportunities.is_deleted
    and not opportunities.has_invalid_value
    and opportunities.close_date <= run_context.as_of
