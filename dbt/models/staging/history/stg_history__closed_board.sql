-- Snapshotted mart_team_board rows of closed periods (history.closed_board; metrics.md §13).
with source as (
    select * from {{ source('history', 'closed_board') }}
)

select
    team_id,
    team_name,
    function,
    mission,
    fiscal_period,
    reference_date,
    weighted_attainment,
    status,
    quota_carriers,
    carriers_at_or_above,
    median_carrier_attainment,
    closed_at_run_id,
    closed_at
from source
