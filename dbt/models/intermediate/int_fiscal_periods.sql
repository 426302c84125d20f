-- Every fiscal year, quarter and month (metrics.md §1) of the fiscal years spanning the plan
-- periods, the opportunities' close dates, the adjustments' credit dates, the message dates
-- of track and group messages (up to as_of) and as_of.
with run_context as (
    select * from {{ ref('stg_config__run_context') }}
),

plans as (
    select * from {{ ref('stg_config__quota_plans') }}
),

opportunities as (
    select * from {{ ref('stg_crm__opportunity') }}
),

adjustments as (
    select * from {{ ref('stg_config__adjustments') }}
),

product_events as (
    select * from {{ ref('int_product_events_daily') }}
),

group_calls as (
    select * from {{ ref('stg_product_usage__group_calls') }}
),

group_call_date_range as (
    select min(group_calls.message_date) as first_group_call_date
    from group_calls
    cross join run_context
    where group_calls.message_date <= run_context.as_of
),

message_date_range as (
    select
        min(product_events.message_date) as first_message_date,
        max(product_events.message_date) as last_message_date
    from product_events
    cross join run_context
    where product_events.message_date <= run_context.as_of
),

dates as (
    select close_date as d from opportunities where close_date is not null
    union all
    select credit_date as d from adjustments where credit_date is not null
    union all
    select first_message_date as d from message_date_range where first_message_date is not null
    union all
    select last_message_date as d from message_date_range where last_message_date is not null
    union all
    select first_group_call_date as d from group_call_date_range
    where first_group_call_date is not null
    union all
    select as_of as d from run_context
),

fiscal_years_of_dates as (
    select
        case
            when run_context.fiscal_year_start_month = 1 then year(dates.d)
            when month(dates.d) >= run_context.fiscal_year_start_month then year(dates.d) + 1
            else year(dates.d)
        end as fiscal_year
    from dates
    cross join run_context
),

fiscal_years_of_plans as (
    select cast(regexp_extract(fiscal_period, '^FY([0-9]{4})', 1) as integer) as fiscal_year
    from plans
    where {{ regex_contains('fiscal_period', '^FY[0-9]{4}') }}
),

all_years as (
    select fiscal_year from fiscal_years_of_dates
    union all
    select fiscal_year from fiscal_years_of_plans
),

year_range as (
    select
        min(fiscal_year) as first_year,
        max(fiscal_year) as last_year
    from all_years
),

fiscal_year_numbers as (
    select {{ integer_series('first_year', 'last_year') }} as fiscal_year
    from year_range
),

quarter_numbers as (
    select {{ integer_series(1, 4) }} as quarter_number
),

month_numbers as (
    select {{ integer_series(1, 12) }} as month_number
),

fiscal_years as (
    select
        cast(fiscal_year_numbers.fiscal_year as integer) as fiscal_year,
        make_date(
            cast(fiscal_year_numbers.fiscal_year - case when run_context.fiscal_year_start_month > 1 then 1 else 0 end as bigint),
            run_context.fiscal_year_start_month,
            1
        ) as year_start
    from fiscal_year_numbers
    cross join run_context
),

years as (
    select
        'FY' || fiscal_year as fiscal_period,
        'year' as period_type,
        fiscal_year,
        year_start as period_start,
        cast({{ dbt.dateadd('month', 12, 'year_start') }} as date) - 1 as period_end
    from fiscal_years
),

quarters as (
    select
        'FY' || fiscal_year || '-Q' || quarter_number as fiscal_period,
        'quarter' as period_type,
        fiscal_year,
        cast({{ dbt.dateadd('month', '3 * (quarter_number - 1)', 'year_start') }} as date) as period_start,
        cast({{ dbt.dateadd('month', '3 * quarter_number', 'year_start') }} as date) - 1 as period_end
    from fiscal_years
    cross join quarter_numbers
),

months as (
    select
        'FY' || fiscal_year || '-M' || lpad(cast(month_number as {{ dbt.type_string() }}), 2, '0') as fiscal_period,
        'month' as period_type,
        fiscal_year,
        cast({{ dbt.dateadd('month', 'month_number - 1', 'year_start') }} as date) as period_start,
        cast({{ dbt.dateadd('month', 'month_number', 'year_start') }} as date) - 1 as period_end
    from fiscal_years
    cross join month_numbers
),

periods as (
    select * from years
    union all
    select * from quarters
    union all
    select * from months
)

select
    fiscal_period,
    period_type,
    fiscal_year,
    period_start,
    period_end,
    cast({{ dbt.datediff('period_start', 'period_end', 'day') }} + 1 as integer) as period_days
from periods
