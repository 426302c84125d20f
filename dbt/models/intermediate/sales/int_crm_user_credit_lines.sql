-- bookings and new_logos lines resolved from CRM user to person. person_id is NULL when no
-- person carries the CRM user: such a line is held as an unmapped_crm_user exception.
with bookings as (
    select * from {{ ref('int_bookings_credit_lines') }}
),

new_logos as (
    select * from {{ ref('int_new_logo_credit_lines') }}
),

crm_user_persons as (
    select * from {{ ref('int_crm_user_persons') }}
),

lines as (
    select * from bookings
    union all
    select * from new_logos
)

select
    lines.crm_user_id,
    crm_user_persons.person_id,
    lines.metric,
    lines.credit_date,
    lines.amount,
    lines.source_type,
    lines.source_id,
    lines.rule,
    lines.detail
from lines
left join crm_user_persons
    on crm_user_persons.crm_user_id = lines.crm_user_id
