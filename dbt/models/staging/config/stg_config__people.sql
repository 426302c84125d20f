-- people.csv: effective-dated memberships, one row per (person, valid_from). valid_to NULL = open.
with source as (
    select * from {{ source('config', 'people') }}
)

select
    person_id,
    person_name,
    nullif(trim(crm_user_id), '') as crm_user_id,
    team_id,
    role,
    nullif(manager_person_id, '') as manager_person_id,
    valid_from,
    valid_to
from source
