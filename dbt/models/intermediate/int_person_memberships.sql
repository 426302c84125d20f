-- Effective-dated memberships (people.csv): a person is a member of team_id, with role and
-- manager, on every date d with valid_from <= d < valid_to (valid_to NULL = open).
with people as (
    select * from {{ ref('stg_config__people') }}
)

select
    person_id,
    person_name,
    crm_user_id,
    team_id,
    role,
    manager_person_id,
    valid_from,
    valid_to
from people
