-- One row per (assignee, fiscal period, metric) plan row (metrics.md §3-§5, §13). Open periods:
-- the live computation (int_quota_attainment_live), period_closed false. Closed periods
-- (period_end <= settings.closed_through): the snapshot rows exactly as snapshotted when the
-- period has a snapshot, else the live rows (the publish of this run snapshots them); both with
-- period_closed true.
with live as (
    select * from {{ ref('int_quota_attainment_live') }}
),

closed_periods as (
    select * from {{ ref('int_closed_periods') }}
),

snapshots as (
    select * from {{ ref('stg_history__closed_attainment') }}
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
    live.metric,
    live.unit,
    live.plan_target,
    live.proration_factor,
    live.target,
    live.actual,
    live.attainment,
    live.cap,
    live.capped_attainment,
    live.weight,
    live.elapsed,
    live.pace,
    live.projected_actual,
    live.status,
    live.narrative,
    live.days_in_seat,
    live.period_start,
    live.period_end,
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
    snapshots.metric,
    snapshots.unit,
    snapshots.plan_target,
    snapshots.proration_factor,
    snapshots.target,
    snapshots.actual,
    snapshots.attainment,
    snapshots.cap,
    snapshots.capped_attainment,
    snapshots.weight,
    snapshots.elapsed,
    snapshots.pace,
    snapshots.projected_actual,
    snapshots.status,
    snapshots.narrative,
    snapshots.days_in_seat,
    snapshots.period_start,
    snapshots.period_end,
    cast(true as boolean) as period_closed
from snapshots
inner join snapshotted
    on snapshotted.fiscal_period = snapshots.fiscal_period
