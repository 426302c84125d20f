-- A failure means a company-board row that does not agree with the scorecards it summarises:
-- a team's weighted attainment or status that is not its own scorecard's, a median carrier
-- attainment outside its carriers' range or present without carriers, more carriers at or
-- above 100 % than carriers, a median at or above 100 % with fewer than half the carriers
-- there, or a reference date outside its fiscal period (metrics.md §6).
{{ config(meta={
    'dagster': {'ref': {'name': 'mart_team_board'}},
    'protects': [
    'mart_team_board.weighted_attainment', 'mart_team_board.status',
    'mart_team_board.quota_carriers', 'mart_team_board.carriers_at_or_above',
    'mart_team_board.median_carrier_attainment', 'mart_team_board.fiscal_period',
    'mart_team_board.team_id',
]}) }}
with board as (
    select * from {{ ref('mart_team_board') }}
    where not period_closed  -- closed periods serve their snapshot (metrics.md §9, §13)
),

scorecards as (
    select * from {{ ref('fct_scorecards') }}
    where not period_closed  -- closed periods serve their snapshot (metrics.md §9, §13)
),

periods as (
    select * from {{ ref('dim_fiscal_periods') }}
),

person_range as (
    select
        fiscal_period,
        min(weighted_attainment) as lowest,
        max(weighted_attainment) as highest
    from scorecards
    where assignee_type = 'person'
    group by fiscal_period
)

select
    board.*,
    team_scores.weighted_attainment as scorecard_weighted_attainment,
    team_scores.status as scorecard_status
from board
left join scorecards as team_scores
    on team_scores.assignee_type = 'team'
    and team_scores.assignee_id = board.team_id
    and team_scores.fiscal_period = board.fiscal_period
left join periods
    on periods.fiscal_period = board.fiscal_period
left join person_range
    on person_range.fiscal_period = board.fiscal_period
where board.weighted_attainment is distinct from team_scores.weighted_attainment
    or board.status is distinct from team_scores.status
    or periods.fiscal_period is null
    or board.reference_date not between periods.period_start and periods.period_end
    or board.carriers_at_or_above > board.quota_carriers
    or ((board.quota_carriers = 0) != (board.median_carrier_attainment is null))
    or board.median_carrier_attainment < person_range.lowest - 1e-9
    or board.median_carrier_attainment > person_range.highest + 1e-9
    or (board.median_carrier_attainment >= 1 and 2 * board.carriers_at_or_above < board.quota_carriers)
