-- A failure means a fct_promises row that does not describe a current won opportunity as the
-- credit models see it (account, close date, booking type, owner's person, held only when a
-- promise of that deal is unreleased or unknown and the policy is hold): the company would be
-- shown a promise that is not the deal's (metrics.md §11).
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_promises'}},
    'protects': [
    'fct_promises.account_id',
    'fct_promises.owner_person_id',
    'fct_promises.close_date',
    'fct_promises.booking_type',
    'fct_promises.held',
]}) }}
with promises as (
    select * from {{ ref('fct_promises') }}
),

wins as (
    select * from {{ ref('int_opportunity_amounts') }}
),

crm_user_persons as (
    select * from {{ ref('int_crm_user_persons') }}
),

run_context as (
    select * from {{ ref('stg_config__run_context') }}
),

deal_status as (
    select
        opportunity_id,
        max(case when status <> 'released' then 1 else 0 end) = 1 as breaks_boundary
    from promises
    group by opportunity_id
)

select
    promises.opportunity_id,
    promises.feature
from promises
cross join run_context
left join wins
    on wins.opportunity_id = promises.opportunity_id
left join crm_user_persons
    on crm_user_persons.crm_user_id = wins.owner_id
inner join deal_status
    on deal_status.opportunity_id = promises.opportunity_id
where wins.opportunity_id is null
    or promises.account_id is distinct from wins.account_id
    or promises.close_date <> wins.close_date
    or promises.booking_type <> wins.booking_type
    or promises.owner_person_id is distinct from crm_user_persons.person_id
    or promises.held <> (deal_status.breaks_boundary and run_context.unreleased_promise_policy = 'hold')
    or promises.held <> wins.is_held
