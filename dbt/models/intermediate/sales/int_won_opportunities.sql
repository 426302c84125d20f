-- Won opportunities (metrics.md preamble): current state IsWon = true, not deleted, no invalid
-- value, CloseDate <= as_of. CreatedDate is taken as a date in the company time zone.
with opportunities as (
    select * from {{ ref('stg_crm__opportunity') }}
),

run_context as (
    select * from {{ ref('int_run_context') }}
)

select
    opportunities.id as opportunity_id,
    opportunities.account_id,
    opportunities.owner_id,
    opportunities.close_date,
    {{ to_company_date('opportunities.created_date', 'run_context.timezone') }} as created_on,
    upper(opportunities.currency_iso_code) as currency_code,
    opportunities.amount as amount_original
from opportunities
cross join run_context
where opportunities.is_won
    and not opportunities.is_deleted
    and not opportunities.has_invalid_value
    and opportunities.close_date <= run_context.as_of
