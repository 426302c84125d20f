-- assisted_bookings credits (metrics.md §2): for each won opportunity with a usable amount,
-- the manager of the owner on CloseDate (people.csv membership) gets 100 % of the amount when
-- the manager's CRM user is a current, non-deleted OpportunityTeamMember of it (rule
-- assist_team_member), or else owns a current, non-deleted Event or Task on it dated from the
-- opportunity's CreatedDate (company time zone) to its CloseDate inclusive (assist_activity).
-- An Event's date is its ActivityDateTime in the company time zone, else its ActivityDate.
-- At most one credit per (opportunity, manager); the team-member rule wins. A held opportunity
-- (metrics.md §11) earns nothing.
with amounts as (
    select * from {{ ref('int_opportunity_amounts') }}
),

memberships as (
    select * from {{ ref('int_person_memberships') }}
),

crm_user_persons as (
    select * from {{ ref('int_crm_user_persons') }}
),

team_members as (
    select * from {{ ref('stg_crm__opportunity_team_member') }}
),

events as (
    select * from {{ ref('stg_crm__event') }}
),

tasks as (
    select * from {{ ref('stg_crm__task') }}
),

run_context as (
    select * from {{ ref('stg_config__run_context') }}
),

opportunity_managers as (
    select
        amounts.opportunity_id,
        amounts.close_date,
        amounts.created_on,
        amounts.amount,
        owner_membership.manager_person_id,
        manager_user.crm_user_id as manager_crm_user_id
    from amounts
    inner join crm_user_persons as owner_person
        on owner_person.crm_user_id = amounts.owner_id
    inner join memberships as owner_membership
        on owner_membership.person_id = owner_person.person_id
        and owner_membership.valid_from <= amounts.close_date
        and (owner_membership.valid_to is null or amounts.close_date < owner_membership.valid_to)
    inner join crm_user_persons as manager_user
        on manager_user.person_id = owner_membership.manager_person_id
    where amounts.amount is not null
        and not amounts.is_held
),

activities as (
    select
        events.what_id,
        events.owner_id,
        coalesce(
            {{ to_company_date('events.activity_date_time', 'run_context.timezone') }},
            events.activity_date
        ) as activity_on,
        'event ' || events.id as activity
    from events
    cross join run_context
    where not events.is_deleted
        and not events.has_invalid_value

    union all

    select
        what_id,
        owner_id,
        activity_date as activity_on,
        'task ' || id as activity
    from tasks
    where not is_deleted
        and not has_invalid_value
),

team_member_assists as (
    select
        opportunity_managers.*,
        'assist_team_member' as rule,
        'team member ' || min(team_members.id) as detail,
        1 as rule_priority
    from opportunity_managers
    inner join team_members
        on team_members.opportunity_id = opportunity_managers.opportunity_id
        and team_members.user_id = opportunity_managers.manager_crm_user_id
        and not team_members.is_deleted
        and not team_members.has_invalid_value
    group by all
),

activity_assists as (
    select
        opportunity_managers.*,
        'assist_activity' as rule,
        min(activities.activity) as detail,
        2 as rule_priority
    from opportunity_managers
    inner join activities
        on activities.what_id = opportunity_managers.opportunity_id
        and activities.owner_id = opportunity_managers.manager_crm_user_id
        and activities.activity_on >= opportunity_managers.created_on
        and activities.activity_on <= opportunity_managers.close_date
    group by all
),

assists as (
    select * from team_member_assists
    union all
    select * from activity_assists
),

ranked as (
    select
        *,
        row_number() over (
            partition by opportunity_id, manager_person_id
            order by rule_priority
        ) as assist_rank
    from assists
)

select
    'person' as assignee_type,
    manager_person_id as assignee_id,
    'assisted_bookings' as metric,
    close_date as credit_date,
    amount,
    'opportunity' as source_type,
    opportunity_id as source_id,
    rule,
    cast(null as {{ dbt.type_string() }}) as fiscal_period,
    detail
from ranked
where assist_rank = 1
