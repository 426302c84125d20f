-- A failure means fct_post_close_changes does not list exactly the snapshotted attainment rows
-- of closed periods whose live actual differs from the snapshot, with closed_actual the served
-- (snapshotted) actual, live_actual today's computation and delta their difference
-- (metrics.md §13).
{{ config(meta={
    'dagster': {'ref': {'name': 'fct_post_close_changes'}},
    'protects': [
    'fct_post_close_changes.assignee_type', 'fct_post_close_changes.assignee_id',
    'fct_post_close_changes.fiscal_period', 'fct_post_close_changes.metric',
    'fct_post_close_changes.closed_actual', 'fct_post_close_changes.live_actual',
    'fct_post_close_changes.delta', 'fct_post_close_changes.closed_at_run_id',
    'fct_post_close_changes.first_seen_run_id',
]}) }}
with changes as (
    select * from {{ ref('fct_post_close_changes') }}
),

served as (
    select * from {{ ref('fct_quota_attainment') }}
    where period_closed
),

snapshots as (
    select * from {{ ref('stg_history__closed_attainment') }}
    where fiscal_period in (select fiscal_period from {{ ref('int_closed_periods') }})
),

live as (
    select * from {{ ref('int_quota_attainment_live') }}
),

expected as (
    select
        snapshots.assignee_type,
        snapshots.assignee_id,
        snapshots.fiscal_period,
        snapshots.metric,
        snapshots.actual as closed_actual,
        live.actual as live_actual,
        snapshots.closed_at_run_id
    from snapshots
    left join live
        on live.assignee_type = snapshots.assignee_type
        and live.assignee_id = snapshots.assignee_id
        and live.fiscal_period = snapshots.fiscal_period
        and live.metric = snapshots.metric
    where live.actual is distinct from snapshots.actual
)

select
    coalesce(changes.assignee_type, expected.assignee_type) as assignee_type,
    coalesce(changes.assignee_id, expected.assignee_id) as assignee_id,
    coalesce(changes.fiscal_period, expected.fiscal_period) as fiscal_period,
    coalesce(changes.metric, expected.metric) as metric,
    changes.closed_actual,
    expected.closed_actual as expected_closed_actual,
    changes.live_actual,
    expected.live_actual as expected_live_actual
from changes
full outer join expected
    on expected.assignee_type = changes.assignee_type
    and expected.assignee_id = changes.assignee_id
    and expected.fiscal_period = changes.fiscal_period
    and expected.metric = changes.metric
left join served
    on served.assignee_type = changes.assignee_type
    and served.assignee_id = changes.assignee_id
    and served.fiscal_period = changes.fiscal_period
    and served.metric = changes.metric
where changes.assignee_id is null
    or expected.assignee_id is null
    or changes.closed_actual is distinct from expected.closed_actual
    or changes.closed_actual is distinct from served.actual
    or changes.live_actual is distinct from expected.live_actual
    or changes.closed_at_run_id is distinct from expected.closed_at_run_id
    or changes.delta is distinct from changes.live_actual - changes.closed_actual
    or changes.first_seen_run_id is null and '{{ run_env_var("QUOTABOARD_RUN_ID") }}' != ''
