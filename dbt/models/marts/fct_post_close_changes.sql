-- One row per snapshotted attainment row of a closed period whose live actual differs from the
-- snapshot (metrics.md §13). first_seen_run_id: the run that first published this live actual
-- (history.post_close_changes), else this run (QUOTABOARD_RUN_ID, set by the dbt asset; null
-- outside a run).
{#- The run this build belongs to, as a SQL literal (null outside a run). An environment variable
    read when the model runs (run_env_var), not a var: a var that changes every run would void
    the partial parse of the whole project. -#}
{%- set run_id = run_env_var('QUOTABOARD_RUN_ID') -%}
{%- set run_id_sql = ("'" ~ run_id | replace("'", "''") ~ "'") if run_id else 'null' %}
with snapshots as (
    select * from {{ ref('stg_history__closed_attainment') }}
),

closed_periods as (
    select * from {{ ref('int_closed_periods') }}
),

live as (
    select * from {{ ref('int_quota_attainment_live') }}
),

seen as (
    select * from {{ ref('stg_history__post_close_changes') }}
),

changed as (
    select
        snapshots.assignee_type,
        snapshots.assignee_id,
        snapshots.fiscal_period,
        snapshots.metric,
        snapshots.actual as closed_actual,
        live.actual as live_actual,
        snapshots.closed_at_run_id
    from snapshots
    inner join closed_periods
        on closed_periods.fiscal_period = snapshots.fiscal_period
    left join live
        on live.assignee_type = snapshots.assignee_type
        and live.assignee_id = snapshots.assignee_id
        and live.fiscal_period = snapshots.fiscal_period
        and live.metric = snapshots.metric
    where live.actual is distinct from snapshots.actual
),

first_seen as (
    select
        changed.assignee_type,
        changed.assignee_id,
        changed.fiscal_period,
        changed.metric,
        min(seen.first_seen_run_id) as first_seen_run_id
    from changed
    inner join seen
        on seen.assignee_type = changed.assignee_type
        and seen.assignee_id = changed.assignee_id
        and seen.fiscal_period = changed.fiscal_period
        and seen.metric = changed.metric
        and seen.live_actual is not distinct from changed.live_actual
    group by changed.assignee_type, changed.assignee_id, changed.fiscal_period, changed.metric
)

select
    cast(changed.assignee_type as {{ dbt.type_string() }}) as assignee_type,
    cast(changed.assignee_id as {{ dbt.type_string() }}) as assignee_id,
    cast(changed.fiscal_period as {{ dbt.type_string() }}) as fiscal_period,
    cast(changed.metric as {{ dbt.type_string() }}) as metric,
    cast(changed.closed_actual as double) as closed_actual,
    cast(changed.live_actual as double) as live_actual,
    cast(changed.live_actual - changed.closed_actual as double) as delta,
    cast(changed.closed_at_run_id as {{ dbt.type_string() }}) as closed_at_run_id,
    cast(
        coalesce(first_seen.first_seen_run_id, {{ run_id_sql }})
        as {{ dbt.type_string() }}
    ) as first_seen_run_id
from changed
left join first_seen
    on first_seen.assignee_type = changed.assignee_type
    and first_seen.assignee_id = changed.assignee_id
    and first_seen.fiscal_period = changed.fiscal_period
    and first_seen.metric = changed.metric
