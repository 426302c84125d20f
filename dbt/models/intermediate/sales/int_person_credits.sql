-- bookings and new_logos credits of persons (mapped CRM users only).
with lines as (
    select * from {{ ref('int_crm_user_credit_lines') }}
)

select
    'person' as assignee_type,
    person_id as assignee_id,
    metric,
    credit_date,
    amount,
    source_type,
    source_id,
    rule,
    cast(null as {{ dbt.type_string() }}) as fiscal_period,
    detail
from lines
where person_id is not null
