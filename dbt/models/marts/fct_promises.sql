-- The promises boundary (metrics.md §11): one row per (won opportunity, promised feature), with
-- the feature's status on the deal's CloseDate, its owning team then, and whether the deal is
-- held (it earns no credit). amount is in the corporate currency (NULL when unusable);
-- owner_person_id is the person carrying the owner's CRM user.
with promises as (
    select * from {{ ref('int_promises') }}
),

amounts as (
    select * from {{ ref('int_opportunity_amounts') }}
),

crm_user_persons as (
    select * from {{ ref('int_crm_user_persons') }}
)

select
    cast(promises.opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(promises.account_id as {{ dbt.type_string() }}) as account_id,
    cast(crm_user_persons.person_id as {{ dbt.type_string() }}) as owner_person_id,
    cast(promises.close_date as date) as close_date,
    cast(amounts.amount as double) as amount,
    cast(promises.booking_type as {{ dbt.type_string() }}) as booking_type,
    cast(promises.feature as {{ dbt.type_string() }}) as feature,
    cast(promises.owning_team_id as {{ dbt.type_string() }}) as owning_team_id,
    cast(promises.released_on as date) as released_on,
    cast(promises.status as {{ dbt.type_string() }}) as status,
    cast(promises.is_held as boolean) as held
from promises
left join amounts
    on amounts.opportunity_id = promises.opportunity_id
left join crm_user_persons
    on crm_user_persons.crm_user_id = promises.owner_id
