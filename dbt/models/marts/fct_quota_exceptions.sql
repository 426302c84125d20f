-- Every row-level problem (metrics.md §7): CRM/sales and product exceptions.
with sales_exceptions as (
    select * from {{ ref('int_sales_exceptions') }}
),

product_exceptions as (
    select * from {{ ref('int_product_exceptions') }}
),

unioned as (
    select source_type, source_id, reason, detail, row_count from sales_exceptions
    union all
    select source_type, source_id, reason, detail, row_count from product_exceptions
)

select
    cast(source_type as {{ dbt.type_string() }}) as source_type,
    cast(source_id as {{ dbt.type_string() }}) as source_id,
    cast(reason as {{ dbt.type_string() }}) as reason,
    cast(detail as {{ dbt.type_string() }}) as detail,
    cast(row_count as bigint) as row_count
from unioned
