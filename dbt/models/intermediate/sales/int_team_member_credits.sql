-- Team credits for the metrics whose team assignees roll up member credits (the metric
-- registry's team_rollup: bookings, net_new_bookings, new_logos; metrics.md §2, rule
-- team_member): one line per contributing person credit, for every team that has a plan row
-- for that metric, when the person was on the credit date a member of the team or of a team
-- below it. Overlay splits never count, so an overlay never counts a deal twice inside a team.
with person_credits as (
    select * from {{ ref('int_person_credits') }}
),

memberships as (
    select * from {{ ref('int_person_memberships') }}
),

hierarchy as (
    select * from {{ ref('int_team_hierarchy') }}
),

plans as (
    select * from {{ ref('stg_config__quota_plans') }}
),

team_plans as (
    select distinct
        assignee_id as team_id,
        metric
    from plans
    where assignee_type = 'team'
        and metric in ('{{ team_rollup_metrics() | join("', '") }}')
),

contributing as (
    select * from person_credits
    where rule in ('revenue_split', 'owner', 'owner_fallback', 'first_win')
)

select
    'team' as assignee_type,
    team_plans.team_id as assignee_id,
    contributing.metric,
    contributing.credit_date,
    contributing.amount,
    contributing.source_type,
    contributing.source_id,
    'team_member' as rule,
    cast(null as {{ dbt.type_string() }}) as fiscal_period,
    'member ' || contributing.assignee_id || ' (team ' || memberships.team_id || '): '
        || contributing.rule || ' ' || contributing.detail as detail
from contributing
inner join memberships
    on memberships.person_id = contributing.assignee_id
    and memberships.valid_from <= contributing.credit_date
    and (memberships.valid_to is null or contributing.credit_date < memberships.valid_to)
inner join hierarchy
    on hierarchy.team_id = memberships.team_id
inner join team_plans
    on team_plans.team_id = hierarchy.ancestor_team_id
    and team_plans.metric = contributing.metric
