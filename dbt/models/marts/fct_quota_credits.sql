-- Every credit line (metrics.md §2): sales, adjustment and product credits. credit_id is a
-- deterministic md5 of the line's key fields. A line whose source is an opportunity carries
-- that opportunity's booking type (1.1); other lines carry NULL.
with sales_credits as (
    select * from {{ ref('int_sales_credits') }}
),

product_credits as (
    select * from {{ ref('int_product_credits') }}
),

won as (
    select * from {{ ref('int_won_opportunities') }}
),

unioned as (
    select
        assignee_type, assignee_id, metric, credit_date, amount,
        source_type, source_id, rule, fiscal_period, detail
    from sales_credits
    union all
    select
        assignee_type, assignee_id, metric, credit_date, amount,
        source_type, source_id, rule, fiscal_period, detail
    from product_credits
),

typed as (
    select
        unioned.*,
        won.booking_type
    from unioned
    left join won
        on unioned.source_type = 'opportunity'
        and won.opportunity_id = unioned.source_id
)

select
    cast(md5(concat_ws('|',
        assignee_type, assignee_id, metric, coalesce(cast(credit_date as {{ dbt.type_string() }}), ''),
        source_type, source_id, rule, coalesce(fiscal_period, ''), coalesce(detail, '')
    )) as {{ dbt.type_string() }}) as credit_id,
    cast(assignee_type as {{ dbt.type_string() }}) as assignee_type,
    cast(assignee_id as {{ dbt.type_string() }}) as assignee_id,
    cast(metric as {{ dbt.type_string() }}) as metric,
    cast(credit_date as date) as credit_date,
    cast(amount as double) as amount,
    cast(source_type as {{ dbt.type_string() }}) as source_type,
    cast(source_id as {{ dbt.type_string() }}) as source_id,
    cast(rule as {{ dbt.type_string() }}) as rule,
    cast(fiscal_period as {{ dbt.type_string() }}) as fiscal_period,
    cast(detail as {{ dbt.type_string() }}) as detail,
    cast(booking_type as {{ dbt.type_string() }}) as booking_type
from typed
