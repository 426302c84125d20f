-- One row per person; current team and role from the membership on as_of (NULL when the person
-- is not in seat on as_of). The name and CRM user come from that membership, else the latest row.
with memberships as (
    select * from {{ ref('int_person_memberships') }}
),

run_context as (
    select * from {{ ref('stg_config__run_context') }}
),

ranked as (
    select
        memberships.*,
        memberships.valid_from <= run_context.as_of
            and (memberships.valid_to is null or run_context.as_of < memberships.valid_to) as is_current,
        row_number() over (
            partition by memberships.person_id
            order by
                case
                    when memberships.valid_from <= run_context.as_of
                        and (memberships.valid_to is null or run_context.as_of < memberships.valid_to)
                    then 0 else 1
                end,
                memberships.valid_from desc
        ) as row_rank
    from memberships
    cross join run_context
),

crm_users as (
    select
        person_id,
        max(crm_user_id) as crm_user_id
    from memberships
    group by person_id
)

select
    cast(ranked.person_id as {{ dbt.type_string() }}) as person_id,
    cast(ranked.person_name as {{ dbt.type_string() }}) as person_name,
    cast(coalesce(ranked.crm_user_id, crm_users.crm_user_id) as {{ dbt.type_string() }}) as crm_user_id,
    cast(case when ranked.is_current then ranked.team_id end as {{ dbt.type_string() }}) as current_team_id,
    cast(case when ranked.is_current then ranked.role end as {{ dbt.type_string() }}) as current_role
from ranked
left join crm_users
    on crm_users.person_id = ranked.person_id
where ranked.row_rank = 1
