-- Each won opportunity with its rate on CloseDate and its amount in the corporate currency
-- (input-contract §1): the dated rate with the greatest StartDate <= CloseDate unless its
-- NextStartDate <= CloseDate; else the static CurrencyType rate; else no rate. An empty
-- currency or the corporate currency has rate 1. amount is NULL when it cannot be used, and
-- amount_issue then says why (won_without_amount, negative_amount, missing_fx_rate).
-- is_held: the deal promised a feature the product did not have on its CloseDate and the
-- promise policy is `hold` (metrics.md §11): it earns no credit of any metric and is no
-- account's first win. Amount problems are still reported for it.
with won as (
    select * from {{ ref('int_won_opportunities') }}
),

held as (
    select distinct opportunity_id
    from {{ ref('int_promises') }}
    where is_held
),

rates as (
    select * from {{ ref('int_fx_rates') }}
),

run_context as (
    select * from {{ ref('stg_config__run_context') }}
),

dated_candidates as (
    select
        won.opportunity_id,
        rates.rate_id,
        rates.conversion_rate,
        rates.next_start_date,
        won.close_date,
        row_number() over (
            partition by won.opportunity_id
            order by rates.start_date desc, rates.system_modstamp desc, rates.rate_id desc
        ) as candidate_rank
    from won
    inner join rates
        on rates.rate_source = 'dated'
        and upper(rates.iso_code) = upper(won.currency_code)
        and rates.start_date <= won.close_date
),

dated_rate as (
    select
        opportunity_id,
        rate_id,
        conversion_rate
    from dated_candidates
    where candidate_rank = 1
        and (next_start_date is null or next_start_date > close_date)
),

static_candidates as (
    select
        won.opportunity_id,
        rates.rate_id,
        rates.conversion_rate,
        row_number() over (
            partition by won.opportunity_id
            order by rates.system_modstamp desc, rates.rate_id desc
        ) as candidate_rank
    from won
    inner join rates
        on rates.rate_source = 'static'
        and upper(rates.iso_code) = upper(won.currency_code)
),

static_rate as (
    select
        opportunity_id,
        rate_id,
        conversion_rate
    from static_candidates
    where candidate_rank = 1
),

with_rate as (
    select
        won.*,
        case
            when nullif(trim(won.currency_code), '') is null or upper(won.currency_code) = upper(run_context.corporate_currency) then 1.0
            when dated_rate.opportunity_id is not null then dated_rate.conversion_rate
            else static_rate.conversion_rate
        end as conversion_rate,
        case
            when nullif(trim(won.currency_code), '') is null or upper(won.currency_code) = upper(run_context.corporate_currency) then 'corporate'
            when dated_rate.opportunity_id is not null then 'dated:' || dated_rate.rate_id
            when static_rate.opportunity_id is not null then 'static:' || static_rate.rate_id
        end as rate_source
    from won
    cross join run_context
    left join dated_rate
        on dated_rate.opportunity_id = won.opportunity_id
    left join static_rate
        on static_rate.opportunity_id = won.opportunity_id
),

classified as (
    select
        *,
        case
            when amount_original is null then 'won_without_amount'
            when amount_original < 0 then 'negative_amount'
            when conversion_rate is null or conversion_rate <= 0 then 'missing_fx_rate'
        end as amount_issue
    from with_rate
)

select
    classified.opportunity_id,
    classified.account_id,
    classified.owner_id,
    classified.close_date,
    classified.created_on,
    classified.currency_code,
    classified.amount_original,
    classified.conversion_rate,
    classified.rate_source,
    case when amount_issue is null then amount_original / conversion_rate end as amount,
    amount_issue,
    booking_type,
    held.opportunity_id is not null as is_held
from classified
left join held
    on held.opportunity_id = classified.opportunity_id
