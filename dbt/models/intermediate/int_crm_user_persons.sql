-- CRM user id -> person (a crm_user_id belongs to one person; input-contract §3).
with memberships as (
    select * from {{ ref('int_person_memberships') }}
)

select
    crm_user_id,
    min(person_id) as person_id
from memberships
where crm_user_id is not null
group by crm_user_id
