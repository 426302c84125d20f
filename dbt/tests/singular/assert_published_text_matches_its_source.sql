-- A failure means a published label or plan term differs from the configuration it comes
-- from: an assignee shown under another name, a plan row with a narrative, target, weight or
-- cap not its plan's, a board row whose team name, function or mission is not the team's, a
-- person or team whose dimension row does not match teams.csv / people.csv, or a person whose
-- current team does not exist (metrics.md §8). Each row names the mart, the key and the column.
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_quota_attainment'}},
    'protects': [
    'fct_quota_attainment.assignee_name', 'fct_quota_attainment.narrative',
    'fct_quota_attainment.plan_target', 'fct_quota_attainment.weight', 'fct_quota_attainment.cap',
    'fct_scorecards.assignee_name',
    'mart_team_board.team_name', 'mart_team_board.function', 'mart_team_board.mission',
    'dim_teams.team_name', 'dim_teams.function', 'dim_teams.mission',
    'dim_people.person_name', 'dim_people.crm_user_id',
    'dim_people.current_team_id', 'dim_people.current_role',
]}) }}
with attainment as (
    select * from {{ ref('fct_quota_attainment') }}
    where not period_closed  -- closed periods serve their snapshot (metrics.md §9, §13)
),

scorecards as (
    select * from {{ ref('fct_scorecards') }}
    where not period_closed  -- closed periods serve their snapshot (metrics.md §9, §13)
),

board as (
    select * from {{ ref('mart_team_board') }}
    where not period_closed  -- closed periods serve their snapshot (metrics.md §9, §13)
),

dim_teams as (
    select * from {{ ref('dim_teams') }}
),

dim_people as (
    select * from {{ ref('dim_people') }}
),

config_teams as (
    select * from {{ ref('stg_config__teams') }}
),

config_people as (
    select distinct person_id, person_name, crm_user_id from {{ ref('stg_config__people') }}
),

plans as (
    select * from {{ ref('stg_config__quota_plans') }}
),

assignee_names as (
    select 'person' as assignee_type, person_id as assignee_id, person_name as assignee_name
    from dim_people
    union all
    select 'team' as assignee_type, team_id as assignee_id, team_name as assignee_name
    from dim_teams
),

labelled as (
    select 'fct_quota_attainment' as mart, assignee_type, assignee_id, fiscal_period, assignee_name
    from attainment
    union all
    select 'fct_scorecards' as mart, assignee_type, assignee_id, fiscal_period, assignee_name
    from scorecards
),

name_mismatches as (
    select
        labelled.mart,
        labelled.assignee_type || ':' || labelled.assignee_id || ':' || labelled.fiscal_period as row_key,
        'assignee_name' as column_name
    from labelled
    left join assignee_names
        on assignee_names.assignee_type = labelled.assignee_type
        and assignee_names.assignee_id = labelled.assignee_id
    where labelled.assignee_name is distinct from assignee_names.assignee_name
),

plan_mismatches as (
    select
        'fct_quota_attainment' as mart,
        attainment.assignee_type || ':' || attainment.assignee_id || ':'
        || attainment.fiscal_period || ':' || attainment.metric as row_key,
        case
            when plans.assignee_id is null then 'no plan row'
            when attainment.narrative is distinct from plans.narrative then 'narrative'
            when attainment.plan_target is distinct from plans.target then 'plan_target'
            when attainment.weight is distinct from plans.weight then 'weight'
            else 'cap'
        end as column_name
    from attainment
    left join plans
        on plans.assignee_type = attainment.assignee_type
        and plans.assignee_id = attainment.assignee_id
        and plans.fiscal_period = attainment.fiscal_period
        and plans.metric = attainment.metric
    where plans.assignee_id is null
        or attainment.narrative is distinct from plans.narrative
        or attainment.plan_target is distinct from plans.target
        or attainment.weight is distinct from plans.weight
        or attainment.cap is distinct from plans.cap
),

board_mismatches as (
    select
        'mart_team_board' as mart,
        board.team_id || ':' || board.fiscal_period as row_key,
        case
            when dim_teams.team_id is null then 'team_id'
            when board.team_name is distinct from dim_teams.team_name then 'team_name'
            when board.function is distinct from dim_teams.function then 'function'
            else 'mission'
        end as column_name
    from board
    left join dim_teams
        on dim_teams.team_id = board.team_id
    where dim_teams.team_id is null
        or board.team_name is distinct from dim_teams.team_name
        or board.function is distinct from dim_teams.function
        or board.mission is distinct from dim_teams.mission
),

team_mismatches as (
    select
        'dim_teams' as mart,
        coalesce(dim_teams.team_id, config_teams.team_id) as row_key,
        'team_name, function, parent_team_id or mission' as column_name
    from dim_teams
    full outer join config_teams
        on config_teams.team_id = dim_teams.team_id
    where dim_teams.team_id is null
        or config_teams.team_id is null
        or dim_teams.team_name is distinct from config_teams.team_name
        or dim_teams.function is distinct from config_teams.function
        or dim_teams.parent_team_id is distinct from config_teams.parent_team_id
        or dim_teams.mission is distinct from config_teams.mission
),

people_mismatches as (
    select
        'dim_people' as mart,
        dim_people.person_id as row_key,
        case
            when config_people.person_id is null then 'person_id'
            when dim_people.person_name is distinct from config_people.person_name then 'person_name'
            when dim_people.crm_user_id is distinct from config_people.crm_user_id then 'crm_user_id'
            when dim_people.current_team_id is not null and dim_teams.team_id is null
                then 'current_team_id'
            else 'current_role'
        end as column_name
    from dim_people
    left join config_people
        on config_people.person_id = dim_people.person_id
    left join dim_teams
        on dim_teams.team_id = dim_people.current_team_id
    where config_people.person_id is null
        or dim_people.person_name is distinct from config_people.person_name
        or dim_people.crm_user_id is distinct from config_people.crm_user_id
        or (dim_people.current_team_id is not null and dim_teams.team_id is null)
        or ((dim_people.current_team_id is null) != (dim_people.current_role is null))
)

select * from name_mismatches
union all
select * from plan_mismatches
union all
select * from board_mismatches
union all
select * from team_mismatches
union all
select * from people_mismatches
