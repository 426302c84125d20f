-- The company board (metrics.md §6, §13): open periods live (int_team_board_live), closed
-- periods from their snapshot when they have one, else live and snapshotted by this run's
-- publish; period_closed true for closed periods.
with live as (
    select * from {{ ref('int_team_board_live') }}
),

closed_periods as (
    select * from {{ ref('int_closed_periods') }}
),

snapshots as (
    select * from {{ ref('stg_history__closed_board') }}
),

-- Closed periods that have a snapshot: served exactly as snapshotted.
snapshotted as (
    select distinct snapshots.fiscal_period
    from snapshots
    inner join closed_periods
        on closed_periods.fiscal_period = snapshots.fiscal_period
)

select
    live.team_id,
    live.team_name,
    live.function,
    live.mission,
    live.fiscal_period,
    live.reference_date,
    live.weighted_attainment,
    live.status,
    live.quota_carriers,
    live.carriers_at_or_above,
    live.median_carrier_attainment,
    cast(closed_periods.fiscal_period is not null as boolean) as period_closed
from live
left join closed_periods
    on closed_periods.fiscal_period = live.fiscal_period
left join snapshotted
    on snapshotted.fiscal_period = live.fiscal_period
where snapshotted.fiscal_period is null

union all

select
    snapshots.team_id,
    snapshots.team_name,
    snapshots.function,
    snapshots.mission,
    snapshots.fiscal_period,
    snapshots.reference_date,
    snapshots.weighted_attainment,
    snapshots.status,
    snapshots.quota_carriers,
    snapshots.carriers_at_or_above,
    snapshots.median_carrier_attainment,
    cast(true as boolean) as period_closed
from snapshots
inner join snapshotted
    on snapshotted.fiscal_period = snapshots.fiscal_period
