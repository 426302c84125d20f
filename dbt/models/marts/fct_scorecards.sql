-- One row per (assignee, fiscal period) with attainment rows (metrics.md §4-§5, §13): open
-- periods live (int_scorecards_live), closed periods from their snapshot when they have one,
-- else live and snapshotted by this run's publish; period_closed true for closed periods.
with live as (
    select * from {{ ref('int_scorecards_live') }}
),

closed_periods as (
    select * from {{ ref('int_closed_periods') }}
),

snapshots as (
    select * from {{ ref('stg_history__closed_scorecards') }}
),

-- Closed periods that have a snapshot: served exactly as snapshotted.
snapshotted as (
    select distinct snapshots.fiscal_period
    from snapshots
    inner join closed_periods
        on closed_periods.fiscal_period = snapshots.fiscal_period
)

select
    live.assignee_type,
    live.assignee_id,
    live.assignee_name,
    live.fiscal_period,
    live.weighted_attainment,
    live.status,
    live.component_count,
    live.elapsed,
    live.pace,
    cast(closed_periods.fiscal_period is not null as boolean) as period_closed
from live
left join closed_periods
    on closed_periods.fiscal_period = live.fiscal_period
left join snapshotted
    on snapshotted.fiscal_period = live.fiscal_period
where snapshotted.fiscal_period is null

union all

select
    snapshots.assignee_type,
    snapshots.assignee_id,
    snapshots.assignee_name,
    snapshots.fiscal_period,
    snapshots.weighted_attainment,
    snapshots.status,
    snapshots.component_count,
    snapshots.elapsed,
    snapshots.pace,
    cast(true as boolean) as period_closed
from snapshots
inner join snapshotted
    on snapshotted.fiscal_period = snapshots.fiscal_period
