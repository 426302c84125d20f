-- Every fiscal year, quarter and month of the fiscal years spanning the plan periods, close
-- dates, credit dates and as_of (metrics.md §1).
with periods as (
    select * from {{ ref('int_fiscal_periods') }}
)

select
    cast(fiscal_period as {{ dbt.type_string() }}) as fiscal_period,
    cast(period_type as {{ dbt.type_string() }}) as period_type,
    cast(fiscal_year as integer) as fiscal_year,
    cast(period_start as date) as period_start,
    cast(period_end as date) as period_end,
    cast(period_days as integer) as period_days
from periods
