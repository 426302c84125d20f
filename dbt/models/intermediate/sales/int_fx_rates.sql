-- Usable conversion rates: current, non-deleted, valid DatedConversionRate rows (rate_source
-- 'dated') and CurrencyType rows ('static'). ISO codes upper-cased (compared case-insensitively).
-- conversion_rate = units of iso_code per one unit of the corporate currency.
with dated_rates as (
    select * from {{ ref('stg_crm__dated_conversion_rate') }}
),

currency_types as (
    select * from {{ ref('stg_crm__currency_type') }}
),

dated as (
    select
        id as rate_id,
        'dated' as rate_source,
        upper(iso_code) as iso_code,
        conversion_rate,
        start_date,
        next_start_date,
        system_modstamp
    from dated_rates
    where not is_deleted
        and not has_invalid_value
        and iso_code is not null
        and start_date is not null
),

static as (
    select
        id as rate_id,
        'static' as rate_source,
        upper(iso_code) as iso_code,
        conversion_rate,
        cast(null as date) as start_date,
        cast(null as date) as next_start_date,
        system_modstamp
    from currency_types
    where not is_deleted
        and not has_invalid_value
        and iso_code is not null
)

select * from dated
union all
select * from static
