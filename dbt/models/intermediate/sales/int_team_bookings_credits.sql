-- team_bookings credits (metrics.md §2, rule rollup): one line per revenue_split, owner or
-- owner_fallback bookings credit of a person, to that person's manager on the credit date
-- (direct reports only; a manager's own deals are not included).
with person_credits as (
    select * from {{ ref('int_person_credits') }}
),

memberships as (
    select * from {{ ref('int_person_memberships') }}
)

select
    'person' as assignee_type,
    memberships.manager_person_id as assignee_id,
    'team_bookings' as metric,
    person_credits.credit_date,
    person_credits.amount,
    person_credits.source_type,
    person_credits.source_id,
    'rollup' as rule,
    cast(null as {{ dbt.type_string() }}) as fiscal_period,
    'report ' || person_credits.assignee_id || ': ' || person_credits.rule || ' ' || person_credits.detail as detail
from person_credits
inner join memberships
    on memberships.person_id = person_credits.assignee_id
    and memberships.valid_from <= person_credits.credit_date
    and (memberships.valid_to is null or person_credits.credit_date < memberships.valid_to)
where person_credits.metric = 'bookings'
    and person_credits.rule in ('revenue_split', 'owner', 'owner_fallback')
    and memberships.manager_person_id is not null
