-- Every fiscal period closed by settings.closed_through (metrics.md §13): period_end on or
-- before it. None when closed_through is null.
with periods as (
    select * from {{ ref('int_fiscal_periods') }}
),

settings as (
    select * from {{ ref('stg_config__settings') }}
)

select
    cast(periods.fiscal_period as {{ dbt.type_string() }}) as fiscal_period,
    cast(periods.period_end as date) as period_end,
    cast(settings.closed_through as date) as closed_through
from periods
cross join settings
where settings.closed_through is not null
    and periods.period_end <= cast(settings.closed_through as date)
