-- The company board (metrics.md §6): one row per (team, fiscal period) for every team and
-- every fiscal period named in any plan row. The team's own scorecard when it has plan rows for
-- the period, plus its quota carriers: persons with a fct_scorecards row for that exact period
-- who were members of the team or of a team below it on the reference date (the period's last
-- day, or as_of if earlier, or the period's first day if the period has not started).
with run_context as (
    select * from {{ ref('stg_config__run_context') }}
),

teams as (
    select * from {{ ref('stg_config__teams') }}
),

plan_periods as (
    select distinct fiscal_period from {{ ref('stg_config__quota_plans') }}
),

grid as (
    select
        teams.team_id,
        teams.team_name,
        teams.function,
        teams.mission,
        plan_periods.fiscal_period,
        case
            when periods.period_start > run_context.as_of then periods.period_start
            when periods.period_end > run_context.as_of then run_context.as_of
            else periods.period_end
        end as reference_date
    from teams
    cross join plan_periods
    cross join run_context
    left join {{ ref('int_fiscal_periods') }} as periods
        on plan_periods.fiscal_period = periods.fiscal_period
),

scorecards as (
    select * from {{ ref('int_scorecards_live') }}
),

carriers as (
    select distinct
        grid.team_id,
        grid.fiscal_period,
        scorecards.assignee_id as person_id,
        scorecards.weighted_attainment
    from grid
    inner join {{ ref('int_team_hierarchy') }} as hierarchy
        on grid.team_id = hierarchy.ancestor_team_id
    inner join {{ ref('int_person_memberships') }} as memberships
        on hierarchy.team_id = memberships.team_id
        and memberships.valid_from <= grid.reference_date
        and (memberships.valid_to is null or grid.reference_date < memberships.valid_to)
    inner join scorecards
        on scorecards.assignee_type = 'person'
        and memberships.person_id = scorecards.assignee_id
        and grid.fiscal_period = scorecards.fiscal_period
),

distribution as (
    select
        team_id,
        fiscal_period,
        count(*) as quota_carriers,
        count(*) filter (where weighted_attainment >= 1) as carriers_at_or_above,
        {{ median('weighted_attainment') }} as median_carrier_attainment
    from carriers
    group by team_id, fiscal_period
)

select
    cast(grid.team_id as {{ dbt.type_string() }}) as team_id,
    cast(grid.team_name as {{ dbt.type_string() }}) as team_name,
    cast(grid.function as {{ dbt.type_string() }}) as function,
    cast(grid.mission as {{ dbt.type_string() }}) as mission,
    cast(grid.fiscal_period as {{ dbt.type_string() }}) as fiscal_period,
    cast(grid.reference_date as date) as reference_date,
    cast(team_scores.weighted_attainment as double) as weighted_attainment,
    cast(team_scores.status as {{ dbt.type_string() }}) as status,
    cast(coalesce(distribution.quota_carriers, 0) as integer) as quota_carriers,
    cast(coalesce(distribution.carriers_at_or_above, 0) as integer) as carriers_at_or_above,
    cast(distribution.median_carrier_attainment as double) as median_carrier_attainment
from grid
left join scorecards as team_scores
    on team_scores.assignee_type = 'team'
    and grid.team_id = team_scores.assignee_id
    and grid.fiscal_period = team_scores.fiscal_period
left join distribution
    on grid.team_id = distribution.team_id
    and grid.fiscal_period = distribution.fiscal_period
